"""Differential operators of a scalar field u: R^d -> R at one point, for PDE residuals.

``"forward"`` (default): second derivatives along coordinate axes by forward-over-forward mode,
d^2u/dx_i^2 = jvp(x -> jvp(u, x, e_i), x, e_i), one pass per axis with no Hessian formed
(cost ~ 2 forward passes per axis). ``"hessian"``: the naive reference, ``jax.hessian`` (a full
d x d Hessian, forward-over-reverse), then its diagonal. Both give the same numbers; the
benchmark ``benchmarks/pinn_step.py`` compares their cost (docs/theory.md §9).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

OPERATORS = ("forward", "hessian")
"""How residuals take second derivatives: forward-over-forward or ``jax.hessian``."""
Field = Callable[[jax.Array], jax.Array]


def derivative(u: Field, x: jax.Array, axis: int) -> jax.Array:
    """du/dx_axis at the point x (forward mode)."""
    return jax.jvp(u, (x,), (jnp.zeros_like(x).at[axis].set(1.0),))[1]


def second_derivatives(u: Field, x: jax.Array, axes: Sequence[int],
                       operator: str = "forward") -> jax.Array:
    """(d^2u/dx_a^2 for a in axes) at the point x, shape (len(axes),)."""
    axes = list(axes)
    if operator == "hessian":
        return jnp.diagonal(jax.hessian(u)(x))[jnp.asarray(axes)]
    basis = jnp.eye(x.shape[0], dtype=x.dtype)[jnp.asarray(axes)]

    def along(v):
        return jax.jvp(lambda y: jax.jvp(u, (y,), (v,))[1], (x,), (v,))[1]

    return jax.vmap(along)(basis)


def laplacian(u: Field, x: jax.Array, axes: Sequence[int], operator: str = "forward"
              ) -> jax.Array:
    """sum_{a in axes} d^2u/dx_a^2 at the point x."""
    return jnp.sum(second_derivatives(u, x, axes, operator))

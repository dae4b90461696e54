"""Differential operators of a scalar field u: R^d -> R at one point, for PDE residuals.

``"forward"`` (default): second derivatives along coordinate axes by forward-over-forward mode,
d^2u/dx_i^2 = jvp(x -> jvp(u, x, e_i), x, e_i), one pass per axis with no Hessian formed
(cost ~ 2 forward passes per axis). ``"hessian"``: the naive reference, ``jax.hessian`` (a full
d x d Hessian, forward-over-reverse), then its diagonal. Both give the same numbers.

:func:`field_jet` turns any per-point field into the batched :class:`sgldsim.pinn.Jet` the
problems' residuals take: the reference for the tanh network's own forward propagation
(:meth:`sgldsim.pinn.Network.jet`), and the way to put a closed-form solution through a
residual. ``benchmarks/pinn_step.py`` compares their cost (docs/theory.md §9).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from .network import Jet

OPERATORS = ("forward", "hessian")
"""How :func:`field_jet` takes second derivatives: forward-over-forward or ``jax.hessian``."""
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


def field_jet(u: Field, operator: str = "forward") -> Callable[..., Jet]:
    """``jet(points, order=2, weights=None) -> Jet`` of the per-point field ``u`` at points
    (n, d_in), by automatic differentiation per point: the gradient by forward mode, the
    Hessian's diagonal by ``operator`` (:data:`OPERATORS`), combined as sum_i c_i d2u/dx_i^2
    when ``weights`` c are given (the same contract as :meth:`sgldsim.pinn.Network.jet`)."""
    if operator not in OPERATORS:
        raise ValueError(f"unknown operator {operator!r}; allowed: "
                         f"{', '.join(map(repr, OPERATORS))}")

    def at(x, order):
        d = x.shape[0]
        value = u(x)
        du = jnp.stack([derivative(u, x, i) for i in range(d)]) if order >= 1 else None
        d2u = second_derivatives(u, x, range(d), operator) if order == 2 else None
        return Jet(value, du, d2u)

    def jet(points, order: int = 2, weights: Sequence[float] | None = None) -> Jet:
        out = jax.vmap(lambda x: at(x, order))(points)
        if order == 2 and weights is not None:
            return out._replace(d2u=out.d2u @ jnp.asarray(weights, out.d2u.dtype))
        return out

    return jet

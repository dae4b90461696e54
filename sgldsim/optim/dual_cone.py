"""DCGD: dual-cone combination of the gradients of two loss terms (docs/theory.md §9)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from ._checks import check_choice
from ._tree import add_scaled, safe_inverse
from .gradient_rule import GradientInfo, GradientRule

DUAL_CONE_VARIANTS = ("center", "projection", "average")


def _reject(g, h):
    """P_h_perp(g) = g - (<g, h> / |h|^2) h."""
    return add_scaled(g, -optax.tree.vdot(g, h) * safe_inverse(optax.tree.norm(h, squared=True)), h)


def _unit(g):
    return optax.tree.scale(safe_inverse(optax.tree.norm(g)), g)


def _center(g1, g2):
    g = optax.tree.add(g1, g2)
    g_c = optax.tree.add(_unit(g1), _unit(g2))
    return optax.tree.scale(
        optax.tree.vdot(g_c, g) * safe_inverse(optax.tree.norm(g_c, squared=True)), g_c)


def _projection(g1, g2):
    g = optax.tree.add(g1, g2)
    conflict_1 = optax.tree.vdot(g, g1) < 0
    conflict_2 = optax.tree.vdot(g, g2) < 0
    return optax.tree.where(conflict_1, _reject(g, g1),
                            optax.tree.where(conflict_2, _reject(g, g2), g))


def _average(g1, g2):
    g = optax.tree.add(g1, g2)
    inside = (optax.tree.vdot(g, g1) >= 0) & (optax.tree.vdot(g, g2) >= 0)
    outside = optax.tree.scale(0.5, optax.tree.add(_reject(g, g1), _reject(g, g2)))
    return optax.tree.where(inside, g, outside)


_COMBINE = {"center": _center, "projection": _projection, "average": _average}


def dual_cone(variant: str = "center") -> GradientRule:
    """DCGD: a descent direction in the dual cone K* = {y : <y, g_1> >= 0, <y, g_2> >= 0}.

    The loss must return two named terms (e.g. PDE residual and boundary misfit); g_i is the
    gradient of term i, g = g_1 + g_2, P_i_perp(g) = g - (<g, g_i>/|g_i|^2) g_i.

    - ``"center"`` (default): g_c = g_1/|g_1| + g_2/|g_2|, direction = (<g_c, g>/|g_c|^2) g_c.
    - ``"projection"``: g if g in K*; else P_1_perp(g) if <g, g_1> < 0; else P_2_perp(g).
    - ``"average"``: g if g in K*; else (P_1_perp(g) + P_2_perp(g)) / 2.

    All variants are symmetric in the two terms, so their names do not matter. One forward
    pass and two backward passes (``jax.vjp``).

    Args:
      variant: one of ``"center"``, ``"projection"``, ``"average"``.

    References:
      Hwang and Lim, Dual cone gradient descent for training physics-informed neural
      networks, NeurIPS 2024.
    """
    check_choice("variant", variant, DUAL_CONE_VARIANTS)
    combine = _COMBINE[variant]

    def rule(key, params, batch, objective):
        del key
        terms, pullback, aux = jax.vjp(lambda p: objective(p, batch), params, has_aux=True)
        if len(terms) != 2:
            raise ValueError(f"dual_cone needs a loss with exactly two named terms; got "
                             f"{len(terms)}: {sorted(terms)}")
        grads = [pullback({n: jnp.ones_like(v) if n == name else jnp.zeros_like(v)
                           for n, v in terms.items()})[0] for name in terms]
        return combine(*grads), GradientInfo(sum(terms.values()), terms, aux)

    return rule

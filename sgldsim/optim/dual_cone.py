"""DCGD: dual-cone combination of the gradients of two loss terms (docs/theory.md §9)."""

from __future__ import annotations

import optax

from ._checks import check_choice
from ._tree import norm, reject, unit
from .gradient_rule import GradientRule
from .two_term import two_term_rule

DUAL_CONE_VARIANTS = ("center", "projection", "average")
"""Variants :func:`dual_cone` takes (docs/theory.md §9)."""


def in_dual_cone(g_1, g_2):
    """Whether g = g_1 + g_2 lies in K* = {y : <y, g_1> >= 0, <y, g_2> >= 0}."""
    g = optax.tree.add(g_1, g_2)
    return (optax.tree.vdot(g, g_1) >= 0) & (optax.tree.vdot(g, g_2) >= 0)


def center(g_1, g_2):
    """((|g_1| + |g_2|) / 2) (g_1/|g_1| + g_2/|g_2|); g_1 + g_2 when a term's gradient is 0.

    This closed form equals the projection (<g_c, g>/|g_c|^2) g_c of g onto
    g_c = g_1/|g_1| + g_2/|g_2| but keeps float32 precision when the gradients are nearly
    opposite (|g_c| << 1), where the projection divides two rounding errors.
    """
    n_1, n_2 = norm(g_1), norm(g_2)
    g_c = optax.tree.add(unit(g_1), unit(g_2))
    both = (n_1 > 0) & (n_2 > 0)
    return optax.tree.where(both, optax.tree.scale((n_1 + n_2) / 2, g_c),
                            optax.tree.add(g_1, g_2))


def projection(g_1, g_2):
    """g if g in K*; else P_1_perp(g) if <g, g_1> < 0; else P_2_perp(g)."""
    g = optax.tree.add(g_1, g_2)
    outside = optax.tree.where(optax.tree.vdot(g, g_1) < 0, reject(g, g_1), reject(g, g_2))
    return optax.tree.where(in_dual_cone(g_1, g_2), g, outside)


def average(g_1, g_2):
    """g if g in K*; else (P_1_perp(g) + P_2_perp(g)) / 2."""
    g = optax.tree.add(g_1, g_2)
    outside = optax.tree.scale(0.5, optax.tree.add(reject(g, g_1), reject(g, g_2)))
    return optax.tree.where(in_dual_cone(g_1, g_2), g, outside)


DUAL_CONE_COMBINATIONS = {"center": center, "projection": projection, "average": average}
"""The combination ``(g_1, g_2) -> direction`` of each DCGD variant (see :func:`dual_cone`)."""


def dual_cone(variant: str = "center") -> GradientRule:
    """DCGD: a descent direction in the dual cone K* = {y : <y, g_1> >= 0, <y, g_2> >= 0}.

    The loss must return two named terms (e.g. ``{"residual": L_r, "boundary": L_b}``); g_i is
    the gradient of term i, g = g_1 + g_2, P_i_perp(g) = g - (<g, g_i>/|g_i|^2) g_i, and
    g in K* iff <g, g_1> >= 0 and <g, g_2> >= 0.

    - ``"center"`` (default): ((|g_1| + |g_2|)/2) (g_1/|g_1| + g_2/|g_2|), every step; it is
      the projection of g onto the bisector g_c = g_1/|g_1| + g_2/|g_2| (Hwang and Lim, Eq. for
      DCGD-Center), and 0 when the gradients are exactly opposite (Pareto-stationary).
    - ``"projection"``: g if g in K*; else P_1_perp(g) if <g, g_1> < 0; else P_2_perp(g).
    - ``"average"``: g if g in K*; else (P_1_perp(g) + P_2_perp(g)) / 2.

    A term whose gradient is 0 gives g (no NaN). All variants are symmetric in the two terms.
    One forward pass and two backward passes (``jax.vjp``). See docs/theory.md §9.

    Args:
      variant: one of ``"center"``, ``"projection"``, ``"average"``.

    References:
      Hwang and Lim, Dual cone gradient descent for training physics-informed neural
      networks, NeurIPS 2024 (arXiv 2409.18426), Sec. 3-4.
    """
    check_choice("variant", variant, DUAL_CONE_VARIANTS)
    return two_term_rule(f"dual_cone({variant!r})", DUAL_CONE_COMBINATIONS[variant])

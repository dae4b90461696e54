"""Two-task baselines for DCGD as gradient rules: PCGrad and MGDA (docs/theory.md §9)."""

from __future__ import annotations

import jax.numpy as jnp
import optax

from ._tree import reject, safe_inverse
from .gradient_rule import GradientRule
from .two_term import two_term_rule


def pcgrad_direction(g_1, g_2):
    """P_2_perp(g_1) + P_1_perp(g_2) if <g_1, g_2> < 0, else g_1 + g_2."""
    conflict = optax.tree.vdot(g_1, g_2) < 0
    return optax.tree.where(conflict, optax.tree.add(reject(g_1, g_2), reject(g_2, g_1)),
                            optax.tree.add(g_1, g_2))


def mgda_direction(g_1, g_2):
    """The min-norm point of the segment [g_1, g_2]: gamma g_1 + (1 - gamma) g_2 with
    gamma = clip(<g_2 - g_1, g_2> / |g_1 - g_2|^2, 0, 1) (gamma = 0 when g_1 = g_2)."""
    diff = optax.tree.sub(g_2, g_1)
    gamma = jnp.clip(optax.tree.vdot(diff, g_2)
                     * safe_inverse(optax.tree.norm(diff, squared=True)), 0.0, 1.0)
    return optax.tree.add(optax.tree.scale(gamma, g_1), optax.tree.scale(1.0 - gamma, g_2))


def pcgrad() -> GradientRule:
    """PCGrad for a loss of two named terms: project each gradient off the other on conflict.

        d = P_2_perp(g_1) + P_1_perp(g_2)   if <g_1, g_2> < 0,   else   d = g_1 + g_2,

    with P_h_perp(g) = g - (<g, h>/|h|^2) h. On conflict d is twice DCGD-Average's vector
    (:func:`sgldsim.optim.dual_cone`), but PCGrad acts whenever <g_1, g_2> < 0, also when
    g = g_1 + g_2 is already in the dual cone. One forward and two backward passes.

    References:
      Yu, Kumar, Gupta, Levine, Hausman, Finn, Gradient surgery for multi-task learning,
      NeurIPS 2020, Alg. 1 (two tasks).
    """
    return two_term_rule("pcgrad", pcgrad_direction)


def mgda() -> GradientRule:
    """MGDA for two named loss terms: the min-norm element of the convex hull of g_1, g_2.

        d = gamma g_1 + (1 - gamma) g_2,   gamma = clip(<g_2 - g_1, g_2> / |g_1 - g_2|^2, 0, 1),

    the closed-form two-task solution; d lies in the dual cone of (g_1, g_2) and is 0 at a
    Pareto-stationary point. One forward and two backward passes.

    References:
      Desideri, Multiple-gradient descent algorithm (MGDA), C. R. Math. 2012; Sener and Koltun,
      Multi-task learning as multi-objective optimization, NeurIPS 2018, Alg. 1 (two tasks).
    """
    return two_term_rule("mgda", mgda_direction)

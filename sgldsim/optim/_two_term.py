"""Shared by the two-term gradient rules (DCGD, PCGrad, MGDA): the per-term gradients from one
forward pass, and the tree algebra their combinations use."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from ._tree import add_scaled, safe_inverse
from .gradient_rule import GradientInfo, GradientRule, Objective

Combine = Callable[[object, object], object]


def term_gradients(objective: Objective, params, batch, rule_name: str):
    """``(g_1, g_2, GradientInfo)``: the gradients of the loss's two named terms, in the order
    the loss returns them, from one forward pass and two backward passes (``jax.vjp``).

    Raises:
      ValueError: the loss does not return exactly two named terms.
    """
    terms, pullback, aux = jax.vjp(lambda p: objective(p, batch), params, has_aux=True)
    if len(terms) != 2:
        raise ValueError(f"{rule_name} needs a loss with exactly two named terms (e.g. "
                         f"{{'residual': L_r, 'boundary': L_b}}); got {len(terms)}: "
                         f"{sorted(terms)}")
    g_1, g_2 = [pullback({n: jnp.ones_like(v) if n == name else jnp.zeros_like(v)
                          for n, v in terms.items()})[0] for name in terms]
    return g_1, g_2, GradientInfo(sum(terms.values()), terms, aux)


def two_term_rule(rule_name: str, combine: Combine) -> GradientRule:
    """A gradient rule whose direction is ``combine(g_1, g_2)``."""

    def rule(key, params, batch, objective):
        del key
        g_1, g_2, info = term_gradients(objective, params, batch, rule_name)
        return combine(g_1, g_2), info

    return rule


def reject(g, h):
    """P_h_perp(g) = g - (<g, h> / |h|^2) h (g itself when h = 0)."""
    return add_scaled(g, -optax.tree.vdot(g, h) * safe_inverse(optax.tree.norm(h, squared=True)),
                      h)


def norm(g):
    """|g|, with a finite derivative (0) at g = 0 where sqrt's is infinite."""
    squared = optax.tree.norm(g, squared=True)
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


def unit(g):
    """g / |g| (0 when g = 0)."""
    return optax.tree.scale(safe_inverse(norm(g)), g)

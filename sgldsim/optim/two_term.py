"""Two-term gradient rules (docs/theory.md §9): the gradients of a loss's two named terms, and
the rule that combines them into one descent direction.

A loss with two named terms, e.g. a PINN's ``{"residual": L_r, "boundary": L_b}``, has two
gradients g_1, g_2. A *combination* maps them to a direction d = combine(g_1, g_2): the sum
g_1 + g_2 (plain descent), DCGD's dual-cone directions (:data:`DUAL_CONE_COMBINATIONS` in
:mod:`sgldsim.optim.dual_cone`), PCGrad's and MGDA's (:func:`pcgrad_direction`,
:func:`mgda_direction` in :mod:`sgldsim.optim.multitask`). :func:`two_term_rule` makes a
combination a gradient rule (:mod:`sgldsim.optim.gradient_rule`); a training loop that weights
the terms between differentiation and combination (the loss weightings of
:mod:`sgldsim.optim.loss_weighting`) calls :func:`term_gradients` and the combination itself,
as :mod:`sgldsim.pinn` does.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .gradient_rule import GradientInfo, GradientRule, Objective, ParamTree

Combination = Callable[[ParamTree, ParamTree], ParamTree]
"""``combine(g_1, g_2) -> direction`` on two gradient pytrees of the same structure."""


def term_gradients(objective: Objective, params, batch, rule_name: str):
    """The gradients of the loss's two named terms from one forward pass and two backward passes
    (``jax.vjp``), keyed by the terms' names.

    The gradients are identified by name, never by position: ``jax.vjp`` rebuilds the loss's
    dict with sorted keys (``"boundary"`` before ``"residual"``), so an order taken from it is
    not the order the loss wrote them in, and an asymmetric weighting (LRA, NTK) fed by position
    would weight the wrong term.

    Args:
      objective: the loss in standard form (:func:`sgldsim.optim.as_objective`), returning two
        named terms.
      params: the point where the gradients are taken.
      batch: the loss's batch.
      rule_name: the caller's name, for the error message.

    Returns:
      ``(gradients, GradientInfo)``: a dict from each term's name to its gradient, and the total
      loss, the terms and the loss's auxiliary output.

    Raises:
      ValueError: the loss does not return exactly two named scalar terms.
    """
    terms, pullback, aux = jax.vjp(lambda p: objective(p, batch), params, has_aux=True)
    if len(terms) != 2:
        raise ValueError(f"{rule_name} needs a loss with exactly two named terms (e.g. "
                         f"{{'residual': L_r, 'boundary': L_b}}); got {len(terms)}: "
                         f"{sorted(terms)}")
    for name, value in terms.items():  # vjp would sum a vector-valued term silently
        if jnp.shape(value) != ():
            raise ValueError(f"{rule_name}: loss term {name!r} has shape {jnp.shape(value)}, "
                             "not allowed: every loss term must be a scalar (reduce it, e.g. "
                             "with jnp.mean)")
    gradients = {name: pullback({n: jnp.ones_like(v) if n == name else jnp.zeros_like(v)
                                 for n, v in terms.items()})[0] for name in terms}
    return gradients, GradientInfo(sum(terms.values()), terms, aux)


def two_term_rule(rule_name: str, combine: Combination,
                  names: tuple[str, str] | None = None) -> GradientRule:
    """A gradient rule whose direction is ``combine(g_1, g_2)`` of the two terms' gradients
    (:func:`term_gradients`); ``rule_name`` names the rule in its errors.

    ``names``: which term is g_1 and which g_2; required for a combination that is not
    symmetric in its arguments. ``None`` (for the symmetric combinations: the sum, PCGrad's,
    MGDA's and DCGD's) takes the names in sorted order."""

    if names is not None and (not isinstance(names, tuple | list) or len(names) != 2
                              or names[0] == names[1]):
        raise ValueError(f"{rule_name}: names={names!r} is not allowed: a pair of two different "
                         "term names, or None")

    def rule(key, params, batch, objective):
        del key
        gradients, info = term_gradients(objective, params, batch, rule_name)
        first, second = sorted(gradients) if names is None else names
        if {first, second} != set(gradients):
            raise ValueError(f"{rule_name}: names={names!r} must be the loss's two terms "
                             f"{sorted(gradients)}")
        return combine(gradients[first], gradients[second]), info

    return rule

"""One training step: a gradient rule computes the direction, an optax optimiser applies it."""

from __future__ import annotations

from collections.abc import Callable

import optax

from .gradient_rule import GradientRule, as_objective, plain


def make_train_step(loss_fn: Callable, optimizer: optax.GradientTransformation,
                    gradient_rule: GradientRule | None = None, *, has_aux: bool = False):
    """Build ``step(key, params, opt_state, batch) -> (params, opt_state, info)``.

        direction, info = gradient_rule(key, params, batch, objective)
        updates, opt_state = optimizer.update(direction, opt_state, params)
        params = optax.apply_updates(params, updates)

    The step is pure and ``jax.jit``-able; ``key`` drives the rule's randomness (e.g. the
    fSGLD perturbation) while the optimiser's own randomness (Langevin noise) lives in
    ``opt_state``. Initialise with ``opt_state = optimizer.init(params)``.

    Args:
      loss_fn: ``loss_fn(params, batch)`` returning a scalar or a dict of named terms (summed),
        and with ``has_aux`` a pair ``(loss_or_terms, aux)``.
      optimizer: any optax transformation producing updates from the direction.
      gradient_rule: how the direction is computed (default :func:`plain`).
      has_aux: whether ``loss_fn`` returns auxiliary data.

    Returns:
      The step function; ``info`` is the rule's :class:`GradientInfo` (loss, terms, aux).
    """
    objective = as_objective(loss_fn, has_aux)
    rule = plain() if gradient_rule is None else gradient_rule

    def step(key, params, opt_state, batch):
        direction, info = rule(key, params, batch, objective)
        updates, opt_state = optimizer.update(direction, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, info

    return step

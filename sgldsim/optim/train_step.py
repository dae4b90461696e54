"""One training step: a gradient rule computes the direction, an optax optimiser applies it."""

from __future__ import annotations

from collections.abc import Callable

import optax

from .._random import shared_draws
from .gradient_rule import GradientRule, as_objective, plain


def make_train_step(loss_fn: Callable, optimizer: optax.GradientTransformation,
                    gradient_rule: GradientRule | None = None, *, has_aux: bool = False):
    """Build ``step(key, params, opt_state, batch) -> (params, opt_state, info)``.

        direction, info = gradient_rule(key, params, batch, objective)
        updates, opt_state = optimizer.update(direction, opt_state, params)
        params = optax.apply_updates(params, updates)

    The step is pure and ``jax.jit``-able. ``key`` drives all of the step's randomness: the
    rule's (e.g. the fSGLD perturbation) and the optimiser's, passed as the extra argument
    ``update(..., noise_key=key)`` (the Langevin noise of :func:`~sgldsim.optim.add_langevin_noise`
    without a key of its own; transformations that take no extra arguments ignore it). So two
    runs with different step keys never share noise. Initialise with
    ``opt_state = optimizer.init(params)``.

    Schedulable hyperparameters: when ``opt_state`` comes from ``optax.inject_hyperparams``
    (it has a ``hyperparams`` dict) and the rule was built by a method factory
    (:func:`~sgldsim.optim.fsgld`, ``rwp``, ``sam``, ``asam``: it has ``with_hyperparams``), the
    rule is rebuilt each step from ``opt_state.hyperparams``, so sigma, beta (through the
    coupling) and rho follow the injected values too. Those are the values the optimiser used at
    the previous step (a schedule reaches the rule one step late; values set by hand in
    ``opt_state.hyperparams`` reach both at once).

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
    optimizer = optax.with_extra_args_support(optimizer)

    def step(key, params, opt_state, batch):
        hyperparams = getattr(opt_state, "hyperparams", None)
        step_rule = rule
        if isinstance(hyperparams, dict) and hasattr(rule, "with_hyperparams"):
            step_rule = rule.with_hyperparams(hyperparams)
        with shared_draws():  # the rule's and the optimiser's draws from one hash
            direction, info = step_rule(key, params, batch, objective)
            updates, opt_state = optimizer.update(direction, opt_state, params, noise_key=key)
        return optax.apply_updates(params, updates), opt_state, info

    return step

"""Langevin noise as an optax transformation, and SGLD built from it (docs/theory.md §1).

SGLD: theta_{t+1} = theta_t - lr_t * grad U(theta_t, X_t) + sqrt(2 lr_t / beta) xi_t.
In optax terms the noise is added to the updates *after* learning-rate scaling, so the
transformation must read the same learning rate (or schedule) as the scaling step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._random import tree_normal
from ._checks import check_learning_rate, check_positive, concrete
from ._tree import add_scaled, as_key


class AddLangevinNoiseState(NamedTuple):
    """State of :func:`add_langevin_noise`: the step count t and, with an own ``key``, the PRNG
    key of step t (``None`` when the noise follows the train step's key)."""

    count: jax.Array
    rng_key: jax.Array | None


def langevin_noise(key, tree):
    """xi ~ N(0, I) shaped like ``tree``: ``tree_normal(key, tree, block=0, word=1)``.

    Word 1 of counter block 0 (see :func:`sgldsim._random.tree_normal`), so a perturbation drawn
    from word 0 of the same key (:func:`sgldsim.optim.random_perturbation`) is independent of it
    and, inside one train step, both come from one Threefry hash per parameter (the two
    components of a Box-Muller pair, for float32 parameters).
    """
    return tree_normal(key, tree, block=0, word=1)


def add_langevin_noise(learning_rate, beta, key=None) -> optax.GradientTransformationExtraArgs:
    """Add Langevin noise to updates that are already scaled by the learning rate.

    updates_t <- updates_t + sqrt(2 lr_t / beta) xi_t,   xi_t ~ N(0, I) over the whole pytree,

    with lr_t = ``learning_rate(t)`` for a schedule (t counted from 0, as in
    ``optax.scale_by_learning_rate``). beta is the inverse temperature of the *mean* loss (the
    paper's code); ``beta = inf`` adds exactly nothing.

    Where xi_t comes from (no shared default stream: runs with different keys never share noise):

    - ``key=None`` (default): from the key of the train step, passed as the extra argument
      ``update(..., noise_key=k)`` (:func:`sgldsim.optim.make_train_step` passes its step key);
      xi_t = ``langevin_noise(k, updates)``.
    - ``key`` given (the optax convention, as ``optax.add_noise``): from the state,
      ``rng_key_{t+1}, noise_key = jax.random.split(rng_key_t)``, xi_t =
      ``langevin_noise(noise_key, updates)``.

    ``learning_rate`` and ``beta`` may be traced (e.g. ``optax.inject_hyperparams``).

    Args:
      learning_rate: the positive learning rate, or the schedule ``t -> lr_t``, used by the
        scaling step this noise follows.
      beta: inverse temperature in (0, inf].
      key: ``None``, or a PRNG key or integer seed whose stream lives in the state.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` with state :class:`AddLangevinNoiseState`.

    References:
      Welling and Teh, Bayesian learning via stochastic gradient Langevin dynamics, ICML 2011.
    """
    check_learning_rate(learning_rate)
    check_positive("beta", beta, allow_inf=True)
    # A known infinite beta skips the noise, so the compiled update is SGD's, bit for bit.
    noiseless = concrete(beta) and bool(np.all(np.isinf(beta)))
    own_key = None if key is None else as_key(key)

    def init_fn(params):
        del params
        return AddLangevinNoiseState(count=jnp.zeros([], jnp.int32), rng_key=own_key)

    def update_fn(updates, state, params=None, *, noise_key=None, **extra_args):
        del params, extra_args
        rng_key = state.rng_key
        if rng_key is not None:
            rng_key, noise_key = jax.random.split(rng_key)
        new_state = AddLangevinNoiseState(optax.safe_increment(state.count), rng_key)
        if noiseless:
            return updates, new_state
        if noise_key is None:
            raise ValueError("noise_key=None is not allowed when add_langevin_noise has no key "
                             "of its own: pass update(..., noise_key=k) (make_train_step does) "
                             "or give add_langevin_noise a key")
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        std = jnp.sqrt(2.0 * lr / beta)
        return add_scaled(updates, std, langevin_noise(noise_key, updates)), new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def langevin_sgd(learning_rate, beta, key=None) -> optax.GradientTransformationExtraArgs:
    """SGLD as an optax optimiser: ``-lr_t * g_t + sqrt(2 lr_t / beta) xi_t``.

    ``optax.chain(optax.scale_by_learning_rate(lr), add_langevin_noise(lr, beta, key))``; with
    ``beta = inf`` it equals ``optax.sgd(lr)`` exactly. Fed the gradient at a perturbed point
    (see :func:`sgldsim.optim.random_perturbation`) it is fSGLD.

    Args:
      learning_rate: positive learning rate or schedule ``t -> lr_t``.
      beta: inverse temperature in (0, inf] of the mean loss.
      key: ``None`` (noise from the train step's key, passed as ``noise_key``) or a PRNG key or
        integer seed for a stream kept in the state (see :func:`add_langevin_noise`).
    """
    return optax.chain(optax.scale_by_learning_rate(learning_rate),
                       add_langevin_noise(learning_rate, beta, key))

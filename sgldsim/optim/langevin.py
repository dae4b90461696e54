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

from ._checks import check_learning_rate, check_positive, concrete
from ._tree import add_scaled, as_key


class AddLangevinNoiseState(NamedTuple):
    """State of :func:`add_langevin_noise`: the step count t and the PRNG key for step t."""

    count: jax.Array
    rng_key: jax.Array


def add_langevin_noise(learning_rate, beta, key) -> optax.GradientTransformation:
    """Add Langevin noise to updates that are already scaled by the learning rate.

    updates_t <- updates_t + sqrt(2 lr_t / beta) xi_t,   xi_t ~ N(0, I) over the whole pytree,

    with lr_t = ``learning_rate(t)`` for a schedule (t counted from 0, as in
    ``optax.scale_by_learning_rate``). beta is the inverse temperature of the *mean* loss (the
    paper's code); ``beta = inf`` adds exactly nothing.

    Key convention, step t: ``rng_key_{t+1}, noise_key = jax.random.split(rng_key_t)``; the
    leaves of xi_t use ``jax.random.split(noise_key, num_leaves)`` in ``jax.tree.leaves`` order,
    leaf ``i`` being ``jax.random.normal(leaf_keys[i], leaf.shape, leaf.dtype)``.

    Args:
      learning_rate: the positive learning rate, or the schedule ``t -> lr_t``, used by the
        scaling step this noise follows.
      beta: inverse temperature in (0, inf].
      key: PRNG key or integer seed; the noise keys live in the state.

    Returns:
      An ``optax.GradientTransformation`` with state :class:`AddLangevinNoiseState`.

    References:
      Welling and Teh, Bayesian learning via stochastic gradient Langevin dynamics, ICML 2011.
    """
    check_learning_rate(learning_rate)
    check_positive("beta", beta, allow_inf=True)
    # A known infinite beta skips the noise, so the compiled update is SGD's, bit for bit.
    noiseless = concrete(beta) and bool(np.all(np.isinf(beta)))

    def init_fn(params):
        del params
        return AddLangevinNoiseState(count=jnp.zeros([], jnp.int32), rng_key=as_key(key))

    def update_fn(updates, state, params=None):
        del params
        rng_key, noise_key = jax.random.split(state.rng_key)
        new_state = AddLangevinNoiseState(optax.safe_increment(state.count), rng_key)
        if noiseless:
            return updates, new_state
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        std = jnp.sqrt(2.0 * lr / beta)
        noise = optax.tree.random_like(noise_key, updates)
        return add_scaled(updates, std, noise), new_state

    return optax.GradientTransformation(init_fn, update_fn)


def langevin_sgd(learning_rate, beta, key) -> optax.GradientTransformation:
    """SGLD as an optax optimiser: ``-lr_t * g_t + sqrt(2 lr_t / beta) xi_t``.

    ``optax.chain(optax.scale_by_learning_rate(lr), add_langevin_noise(lr, beta, key))``; with
    ``beta = inf`` it equals ``optax.sgd(lr)`` exactly. Fed the gradient at a perturbed point
    (see :func:`sgldsim.optim.random_perturbation`) it is fSGLD.

    Args:
      learning_rate: positive learning rate or schedule ``t -> lr_t``.
      beta: inverse temperature in (0, inf] of the mean loss.
      key: PRNG key or integer seed for the Langevin noise.
    """
    return optax.chain(optax.scale_by_learning_rate(learning_rate),
                       add_langevin_noise(learning_rate, beta, key))

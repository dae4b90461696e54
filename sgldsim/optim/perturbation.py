"""Random weight perturbation: the gradient of fSGLD and RWP (docs/theory.md §1)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._random import tree_normal
from ._checks import check_hyperparameter, check_positive_int
from ._tree import add_scaled, mean_over_draws
from .gradient_rule import GradientRule, evaluate_gradient


def random_perturbation(sigma, num_draws: int = 1, antithetic: bool = False) -> GradientRule:
    """Gradient at randomly perturbed parameters, averaged over draws.

    direction = (1/M) sum_m grad L(theta + sigma xi_m, batch),   xi_m ~ N(0, I) over the pytree;

    an unbiased estimate of grad g_sigma(theta), the gradient of the Gaussian-smoothed loss.
    Antithetic draws use M/2 noises and the pairs +xi, -xi (the odd terms of the smoothing
    expansion cancel). The perturbation only moves where the gradient is taken, never theta.

    Key convention: ``xi_m = tree_normal(key, params, block=m, word=0)`` for m = 0, ..., M - 1
    (``M // 2`` when antithetic; :func:`sgldsim._random.tree_normal`, a counter-based Threefry
    draw over the whole pytree). The Langevin noise of the same step key is word 1 of block 0
    (:func:`sgldsim.optim.langevin.langevin_noise`): independent, and the same hash (the other
    component of the same Box-Muller pair for float32 parameters). Antithetic
    points are ordered ``+xi_1, ..., +xi_{M/2}, -xi_1, ..., -xi_{M/2}``. The M gradients are
    evaluated in parallel (``vmap``): memory grows with M.

    Args:
      sigma: perturbation scale >= 0 (a standard deviation); 0 gives the plain gradient. May
        be traced (``optax.inject_hyperparams``, vmapped sweeps).
      num_draws: M >= 1, the number of perturbed gradients averaged.
      antithetic: use antithetic pairs (M must then be even).

    Returns:
      A gradient rule (see :mod:`sgldsim.optim.gradient_rule`).

    References:
      Bruno et al., Flatness-aware stochastic gradient Langevin dynamics, 2025, §3 (fSGLD).
    """
    check_hyperparameter("sigma", sigma)
    check_positive_int("num_draws", num_draws)
    if antithetic and num_draws % 2:
        raise ValueError(f"num_draws={num_draws!r} is not allowed with antithetic=True: "
                         "num_draws must be even")
    num_noises = num_draws // 2 if antithetic else num_draws

    def rule(key, params, batch, objective):
        def gradient_at(xi):
            return evaluate_gradient(objective, add_scaled(params, sigma, xi), batch)

        if num_draws == 1:  # no draw axis: the hash is shared with the Langevin noise
            return gradient_at(tree_normal(key, params, block=0, word=0))
        noises = jax.vmap(lambda m: tree_normal(key, params, block=m, word=0))(
            jnp.arange(num_noises, dtype=jnp.uint32))
        if antithetic:
            noises = jax.tree.map(lambda xi: jnp.concatenate([xi, -xi]), noises)
        return mean_over_draws(jax.vmap(gradient_at)(noises))

    return rule

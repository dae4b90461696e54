"""Random weight perturbation: the gradient of fSGLD and RWP (docs/theory.md §1)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from ._checks import check_nonnegative, check_positive_int
from ._tree import add_scaled, mean_over_draws
from .gradient_rule import GradientRule, evaluate_gradient


def random_perturbation(sigma, num_draws: int = 1, antithetic: bool = False) -> GradientRule:
    """Gradient at randomly perturbed parameters, averaged over draws.

    direction = (1/M) sum_m grad L(theta + sigma xi_m, batch),   xi_m ~ N(0, I) over the pytree;

    an unbiased estimate of grad g_sigma(theta), the gradient of the Gaussian-smoothed loss.
    Antithetic draws use M/2 noises and the pairs +xi, -xi (the odd terms of the smoothing
    expansion cancel). The perturbation only moves where the gradient is taken, never theta.

    Key convention: ``draw_keys = jax.random.split(key, M)`` (``M // 2`` when antithetic);
    ``xi_m = optax.tree.random_like(draw_keys[m], params)``, i.e. leaf keys
    ``jax.random.split(draw_keys[m], num_leaves)`` in ``jax.tree.leaves`` order. Antithetic
    points are ordered ``+xi_1, ..., +xi_{M/2}, -xi_1, ..., -xi_{M/2}``. The M gradients are
    evaluated in parallel (``vmap``): memory grows with M.

    Args:
      sigma: perturbation scale >= 0 (a standard deviation); 0 gives the plain gradient.
      num_draws: M >= 1, the number of perturbed gradients averaged.
      antithetic: use antithetic pairs (M must then be even).

    Returns:
      A gradient rule (see :mod:`sgldsim.optim.gradient_rule`).

    References:
      Bruno et al., Flatness-aware stochastic gradient Langevin dynamics, 2025, §3 (fSGLD).
    """
    check_nonnegative("sigma", sigma)
    check_positive_int("num_draws", num_draws)
    if antithetic and num_draws % 2:
        raise ValueError(f"num_draws={num_draws!r} is not allowed with antithetic=True: "
                         "num_draws must be even")
    num_noises = num_draws // 2 if antithetic else num_draws

    def rule(key, params, batch, objective):
        noises = jax.vmap(lambda k: optax.tree.random_like(k, params))(
            jax.random.split(key, num_noises))
        if antithetic:
            noises = jax.tree.map(lambda xi: jnp.concatenate([xi, -xi]), noises)

        def gradient_at(xi):
            return evaluate_gradient(objective, add_scaled(params, sigma, xi), batch)

        return mean_over_draws(jax.vmap(gradient_at)(noises))

    return rule

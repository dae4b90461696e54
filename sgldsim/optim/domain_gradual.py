"""DGSAM: domain-wise gradual sharpness-aware gradients (docs/theory.md §8)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from ._checks import check_nonnegative
from ._tree import add_scaled, mean_over_draws, safe_inverse
from .gradient_rule import GradientRule, evaluate_gradient


def domain_gradual_sharpness_aware(rho, include_first: bool = True) -> GradientRule:
    """DGSAM: per-domain gradients along a chain of accumulating perturbations.

    With S domains in a fresh random order pi and K = S + 1 visits (the last wraps to pi[0]):

        theta_0 = theta,  g_k = grad L_{pi[k mod S]}(theta_k),
        theta_{k+1} = theta_k + rho g_k / |g_k|,
        direction = (S / n) sum_k g_k     (n = number of gradients summed)

    The sum runs over k = 0..K-1, or k = 1..K-1 without ``include_first`` (the paper leaves
    open whether the unperturbed gradient counts). Cost: S + 1 single-domain gradients.

    ``batch`` must be a sequence of S per-domain batches of equal shapes (they are stacked so
    the random order can index them under ``jit``); the loss function takes one of them.
    ``key`` draws the order: ``pi = jax.random.permutation(key, S)``. The reported loss, terms
    and aux are means over the K visits.

    Args:
      rho: perturbation radius >= 0 of each step of the chain.
      include_first: whether the gradient at the unperturbed theta is part of the direction.

    References:
      Song et al., DGSAM: domain generalization via individual sharpness-aware minimization,
      arXiv 2503.23430.
    """
    check_nonnegative("rho", rho)

    def rule(key, params, batch, objective):
        num_domains = len(batch)
        stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *batch)
        order = jax.random.permutation(key, num_domains)

        def visit(point, domain):
            grad, info = evaluate_gradient(
                objective, point, jax.tree.map(lambda x: x[domain], stacked))
            step = rho * safe_inverse(optax.tree.norm(grad))
            return add_scaled(point, step, grad), (grad, info)

        point, (first, first_info) = visit(params, order[0])

        def later(carry, domain):
            point, total = carry
            point, (grad, info) = visit(point, domain)
            return (point, optax.tree.add(total, grad)), info

        initial = first if include_first else optax.tree.zeros_like(first)
        (_, total), infos = jax.lax.scan(later, (point, initial),
                                         jnp.concatenate([order[1:], order[:1]]))
        num_summed = num_domains + 1 if include_first else num_domains
        infos = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first_info, infos)
        return optax.tree.scale(num_domains / num_summed, total), mean_over_draws(infos)

    return rule

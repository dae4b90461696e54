"""Sharpness-aware gradients: SAM and ASAM (docs/theory.md §1, §8)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from ._checks import check_hyperparameter
from ._tree import add_scaled, safe_inverse
from .gradient_rule import GradientRule, ParamTree, evaluate_gradient


def _sharpness_aware(rho, scaling: Callable[[ParamTree], ParamTree] | None) -> GradientRule:
    """e = rho T^2 g / |T g| with g = grad L(theta) and T = ``scaling(theta)`` (identity if
    None); direction = grad L(theta + e). Two gradient evaluations."""

    def rule(key, params, batch, objective):
        del key
        grad, _ = evaluate_gradient(objective, params, batch)
        t = None if scaling is None else scaling(params)
        scaled = grad if t is None else optax.tree.mul(t, grad)
        ascent = scaled if t is None else optax.tree.mul(t, scaled)
        coefficient = rho * safe_inverse(optax.tree.norm(scaled))
        return evaluate_gradient(objective, add_scaled(params, coefficient, ascent), batch)

    return rule


def sharpness_aware(rho) -> GradientRule:
    """SAM: the gradient at the worst-case first-order neighbour in a rho-ball.

    g = grad L(theta),  e = rho g / |g|  (|.| the global 2-norm over the pytree),
    direction = grad L(theta + e).  A zero g gives e = 0.

    Args:
      rho: neighbourhood radius >= 0.

    References:
      Foret et al., Sharpness-aware minimization for efficiently improving generalization,
      ICLR 2021.
    """
    check_hyperparameter("rho", rho)
    return _sharpness_aware(rho, None)


def adaptive_sharpness_aware(rho, eta) -> GradientRule:
    """ASAM: SAM in the scale-invariant geometry T = |theta| + eta (elementwise).

    g = grad L(theta),  e = rho T^2 g / |T g|,  direction = grad L(theta + e).

    Args:
      rho: neighbourhood radius >= 0.
      eta: offset >= 0 keeping T positive at zero weights.

    References:
      Kwon et al., ASAM: adaptive sharpness-aware minimization for scale-invariant learning of
      deep neural networks, ICML 2021 (their code uses T = 1 on biases; here every leaf).
    """
    check_hyperparameter("rho", rho)
    check_hyperparameter("eta", eta)
    return _sharpness_aware(rho, lambda params: jax.tree.map(lambda w: jnp.abs(w) + eta, params))

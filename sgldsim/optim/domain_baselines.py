"""Domain-generalisation baselines for DGSAM: ERM, SAM, per-domain SAM, GSAM and SAGM on
per-domain batches, and the methods by name (Adam, the DomainBed setting).

Every rule here takes ``batch = [batch_1, ..., batch_S]`` (one batch per training domain,
checked by :func:`check_domain_batches`) and the per-domain loss L_d(theta) = L(theta, batch_d);
the pooled loss is L = (1/S) sum_d L_d. Pooled-loss rules (ERM, SAM, GSAM, SAGM) are single-batch
rules lifted by :func:`pooled`; each gradient of L costs S per-domain gradients.

| method          | direction                                                   | gradients |
|-----------------|-------------------------------------------------------------|-----------|
| erm             | g = grad L(theta)                                           | S         |
| sam             | grad L(theta + rho n(g)),  n(v) = v / |v|                   | 2S        |
| domain_sam      | (1/S) sum_d grad L_d(theta + rho n(grad L_d(theta)))        | 2S        |
| gsam            | g_p - alpha g_perp, g_p = grad L(theta + rho n(g)),          | 2S        |
|                 | g_perp = g - (<g, g_p> / |g_p|^2) g_p                        |           |
| sagm            | (g + grad L(theta + (rho/|g| - alpha) g)) / 2               | 2S        |
| dgsam           | :func:`domain_gradual_sharpness_aware` (include_first)      | S + 1     |
| dgsam_no_first  | the same without the unperturbed gradient in the sum        | S + 1     |
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from ._checks import check_choice, check_hyperparameter, check_learning_rate
from ._tree import add_scaled, safe_inverse
from .domain_gradual import check_domain_batches, domain_gradual_sharpness_aware, stack_domains
from .gradient_rule import GradientRule, evaluate_gradient, plain
from .methods import Method
from .sharpness import sharpness_aware

DOMAIN_METHODS = ("erm", "sam", "domain_sam", "gsam", "sagm", "dgsam", "dgsam_no_first")
"""The domain-generalisation methods of :func:`domain_method`."""


def _pooled_objective(objective):
    """(params, stacked) -> the per-domain terms and aux averaged over the domain axis."""

    def pooled_objective(params, stacked):
        terms, aux = jax.vmap(objective, in_axes=(None, 0))(params, stacked)
        return jax.tree.map(lambda x: jnp.mean(x, axis=0), (terms, aux))

    return pooled_objective


def pooled(rule: GradientRule) -> GradientRule:
    """A single-batch rule applied to the pooled loss L = (1/S) sum_d L(theta, batch_d).

    The domains' batches (a checked list) are stacked and the loss is evaluated on each by
    ``vmap`` and averaged, so ``pooled(plain())`` is ERM and ``pooled(sharpness_aware(rho))``
    is SAM on the union of the domains' batches (equal batch sizes).
    """

    def pooled_rule(key, params, batch, objective):
        check_domain_batches(batch, "a domain-generalisation method")
        return rule(key, params, stack_domains(batch), _pooled_objective(objective))

    return pooled_rule


def per_domain_sharpness_aware(rho) -> GradientRule:
    """Per-domain SAM: each domain's gradient at its own worst-case first-order neighbour.

        g_d = grad L_d(theta),  direction = (1/S) sum_d grad L_d(theta + rho g_d / |g_d|).

    Two gradients per domain (2S). The reported loss, terms and aux are means over domains at
    the perturbed points.

    Args:
      rho: neighbourhood radius >= 0.

    References:
      Song et al., DGSAM, arXiv 2503.23430 (the individual-sharpness objective it minimises);
      Foret et al., SAM, ICLR 2021.
    """
    check_hyperparameter("rho", rho)
    single = sharpness_aware(rho)

    def rule(key, params, batch, objective):
        check_domain_batches(batch, "per-domain SAM")
        directions, infos = jax.vmap(lambda b: single(key, params, b, objective))(
            stack_domains(batch))
        return jax.tree.map(lambda x: jnp.mean(x, axis=0), (directions, infos))

    return rule


def surrogate_gap(rho, alpha) -> GradientRule:
    """GSAM: SAM's gradient minus alpha times the part of g orthogonal to it.

        g = grad L(theta),  g_p = grad L(theta + rho g / |g|),
        g_perp = g - (<g, g_p> / |g_p|^2) g_p,  direction = g_p - alpha g_perp.

    Two gradient evaluations of the loss it is given (wrap in :func:`pooled` for domains).

    Args:
      rho: neighbourhood radius >= 0.
      alpha: weight >= 0 of the surrogate-gap descent (alpha = 0 is SAM).

    References:
      Zhuang et al., Surrogate gap guided sharpness-aware minimization, ICLR 2022.
    """
    check_hyperparameter("rho", rho)
    check_hyperparameter("alpha", alpha)

    def rule(key, params, batch, objective):
        del key
        grad, _ = evaluate_gradient(objective, params, batch)
        point = add_scaled(params, rho * safe_inverse(optax.tree.norm(grad)), grad)
        grad_p, info = evaluate_gradient(objective, point, batch)
        projection = optax.tree.vdot(grad, grad_p) * safe_inverse(optax.tree.norm(grad_p)) ** 2
        perpendicular = add_scaled(grad, -projection, grad_p)
        return add_scaled(grad_p, -alpha, perpendicular), info

    return rule


def gradient_matching(rho, alpha) -> GradientRule:
    """SAGM: the mean of the gradient and the gradient at a shortened SAM perturbation.

        g = grad L(theta),  e = (rho / |g| - alpha) g,  direction = (g + grad L(theta + e)) / 2.

    A zero g gives direction 0. Two gradient evaluations of the loss it is given.

    Args:
      rho: neighbourhood radius >= 0.
      alpha: shortening >= 0 of the perturbation (the paper's alpha times the learning rate).

    References:
      Wang et al., Sharpness-aware gradient matching for domain generalization, CVPR 2023.
    """
    check_hyperparameter("rho", rho)
    check_hyperparameter("alpha", alpha)

    def rule(key, params, batch, objective):
        del key
        grad, _ = evaluate_gradient(objective, params, batch)
        scale = rho * safe_inverse(optax.tree.norm(grad)) - alpha
        grad_e, info = evaluate_gradient(objective, add_scaled(params, scale, grad), batch)
        return optax.tree.scale(0.5, optax.tree.add(grad, grad_e)), info

    return rule


def domain_rule(name: str, rho=0.05, alpha=0.1) -> GradientRule:
    """The gradient rule of a method of :data:`DOMAIN_METHODS` on per-domain batches."""
    check_choice("method", name, DOMAIN_METHODS)
    rules: dict[str, Callable[[], GradientRule]] = {
        "erm": lambda: pooled(plain()),
        "sam": lambda: pooled(sharpness_aware(rho)),
        "domain_sam": lambda: per_domain_sharpness_aware(rho),
        "gsam": lambda: pooled(surrogate_gap(rho, alpha)),
        "sagm": lambda: pooled(gradient_matching(rho, alpha)),
        "dgsam": lambda: domain_gradual_sharpness_aware(rho, include_first=True),
        "dgsam_no_first": lambda: domain_gradual_sharpness_aware(rho, include_first=False),
    }
    return rules[name]()


def domain_method(name: str, learning_rate, rho=0.05, alpha=0.1) -> Method:
    """A domain-generalisation method by name, with Adam (DomainBed's optimiser).

    Args:
      name: one of :data:`DOMAIN_METHODS`.
      learning_rate: Adam's learning rate (positive, or a schedule).
      rho: perturbation radius >= 0 (unused by ERM).
      alpha: GSAM's / SAGM's alpha >= 0 (unused by the others).
    """
    check_learning_rate(learning_rate)
    return Method(name, optax.adam(learning_rate), domain_rule(name, rho, alpha))


def gradient_evaluations(name: str, num_domains: int) -> int:
    """Per-domain gradient evaluations of one step of a method (the table above)."""
    check_choice("method", name, DOMAIN_METHODS)
    if name.startswith("dgsam"):
        return num_domains + 1
    return num_domains if name == "erm" else 2 * num_domains


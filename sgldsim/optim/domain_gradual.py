"""DGSAM: domain-wise gradual sharpness-aware gradients, and the check of per-domain batches
(docs/theory.md §8)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from ._checks import check_hyperparameter
from ._tree import add_scaled, mean_over_draws, safe_inverse
from .gradient_rule import GradientRule, evaluate_gradient


def check_domain_batches(batch, method: str = "DGSAM") -> int:
    """Check that ``batch`` is a list or tuple of S >= 2 per-domain batches with one structure.

    Each domain's batch must be a container (e.g. ``(x_d, y_d)`` or a dict), the same pytree
    structure with the same leaf shapes and dtypes in every domain, and not empty (no leaf of
    size 0); in an ``(x_d, y_d)`` pair, y_d must not end in an axis of length 1 that x_d lacks
    (``check_domain_data``). A bare ``(x, y)`` tuple of one domain fails (its two "domains"
    are arrays of different shapes), so it is never read as two domains. Shapes are static, so
    the check also runs under ``jit``.

    Returns:
      S, the number of domains.
    """
    if not isinstance(batch, list | tuple):
        raise ValueError(f"batch of type {type(batch).__name__} is not allowed: {method} takes a "
                         "list of per-domain batches, e.g. [(x_1, y_1), (x_2, y_2)]")
    if len(batch) < 2:
        raise ValueError(f"a list of {len(batch)} domain batch(es) is not allowed: {method} "
                         "needs at least 2 domains")
    structures = [jax.tree.structure(b) for b in batch]
    shapes = [[(jnp.shape(x), jnp.result_type(x)) for x in jax.tree.leaves(b)] for b in batch]
    for d, (structure, shape) in enumerate(zip(structures, shapes, strict=True)):
        if jax.tree_util.treedef_is_leaf(structure) and structure.num_leaves == 1:
            raise ValueError(f"batch[{d}] is a single array of shape {jnp.shape(batch[d])}, not "
                             f"allowed: {method} takes a list of per-domain batches, e.g. "
                             "[(x_1, y_1), (x_2, y_2)]")
        if structure != structures[0] or shape != shapes[0]:
            raise ValueError(f"per-domain batches of different shapes are not allowed: batch[{d}]"
                             f" has {[s for s, _ in shape]}, batch[0] has "
                             f"{[s for s, _ in shapes[0]]} (leaf shapes and dtypes must match)")
        check_domain_data(f"batch[{d}]", batch[d], method)
    return len(batch)


def check_domain_data(where: str, data, method: str, rows: bool = False) -> None:
    """Check one domain's batch or dataset ``data`` (``where`` names it in the error).

    It must hold at least one array and no array of size 0 (an empty batch gives a NaN loss).
    In an ``(x, y)`` pair, y must not end in an axis of length 1 unless x has the same shape
    there: labels of shape (n, 1) would broadcast silently against per-row predictions of
    shape (n,). With ``rows``, every leaf has a leading example axis of one length n >= 1.
    Shapes only, so it also runs under ``jit``.
    """
    shapes = [tuple(jnp.shape(leaf)) for leaf in jax.tree.leaves(data)]
    if not shapes or any(0 in shape for shape in shapes):
        raise ValueError(f"{where} is empty (leaf shapes {shapes}), not allowed: {method} needs "
                         "at least one example in every domain")
    if rows and (any(not shape for shape in shapes) or len({s[0] for s in shapes}) != 1):
        raise ValueError(f"{where} has leaves of shapes {shapes}, not allowed: every leaf needs "
                         "a leading example axis of the same length (one row per example)")
    if isinstance(data, list | tuple) and len(data) == len(shapes) == 2 and all(
            jax.tree_util.treedef_is_leaf(jax.tree.structure(part)) for part in data):
        x_shape, y_shape = shapes
        if len(y_shape) >= 2 and y_shape[-1] == 1 and x_shape[:len(y_shape)] != y_shape:
            raise ValueError(f"{where} has y of shape {y_shape} next to x of shape {x_shape}, not "
                             f"allowed: the trailing axis of length 1 would broadcast against "
                             f"per-row predictions; pass y of shape {y_shape[:-1]}")


def stack_domains(batch):
    """The per-domain batches stacked on a new leading domain axis (after the check)."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *batch)


def domain_gradual_sharpness_aware(rho, include_first: bool = True) -> GradientRule:
    """DGSAM: per-domain gradients along a chain of accumulating perturbations.

    With S domains in a fresh random order pi and K = S + 1 visits (the last wraps to pi[0]):

        theta_0 = theta,  g_k = grad L_{pi[k mod S]}(theta_k),
        theta_{k+1} = theta_k + rho g_k / |g_k|,
        direction = (S / n) sum_k g_k     (n = number of gradients summed)

    The sum runs over k = 0..K-1, or k = 1..K-1 without ``include_first`` (the paper leaves
    open whether the unperturbed gradient counts). Cost: S + 1 single-domain gradients.

    ``batch`` must be a list of S >= 2 per-domain batches of equal shapes
    (:func:`check_domain_batches`; they are stacked so the random order can index them under
    ``jit``); the loss function takes one of them.
    ``key`` draws the order: ``pi = jax.random.permutation(key, S)``. The reported loss, terms
    and aux are means over the K visits.

    Args:
      rho: perturbation radius >= 0 of each step of the chain.
      include_first: whether the gradient at the unperturbed theta is part of the direction.

    References:
      Song et al., DGSAM: domain generalization via individual sharpness-aware minimization,
      arXiv 2503.23430.
    """
    check_hyperparameter("rho", rho)

    def rule(key, params, batch, objective):
        num_domains = check_domain_batches(batch)
        stacked = stack_domains(batch)
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

"""Sharpness of each domain's loss and of the pooled loss: the gap behind "fake flat" minima.

With S domain losses L_d and the pooled loss L = (1/S) sum_d L_d (DGSAM paper, Sec. 3):

    global sharpness      S_glob = max_{|e| <= rho} L(theta + e) - L(theta),
    individual sharpness  S_ind  = (1/S) sum_d max_{|e_d| <= rho} L_d(theta + e_d) - L_d(theta),

and S_glob <= S_ind always (the max of a mean is at most the mean of the maxes); to second
order lambda_max(H) <= (1/S) sum_d lambda_max(H_d). A fake flat minimum has S_glob small while
S_ind is large (the domains are sharp in different directions). :func:`domain_sharpness`
measures both, and the Hessians' top eigenvalues and traces, in one call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._checks import check_hyperparameter, check_positive_int
from ._tree import add_scaled, as_key, safe_inverse
from .domain_gradual import check_domain_data
from .hessian import hessian_top_eigenvalues, hessian_trace


class SharpnessMeasures(NamedTuple):
    """Sharpness of one loss (scalars) or of several (arrays over domains).

    Attributes:
      zeroth_order: max_{|e| <= rho} L(theta + e) - L(theta) by projected ascent (a lower
        bound of the maximum; the best iterate).
      one_step: the SAM estimate L(theta + rho g / |g|) - L(theta), g = grad L(theta).
      top_eigenvalue: lambda_max of the Hessian (Lanczos).
      trace: tr H (Hutchinson), and ``trace_stderr`` its standard error.
    """

    zeroth_order: jax.Array
    one_step: jax.Array
    top_eigenvalue: jax.Array
    trace: jax.Array
    trace_stderr: jax.Array


class DomainSharpness(NamedTuple):
    """``per_domain`` (each field an array over the S domains, the last axis) and ``pooled``
    (scalars; under ``vmap`` both gain leading batch axes)."""

    per_domain: SharpnessMeasures
    pooled: SharpnessMeasures

    @property
    def individual(self) -> SharpnessMeasures:
        """The mean over domains (the last axis, so batched results work) of each measure
        (S_ind for ``zeroth_order``)."""
        return jax.tree.map(lambda x: jnp.mean(x, axis=-1), self.per_domain)

    @property
    def gap(self) -> SharpnessMeasures:
        """individual - pooled, measure by measure (>= 0 for the exact zeroth-order maxima)."""
        return jax.tree.map(jnp.subtract, self.individual, self.pooled)


def _direction(grad, fallback):
    """``grad / |grad|``, or ``fallback / |fallback|`` where the gradient vanishes."""
    norm = optax.tree.norm(grad)
    chosen = jax.tree.map(lambda g, f: jnp.where(norm > 0, g, f), grad, fallback)
    return optax.tree.scale(safe_inverse(optax.tree.norm(chosen)), chosen)


def zeroth_order_sharpness(value_fn: Callable, params, rho, key, num_steps: int = 10):
    """max_{|e| <= rho} f(theta + e) - f(theta) by projected normalised gradient ascent.

        e_0 = rho n(grad f(theta))   (a random unit direction if the gradient is 0),
        e_{k+1} = P_rho(e_k + rho n(grad f(theta + e_k))),  P_rho the projection on the ball,

    returning the largest f(theta + e_k) - f(theta) over k = 0..num_steps (each iterate is
    feasible, so this is a lower bound of the maximum; on a quadratic at its minimum the steps
    are a power iteration and converge to rho^2 lambda_max / 2).

    Args:
      value_fn: ``f(params)``, a scalar.
      params: the point theta.
      rho: radius >= 0.
      key: PRNG key for the fallback direction.
      num_steps: ascent steps after the first, >= 0.

    Returns:
      ``(zeroth_order, one_step)``: the ascent's estimate and the k = 0 (SAM) estimate.
    """
    check_hyperparameter("rho", rho)
    base, grad = jax.value_and_grad(value_fn)(params)
    fallback = optax.tree.random_like(as_key(key), params)
    e = optax.tree.scale(rho, _direction(grad, fallback))
    first = value_fn(add_scaled(params, 1.0, e)) - base

    def ascend(carry, _):
        e, best = carry
        value, grad = jax.value_and_grad(value_fn)(add_scaled(params, 1.0, e))
        e = add_scaled(e, rho, _direction(grad, e))
        e = optax.tree.scale(jnp.minimum(1.0, rho * safe_inverse(optax.tree.norm(e))), e)
        return (e, jnp.maximum(best, value - base)), None

    (e, best), _ = jax.lax.scan(ascend, (e, first), None, length=num_steps)
    best = jnp.maximum(best, value_fn(add_scaled(params, 1.0, e)) - base)
    return best, first


@functools.cache
def _pooled_loss(loss_fn: Callable) -> Callable:
    """(params, (data_1, ..., data_S)) -> (1/S) sum_d loss_fn(params, data_d); one object per
    ``loss_fn`` (a stable static argument of the compiled Hessian estimators)."""

    def pooled(params, domains):
        return sum(loss_fn(params, data) for data in domains) / len(domains)

    return pooled


def domain_sharpness(loss_fn: Callable, params, domains, rho, key, *, ascent_steps: int = 10,
                     lanczos_iterations: int = 20, trace_samples: int = 30) -> DomainSharpness:
    """Each domain's and the pooled loss's sharpness at ``params``: S_ind - S_glob in one call.

    For L_d = ``loss_fn(params, domains[d])`` (the mean loss over domain d's examples) and
    L = (1/S) sum_d L_d: the zeroth-order and one-step sharpness
    (:func:`zeroth_order_sharpness`), lambda_max by Lanczos and tr H by Hutchinson
    (:func:`~sgldsim.optim.hessian_top_eigenvalues`, :func:`~sgldsim.optim.hessian_trace`).
    Every loss uses the same keys (common random numbers): ascent fallback from
    ``fold_in(key, 0)``, Lanczos start from ``fold_in(key, 1)``, probes from ``fold_in(key, 2)``.
    Pure apart from argument checks: ``jax.vmap`` over ``params`` and ``key`` works.

    Args:
      loss_fn: ``loss_fn(params, data)``, a mean loss over ``data``'s examples (pass the same
        function object each call to reuse the compilation).
      params: parameter pytree.
      domains: a list of S >= 1 non-empty datasets (pytrees whose leaves share a leading
        example axis; checked like the batches of
        :func:`~sgldsim.optim.check_domain_batches`).
      rho: radius >= 0 of the zeroth-order sharpness.
      key: PRNG key.
      ascent_steps: projected ascent steps (>= 1).
      lanczos_iterations: Lanczos steps (capped at the parameter dimension).
      trace_samples: Hutchinson probes (>= 2).

    Returns:
      :class:`DomainSharpness` with ``.individual`` and ``.gap``.

    References:
      Song et al., DGSAM: domain generalization via individual sharpness-aware minimization,
      arXiv 2503.23430 (global vs individual sharpness, fake flat minima).
    """
    check_hyperparameter("rho", rho)
    check_positive_int("ascent_steps", ascent_steps)
    if not isinstance(domains, list | tuple) or len(domains) < 1:
        raise ValueError(f"domains of type {type(domains).__name__} (length "
                         f"{len(domains) if isinstance(domains, list | tuple) else '-'}) is not "
                         "allowed: a non-empty list of per-domain datasets")
    for d, data in enumerate(domains):
        check_domain_data(f"domains[{d}]", data, "domain_sharpness", rows=True)
    key = as_key(key)
    pooled_loss = _pooled_loss(loss_fn)

    def measure(loss, data):
        zeroth, one = zeroth_order_sharpness(lambda p: loss(p, data), params, rho,
                                             jax.random.fold_in(key, 0), ascent_steps)
        top = hessian_top_eigenvalues(loss, params, data, k=1,
                                      num_iterations=lanczos_iterations,
                                      key=jax.random.fold_in(key, 1))[0]
        trace = hessian_trace(loss, params, data, jax.random.fold_in(key, 2),
                              num_samples=trace_samples)
        return SharpnessMeasures(zeroth, one, top, trace.estimate, trace.standard_error)

    per_domain = [measure(loss_fn, data) for data in domains]
    per_domain = jax.tree.map(lambda *xs: jnp.stack(xs), *per_domain)
    return DomainSharpness(per_domain, measure(pooled_loss, tuple(domains)))

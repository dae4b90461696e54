"""Curvature of a loss over a dataset: Hessian-vector products, Lanczos, Hutchinson.

The flatness measures of the paper's empirical side (docs/theory.md §7): the top Hessian eigenvalues
and the Hessian trace at trained parameters, for a loss that is a mean over a dataset.

Conventions: ``loss_fn(params, batch)`` is the *mean* loss over the examples of ``batch``;
``data`` is a pytree of arrays sharing a leading example axis of length n; the dataset loss is
the mean over all n examples. With ``batch_size`` the data are processed in chunks (weighted by
their sizes) so that the intermediate memory is that of one chunk; ``None`` evaluates all n at
once. The estimators are compiled once per ``loss_fn`` object (a static argument): pass the same
function, not a fresh lambda, to reuse the compilation across checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from ._checks import check_positive_int
from ._tree import as_key


def _dataset_mean(chunk_mean: Callable, data, batch_size: int | None):
    """(1/n) sum_c n_c chunk_mean(chunk_c) over consecutive chunks of ``batch_size`` examples."""
    n = jax.tree.leaves(data)[0].shape[0]
    if batch_size is None or batch_size >= n:
        return chunk_mean(data)
    num_full = n // batch_size
    full = jax.tree.map(
        lambda x: x[: num_full * batch_size].reshape(num_full, batch_size, *x.shape[1:]), data)

    def accumulate(total, chunk):
        return optax.tree.add(total, chunk_mean(chunk)), None

    first = jax.tree.map(lambda x: x[0], full)
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(chunk_mean, first))
    total = optax.tree.scale(batch_size / n, jax.lax.scan(accumulate, zeros, full)[0])
    rest = n - num_full * batch_size
    if rest:
        tail = jax.tree.map(lambda x: x[num_full * batch_size:], data)
        total = optax.tree.add_scale(total, rest / n, chunk_mean(tail))
    return total


def hessian_vector_product(loss_fn: Callable, params, data, vector, *,
                           batch_size: int | None = None):
    """H v for the dataset loss, forward-over-reverse: ``jax.jvp(jax.grad(loss), (params,), (v,))``.

    Args:
      loss_fn: ``loss_fn(params, batch)``, the mean loss over ``batch``.
      params: parameter pytree (the point where the Hessian is taken).
      data: pytree of arrays with a common leading example axis.
      vector: pytree shaped like ``params``.
      batch_size: examples per chunk (``None``: all at once).

    Returns:
      H v, a pytree shaped like ``params``.
    """
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)

    def chunk_hvp(chunk):
        grad = jax.grad(lambda p: loss_fn(p, chunk))
        return jax.jvp(grad, (params,), (vector,))[1]

    return _dataset_mean(chunk_hvp, data, batch_size)


def hessian_top_eigenvalues(loss_fn: Callable, params, data, k: int = 1,
                            num_iterations: int = 100, *, key=0,
                            batch_size: int | None = None) -> jax.Array:
    """The k largest (algebraic) Hessian eigenvalues by Lanczos with full reorthogonalisation.

    m = min(num_iterations, dim) Lanczos steps from a normalised Gaussian start vector drawn
    from ``key``: q_{j+1} beta_j = (I - Q Q^T) H q_j (Gram-Schmidt against every previous
    vector, twice), alpha_j = q_j^T H q_j; the Ritz values of the tridiagonal T_m approximate
    the extreme eigenvalues. On breakdown (beta_j ~ 0: an invariant subspace is exhausted) the
    next vector is a fresh random one orthogonal to Q and beta_j = 0, so m = dim recovers the
    whole spectrum. Memory: m + 1 vectors of the parameter dimension.

    Args:
      loss_fn: ``loss_fn(params, batch)``, the mean loss over ``batch``.
      params: parameter pytree.
      data: pytree of arrays with a common leading example axis.
      k: number of eigenvalues, 1 <= k <= m.
      num_iterations: Lanczos steps (capped at the parameter dimension).
      key: PRNG key or seed for the start vector (deterministic given the key).
      batch_size: examples per chunk in each Hessian-vector product.

    Returns:
      The k largest Ritz values, in decreasing order.

    References:
      Golub and Van Loan, Matrix Computations, 4th ed., §10.1; Yao et al., PyHessian, 2020.
    """
    check_positive_int("k", k)
    check_positive_int("num_iterations", num_iterations)
    m = min(num_iterations, ravel_pytree(params)[0].size)
    if k > m:
        raise ValueError(f"k={k!r} is not allowed: k must be <= min(num_iterations, dim) = {m}")
    return _lanczos(loss_fn, params, data, as_key(key), k, m, batch_size)


@partial(jax.jit, static_argnames=("loss_fn", "k", "m", "batch_size"))
def _lanczos(loss_fn, params, data, key, k, m, batch_size):
    flat, unravel = ravel_pytree(params)
    tolerance = jnp.sqrt(jnp.finfo(flat.dtype).eps)

    def matvec(v):
        hv = hessian_vector_product(loss_fn, params, data, unravel(v), batch_size=batch_size)
        return ravel_pytree(hv)[0]

    def orthogonal_to(basis, v):
        for _ in range(2):  # "twice is enough" (Kahan-Parlett)
            v = v - basis.T @ (basis @ v)
        return v

    def random_unit(key, basis):
        v = orthogonal_to(basis, jax.random.normal(key, flat.shape, flat.dtype))
        return v / jnp.linalg.norm(v)

    start = jax.random.normal(key, flat.shape, flat.dtype)
    basis = jnp.zeros((m + 1, flat.size), flat.dtype).at[0].set(start / jnp.linalg.norm(start))

    def body(j, carry):
        basis, alphas, betas = carry
        q = basis[j]
        hq = matvec(q)
        w = orthogonal_to(basis, hq)
        beta = jnp.linalg.norm(w)
        broke = beta <= tolerance * jnp.linalg.norm(hq)
        fresh = random_unit(jax.random.fold_in(key, j + 1), basis)
        next_q = jnp.where(broke, fresh, w / jnp.where(broke, 1.0, beta))
        return (basis.at[j + 1].set(next_q), alphas.at[j].set(q @ hq),
                betas.at[j].set(jnp.where(broke, 0.0, beta)))

    zeros = jnp.zeros(m, flat.dtype)
    _, alphas, betas = jax.lax.fori_loop(0, m, body, (basis, zeros, zeros))
    tridiagonal = jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)
    return jnp.linalg.eigvalsh(tridiagonal)[::-1][:k]


class TraceEstimate(NamedTuple):
    """A Monte Carlo estimate and its standard error (sample std / sqrt(num_samples))."""

    estimate: jax.Array
    standard_error: jax.Array


def hessian_trace(loss_fn: Callable, params, data, key, num_samples: int = 100, *,
                  batch_size: int | None = None) -> TraceEstimate:
    """Hutchinson's estimate of tr H: the mean of v^T H v over Rademacher probes v.

    Probe s uses ``jax.random.split(key, num_samples)[s]``, split over the leaves of
    ``params`` as in ``optax.tree.split_key_like``. Var(v^T H v) = 2 sum_{i != j} H_ij^2, so
    the error shrinks as num_samples^(-1/2); probes run one at a time (bounded memory).

    Args:
      loss_fn: ``loss_fn(params, batch)``, the mean loss over ``batch``.
      params: parameter pytree.
      data: pytree of arrays with a common leading example axis.
      key: PRNG key or seed.
      num_samples: number of probes (>= 2, for the standard error).
      batch_size: examples per chunk in each Hessian-vector product.

    Returns:
      :class:`TraceEstimate` (estimate, standard_error).

    References:
      Hutchinson, A stochastic estimator of the trace of the influence matrix, 1989.
    """
    check_positive_int("num_samples", num_samples)
    if num_samples < 2:
        raise ValueError(f"num_samples={num_samples!r} is not allowed: num_samples must be >= 2 "
                         "(the standard error needs two probes)")

    return _hutchinson(loss_fn, params, data, as_key(key), num_samples, batch_size)


@partial(jax.jit, static_argnames=("loss_fn", "num_samples", "batch_size"))
def _hutchinson(loss_fn, params, data, key, num_samples, batch_size):
    def quadratic_form(probe_key):
        probe = optax.tree.random_like(probe_key, params, jax.random.rademacher)
        hv = hessian_vector_product(loss_fn, params, data, probe, batch_size=batch_size)
        return optax.tree.vdot(probe, hv)

    samples = jax.lax.map(quadratic_form, jax.random.split(key, num_samples))
    return TraceEstimate(jnp.mean(samples), jnp.std(samples, ddof=1) / jnp.sqrt(num_samples))

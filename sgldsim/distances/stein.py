"""Kernel Stein discrepancy of particles against a measure known by its score (theory.md §10).

For a target pi with score s = grad log pi and a kernel k, the Stein kernel is

    k_0(x, y) = s(x).s(y) k + s(x).grad_y k + s(y).grad_x k + tr(grad_x grad_y k),

and KSD^2(mu, pi) = E_{x, y ~ mu iid} k_0(x, y), zero iff mu = pi for the IMQ kernel
k(x, y) = (c^2 + |x - y|^2)^b (c = 1, b = -1/2: Gorham & Mackey 2017). With r = x - y,
B = c^2 + |r|^2:

    k_0 = s(x).s(y) B^b + 2b B^(b-1) (s(y) - s(x)).r - 2 b d B^(b-1) - 4 b (b-1) B^(b-2) |r|^2.

Estimators from N particles: the V-statistic (1/N^2) sum_ij k_0(x_i, x_j) (>= 0, biased by
O(1/N)) and the U-statistic over i != j (unbiased for KSD^2, can be negative), with its standard
error (:class:`KSDInfo`). Pairs are summed in blocks of ``block_size`` rows and columns, so memory
is O(block_size^2 + N d) for any N; the time is O(N^2 d), estimated before the sum starts
(:func:`ksd_seconds`), which warns (:class:`~sgldsim._warnings.SlowComputationWarning`) when it
exceeds a minute.
:func:`ksd_difference` is the U-statistic of KSD^2(mu, pi_a) - KSD^2(mu, pi_b) from the same
particles, with a standard error that accounts for the two statistics sharing them.
The package knows the scores of its measures exactly: -beta grad u for pi_beta, -beta grad g_sigma
for pi^f and -beta grad v for pi* (:func:`gibbs_score`).

References:
  Liu, Lee & Jordan (2016), A kernelized Stein discrepancy for goodness-of-fit tests. ICML.
  Gorham & Mackey (2017), Measuring sample quality with kernels. ICML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._precision import enable_x64
from .._validation import check_choice, check_positive, check_positive_int
from .._warnings import warn_if_slow
from ._inputs import as_particles

KERNELS = ("imq",)
STATISTICS = ("v", "u")
DEFAULT_BLOCK = 1024
NULL_SWITCH = 3.0  # U above this many null standard errors: mu != pi, zeta_1 enters the stderr
PAIR_DIMS_PER_SECOND = {"cpu": 6e8, "gpu": 3e10, "tpu": 3e10}
"""Pair-coordinates (pairs x d) of the Stein kernel summed per second, float64, by JAX backend:
CPU measured on this project's 2-core machine (1.2e9 at d = 1000, 6e8 at d = 10000); an
accelerator taken as 50x faster."""
PAIRS_PER_SECOND = {"cpu": 1e7, "gpu": 5e8, "tpu": 5e8}
"""Pairs per second of the kernel's d-independent work (measured 1.1e7 at d = 10 on CPU)."""


class KSDInfo(NamedTuple):
    """Diagnostics of :func:`ksd_with_info`.

    Attributes:
      value: the KSD, sqrt(max(ksd_squared, 0)).
      ksd_squared: the V- or U-statistic of KSD^2 (a U-statistic can be negative).
      statistic: "v" or "u".
      n: particles.
      floor: sqrt(mean_i k_0(x_i, x_i) / N), k_0(x, x) = |s(x)|^2 c^(2b) - 2 b d c^(2b-2): the
        V-statistic's expected value E k_0(X, X) / N for N exact draws of the target, estimated
        at the particles (the particle floor of the V-statistic where no exact draws exist).
      ksd_squared_stderr: standard error of the U-statistic U of KSD^2 (whichever ``statistic``;
        nan for N < 4). Hoeffding: Var U = (4 (N - 2) zeta_1 + 2 zeta_2) / (N (N - 1)) with
        zeta_1 = Var E[k_0(X, Y) | X] and zeta_2 = Var k_0(X, Y), X, Y ~ mu. From the pair sums
        S = sum_{i != j} k_0, Q = sum_{i != j} k_0^2 and R = sum_i (sum_{j != i} k_0(x_i, x_j))^2,
        with (N)_m = N (N - 1) ... (N - m + 1), the unbiased estimates are::

          t = (S^2 - 4 R + 2 Q) / (N)_4   (of KSD^4),
          zeta_1 = (R - Q) / (N)_3 - t,   zeta_2 = Q / (N)_2 - t

        (the plug-in variance of the row means, R / (N (N - 1)^2) - U^2, is biased up by about
        zeta_2 / N). For mu = pi, zeta_1 = 0 (Stein's identity: E_pi k_0(x, Y) = 0) and U is
        degenerate, Var U = 2 zeta_2 / (N (N - 1)); but the estimate of zeta_1 is then noise whose
        4 (N - 2) / (N (N - 1)) multiple is as large as that variance, and it is large exactly when
        U is (both follow the same fluctuation of the particles), so it would hide a large U. The
        standard error is therefore the null one, sqrt(2 zeta_2 / (N (N - 1))), unless U exceeds
        ``NULL_SWITCH`` = 3 of these (mu != pi is then resolved), and sqrt(Var U) with
        max(zeta_1, 0) above. Where KSD^2 is of the order of the null standard error both terms
        matter and this under-reports the spread (by up to about a third for N = 300 and shifts of
        0.1-0.2 of N(0, I_d), d <= 5).
    """

    value: float
    ksd_squared: float
    statistic: str
    n: int
    floor: float
    ksd_squared_stderr: float



def _check_imq(block_size, c, exponent) -> None:
    """The IMQ kernel's parameters and the pair-block size, each error naming its value."""
    check_positive_int("block_size", block_size)
    check_positive("c", c)
    if not -1.0 < exponent < 0.0:
        raise ValueError(f"exponent={exponent!r} is not allowed: the IMQ exponent must be in "
                         "(-1, 0)")

def ksd_seconds(n: int, d: int, block_size: int = DEFAULT_BLOCK, two: bool = False) -> float:
    """Estimated seconds of :func:`ksd_with_info` (``two``: :func:`ksd_difference`, two Stein
    kernels) on N = ``n`` particles in dimension ``d``: the pair blocks i <= j it sums, each
    pair costing O(d) (:data:`PAIR_DIMS_PER_SECOND`) plus a constant (:data:`PAIRS_PER_SECOND`)
    on JAX's default backend."""
    block = min(block_size, n)
    n_blocks = -(-n // block)
    pairs = n_blocks * (n_blocks + 1) / 2 * block**2 * (1.8 if two else 1.0)
    backend = jax.default_backend()
    return pairs * (d / PAIR_DIMS_PER_SECOND.get(backend, PAIR_DIMS_PER_SECOND["gpu"])
                    + 1.0 / PAIRS_PER_SECOND.get(backend, PAIRS_PER_SECOND["gpu"]))


def _warn_if_slow(what: str, n: int, d: int, block_size: int, two: bool = False) -> None:
    warn_if_slow(ksd_seconds(n, d, block_size, two),
                 f"{what} of N = {n} particles in d = {d} ({n * n / 2:.3g} pairs x d on "
                 f"{jax.default_backend()})", "it is O(N^2 d): lower N (subsample the particles) "
                 "or d, or run it on an accelerator")


def gibbs_score(potential, beta: float) -> Callable:
    """The score of pi ∝ exp(-beta u): x -> -beta grad u(x), shape (..., d)."""
    check_positive("beta", beta)
    return lambda x: -float(beta) * potential.grad(x)


def ksd(particles, score, kernel: str = "imq", **options) -> float:
    """KSD of ``particles`` against the measure with ``score``; see :func:`ksd_with_info`."""
    return ksd_with_info(particles, score, kernel, **options).value


def ksd_with_info(particles, score, kernel: str = "imq", *, statistic: str = "v",
                  block_size: int = DEFAULT_BLOCK, c: float = 1.0,
                  exponent: float = -0.5) -> KSDInfo:
    """Kernel Stein discrepancy with the IMQ kernel (module docstring), in float64.

    Args:
      particles: (N, d) (or (N,) in 1-D).
      score: the target's score: a callable (N, d) -> (N, d), an object with ``score(x)``
        (e.g. a :class:`~sgldsim.measures.radial.RadialMeasure`), or the (N, d) array of score
        values at the particles.
      kernel: "imq".
      statistic: "v" (V-statistic, the convention of SGMCMCJax's ``imq_KSD``) or "u".
      block_size: rows and columns per block of pairs.
      c, exponent: the IMQ kernel (c^2 + |r|^2)^exponent, c > 0, exponent in (-1, 0).

    Returns:
      :class:`KSDInfo`.
    """
    check_choice("kernel", kernel, KERNELS)
    check_choice("statistic", statistic, STATISTICS)
    _check_imq(block_size, c, exponent)
    x = as_particles("particles", particles)
    n, d = x.shape
    if statistic == "u" and n < 2:
        raise ValueError(f"statistic='u' needs at least 2 particles, got N={n}")
    _warn_if_slow("ksd", n, d, block_size)
    with enable_x64(True):
        s = _score_values(score, x)
        total, off_total, rows, squares = _block_sums(
            jnp.asarray(x), jnp.asarray(s), int(block_size), float(c), float(exponent))
    squared = total / (n * n) if statistic == "v" else off_total / (n * (n - 1))
    stderr = _u_statistic_stderr(n, off_total, rows, squares)
    diagonal = np.sum(s**2, axis=1) * c ** (2 * exponent) - 2 * exponent * d * c ** (
        2 * exponent - 2)
    return KSDInfo(float(np.sqrt(max(squared, 0.0))), float(squared), statistic, n,
                   float(np.sqrt(diagonal.mean() / n)), float(stderr))


class KSDDifference(NamedTuple):
    """What :func:`ksd_difference` estimates.

    Attributes:
      difference: U_a - U_b, the U-statistic of KSD^2(mu, pi_a) - KSD^2(mu, pi_b) (the U-statistic
        of the kernel h = k_0^a - k_0^b over the same pairs).
      stderr: its standard error, sqrt(Var U) of Hoeffding's formula (:class:`KSDInfo`) for h,
        with max(zeta_1, 0): h is not a Stein kernel of one measure, so U_a - U_b is not
        degenerate at mu = pi_a or mu = pi_b, and the full variance applies.
      n: particles.
    """

    difference: float
    stderr: float
    n: int


def ksd_difference(particles, score_a, score_b, *, block_size: int = DEFAULT_BLOCK,
                   c: float = 1.0, exponent: float = -0.5) -> KSDDifference:
    """U-statistic of KSD^2(mu, pi_a) - KSD^2(mu, pi_b) from one set of particles of mu.

    The two U-statistics share the particles, so their errors are correlated (strongly when
    pi_a and pi_b are close): their difference is itself the U-statistic of the kernel
    h(x, y) = k_0^a(x, y) - k_0^b(x, y) (IMQ Stein kernels, module docstring), whose standard
    error follows from Hoeffding's formula as in :class:`KSDInfo`. Negative: mu is nearer
    pi_a than pi_b in KSD.

    Args:
      particles: (N, d) (or (N,) in 1-D), N >= 4.
      score_a, score_b: the two targets' scores (as ``score`` of :func:`ksd_with_info`).
      block_size, c, exponent: as :func:`ksd_with_info`.

    Returns:
      :class:`KSDDifference`.
    """
    _check_imq(block_size, c, exponent)
    x = as_particles("particles", particles)
    n = x.shape[0]
    if n < 4:
        raise ValueError(f"ksd_difference needs at least 4 particles, got N={n}")
    _warn_if_slow("ksd_difference", n, x.shape[1], block_size, two=True)
    with enable_x64(True):
        s_a, s_b = _score_values(score_a, x), _score_values(score_b, x)
        _, off_total, rows, squares = _block_sums(
            jnp.asarray(x), jnp.asarray(s_a), int(block_size), float(c), float(exponent),
            jnp.asarray(s_b))
    pairs = n * (n - 1)
    return KSDDifference(float(off_total / pairs),
                         _u_statistic_stderr(n, off_total, rows, squares, degenerate=False), n)


def _u_statistic_stderr(n: int, pair_sum: float, rows: np.ndarray, squares: float, *,
                        degenerate: bool = True) -> float:
    """Standard error of the U-statistic (:class:`KSDInfo`) from S = ``pair_sum``, the
    off-diagonal row sums ``rows`` and Q = ``squares``; nan for N < 4. ``degenerate``: the
    kernel is a Stein kernel (degenerate at mu = pi), so the null variance is used below
    ``NULL_SWITCH``; otherwise the full variance always."""
    if n < 4:
        return np.nan
    pairs = n * (n - 1)
    row_squares = float(rows @ rows)
    fourth = (pair_sum**2 - 4.0 * row_squares + 2.0 * squares) / (pairs * (n - 2) * (n - 3))
    zeta_1 = (row_squares - squares) / (pairs * (n - 2)) - fourth
    zeta_2 = squares / pairs - fourth
    null_variance = max(2.0 * zeta_2 / pairs, 0.0)
    if degenerate and pair_sum / pairs <= NULL_SWITCH * np.sqrt(null_variance):
        return float(np.sqrt(null_variance))
    return float(np.sqrt(null_variance + 4.0 * (n - 2) / pairs * max(zeta_1, 0.0)))


def _score_values(score, x: np.ndarray) -> np.ndarray:
    if hasattr(score, "score"):
        score = score.score
    values = score(jnp.asarray(x)) if callable(score) else score
    values = np.asarray(values, dtype=float)
    if values.shape != x.shape:
        raise ValueError(f"score has shape {values.shape} at particles of shape {x.shape}; "
                         f"allowed: {x.shape} (one score vector per particle)")
    if not np.all(np.isfinite(values)):
        raise ValueError("score is not finite at some particles; allowed: finite scores")
    return values


def _block_sums(x, s, block: int, c: float, b: float, t=None):
    """Over blocks of pairs (i <= j blocks only: k_0 is symmetric): sum_ij k_0, sum_{i != j} k_0,
    the off-diagonal row sums (N,) and sum_{i != j} k_0^2. With a second score array ``t``,
    k_0 is the difference of the Stein kernels of the scores ``s`` and ``t``
    (:func:`ksd_difference`)."""
    n, d = x.shape
    block = min(block, n)
    n_blocks = -(-n // block)
    pad = n_blocks * block - n
    mask = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(n_blocks, block)

    def padded(a):
        return jnp.concatenate([a, jnp.zeros((pad, d))]).reshape(n_blocks, block, d)

    x, s = padded(x), padded(s)
    t = s if t is None else padded(t)
    two = t is not s
    rows = np.zeros((n_blocks, block))
    total = off_total = squares = 0.0
    for i in range(n_blocks):
        for j in range(i, n_blocks):
            full, diagonal, row, col, sq = (np.asarray(v) for v in _pair_block(
                x[i], s[i], t[i], mask[i], x[j], s[j], t[j], mask[j], c, b, i == j, two))
            weight = 1.0 if i == j else 2.0
            total += weight * float(full)
            off_total += weight * float(full - diagonal)
            squares += weight * float(sq)
            rows[i] += row
            if i != j:
                rows[j] += col
    return total, off_total, rows.reshape(-1)[:n], squares


def _stein_kernel(xa, sa, xb, sb, r2, c, b):
    """k_0 (module docstring) between the rows of xa (scores sa) and xb (scores sb)."""
    d = xa.shape[1]
    base = c**2 + r2
    ss = sa @ sb.T
    # (s(y) - s(x)).(x - y) = s(y).x - s(y).y - s(x).x + s(x).y
    cross = (xa @ sb.T - jnp.sum(sb * xb, axis=1)[None, :]
             - jnp.sum(sa * xa, axis=1)[:, None] + sa @ xb.T)
    return (ss * base**b + 2.0 * b * base ** (b - 1.0) * cross - 2.0 * b * d * base ** (b - 1.0)
            - 4.0 * b * (b - 1.0) * base ** (b - 2.0) * r2)


@functools.partial(jax.jit, static_argnames=("same", "two"))
def _pair_block(xa, sa, ta, ma, xb, sb, tb, mb, c, b, same: bool, two: bool):
    """For a block of pairs (module docstring), weighted by the padding masks: sum of k_0, its
    diagonal part (``same`` block), off-diagonal row and column sums, off-diagonal sum of k_0^2.
    ``two``: k_0 of the scores s minus k_0 of the scores t."""
    sq_a, sq_b = jnp.sum(xa**2, axis=1), jnp.sum(xb**2, axis=1)
    r2 = jnp.maximum(sq_a[:, None] + sq_b[None, :] - 2.0 * xa @ xb.T, 0.0)
    k0 = _stein_kernel(xa, sa, xb, sb, r2, c, b)
    if two:
        k0 = k0 - _stein_kernel(xa, ta, xb, tb, r2, c, b)
    weights = ma[:, None] * mb[None, :]
    off = weights * (1.0 - jnp.eye(xa.shape[0])) if same else weights
    full = jnp.sum(weights * k0)
    return (full, full - jnp.sum(off * k0), jnp.sum(off * k0, axis=1), jnp.sum(off * k0, axis=0),
            jnp.sum(off * k0**2))


def ksd_noise_floor(measure, score, n_particles: int, *, key=None, n_repeats: int = 5,
                    **options) -> tuple[float, float]:
    """Mean and standard deviation of the KSD of ``n_particles`` exact draws of ``measure``
    against ``score``: the level a particle KSD cannot go below (V-statistic: about
    sqrt(E k_0(x, x) / N) for exact draws)."""
    check_positive_int("n_particles", n_particles)
    check_positive_int("n_repeats", n_repeats)
    if not hasattr(measure, "sample"):
        raise ValueError(f"ksd_noise_floor needs a measure with sample(key, n), got "
                         f"{type(measure).__name__}")
    key = jax.random.key(0) if key is None else key
    values = np.array([ksd(measure.sample(k, n_particles), score, **options)
                       for k in jax.random.split(key, n_repeats)])
    return float(values.mean()), float(values.std(ddof=1)) if n_repeats > 1 else 0.0

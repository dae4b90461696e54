"""Exact 1-D measures shared by the theory experiments and the distances between them.

The targets of docs/theory.md §2, pi^f ∝ exp(-beta g_sigma) and pi* ∝ exp(-beta v) (quadrature), the
invariant law of the discrete chain x' = x - lam u'(x + sigma eps) + sqrt(2 lam / beta) xi
(docs/theory.md §5, "Discrete chain, exactly, in 1-D"), exact 1-D Wasserstein distances between
these measures and particle clouds, and statistics of one basin of attraction.
"""

from __future__ import annotations

import numpy as np

from .._precision import float64
from ..distances import (
    QuantileFunction,
    measure_quantile,
    particle_quantile,
    wasserstein_power_1d,
)
from ..dynamics import fsgld_sampler
from ..measures import Measure1D, gibbs_1d
from ..measures.chain import chain_invariant

ORDERS = (1, 2)
CHAIN_TOL = 1e-10
"""Discretisation target of ``chain_invariant``: half the time of its default 1e-12; distances
and moments move by ~1e-8 relative (measured on the double well), far below what is resolved."""
TARGET_RESOLUTION = 300.0
"""Cells per local length of the quadrature targets: variance bias ~ 1 / (12 * 300^2) ~ 1e-6
relative (``gibbs_1d``), far below every distance resolved here, at a tenth of the default's
cells (each particle distance merges the cells' quantile levels)."""


def target_measures(potential, beta: float, sigma: float,
                    resolution: float = TARGET_RESOLUTION) -> dict[str, Measure1D]:
    """``{"pi_f": pi^f, "pi_star": pi*}``: Gibbs measures of g_sigma = E u(. + sigma Z) and of
    v = u + (sigma^2/2) u'' at inverse temperature beta (docs/theory.md §2)."""
    return {"pi_f": gibbs_1d(potential.smoothed(sigma), beta, resolution=resolution),
            "pi_star": gibbs_1d(potential.regularized(sigma), beta, resolution=resolution)}


def chain_law(potential, step_size: float, beta: float, sigma: float, tol: float = CHAIN_TOL,
              **options) -> Measure1D:
    """Invariant law of the discrete fSGLD chain (SGLD for sigma = 0) with the exact gradient, by
    :func:`sgldsim.measures.chain.chain_invariant` (``tol`` and ``options`` are passed on)."""
    return chain_invariant(potential, fsgld_sampler(step_size, beta, sigma), tol=tol, **options)


def distance(a, b, p: int) -> float:
    """W_p(a, b) in 1-D, W_p^p = int_0^1 |Q_a - Q_b|^p dq (docs/theory.md §5), for Measure1D,
    particles (N,) / (N, 1), or their :func:`quantile_function` (compute it once to compare many
    times).

    Exactly :func:`sgldsim.distances.wasserstein` for 1-D inputs.
    """
    return float(wasserstein_power_1d(quantile_function(a), quantile_function(b), p) ** (1.0 / p))


def quantile_function(x) -> QuantileFunction:
    """The quantile function of a Measure1D or of particles (a QuantileFunction is returned as
    is), so that one reference can be compared with many clouds without rebuilding it."""
    if isinstance(x, QuantileFunction):
        return x
    if isinstance(x, Measure1D):
        return measure_quantile(x)
    values = np.asarray(x, dtype=float).reshape(-1)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{np.sum(~np.isfinite(values))} particles are not finite")
    return particle_quantile(values)


def between_basin_w2(a: Measure1D, b: Measure1D, cut: float, n: int = 401) -> float:
    """The part of W2(a, b) that moves mass across ``cut`` (the boundary between two basins):

        sqrt( int_{F_lo}^{F_hi} |Q_a(q) - Q_b(q)|^2 dq ),  [F_lo, F_hi] = the cdfs at the cut,

    the levels the monotone coupling sends from one basin to the other. About d sqrt(|F_a(cut) -
    F_b(cut)|) for wells a distance d apart (docs/theory.md §6: W2 ~ distance *
    sqrt(mass mismatch)).
    Trapezoid rule on ``n`` levels.
    """
    lo, hi = sorted((a.cdf(cut), b.cdf(cut)))
    if hi <= lo:
        return 0.0
    q = np.linspace(lo, hi, n)
    return float(np.sqrt(np.trapezoid((a.quantile(q) - b.quantile(q)) ** 2, q)))


def basin_measure(measure: Measure1D, lo: float, hi: float) -> Measure1D:
    """The measure conditioned on the basin [lo, hi]: the cells whose centre lies in it."""
    centres = 0.5 * (measure.edges[:-1] + measure.edges[1:])
    inside = np.flatnonzero((centres >= lo) & (centres <= hi))
    if inside.size == 0 or measure.masses[inside].sum() <= 0:
        raise ValueError(f"the measure has no mass in the basin [{lo}, {hi}]")
    first, last = inside[0], inside[-1]
    return Measure1D(measure.edges[first:last + 2], measure.masses[first:last + 1])


@float64
def basin_minimum(potential, lo: float, hi: float) -> tuple[float, float]:
    """(location, curvature u'') of the lowest point of u on [lo, hi] (infinite ends clipped to
    +-5)."""
    m = _lowest_point(potential, max(lo, -5.0), min(hi, 5.0), 20_001)
    return m, float(potential.laplacian(np.array([[m]]))[0])


@float64
def global_minimum(potential, lo: float = -5.0, hi: float = 5.0) -> tuple[float, float]:
    """(location, value) of min u on [lo, hi]."""
    m = _lowest_point(potential, lo, hi, 200_001)
    return m, float(potential.value(np.array([[m]]))[0])


def _lowest_point(potential, lo: float, hi: float, n: int) -> float:
    """Grid scan of u on n points of [lo, hi], refined by Newton steps on u' (kept in [lo, hi]
    and only while they lower u)."""
    x = np.linspace(lo, hi, n)
    m = float(x[np.argmin(np.asarray(potential.value(x[:, None])))])
    value = lambda y: float(potential.value(np.array([[y]]))[0])
    for _ in range(20):
        curvature = float(potential.laplacian(np.array([[m]]))[0])
        if curvature <= 0:
            break
        step = float(np.clip(m - float(potential.grad(np.array([[m]]))[0, 0]) / curvature, lo, hi))
        if value(step) > value(m):
            break
        m = step
    return m


@float64
def stable_interval(potential, step_size: float, lo: float = -10.0, hi: float = 10.0,
                    n: int = 20_001) -> tuple[float, float]:
    """The interval around the global minimum of u on which the explicit step is stable,
    step_size * |u''| < 2. Beyond it a potential whose drift grows faster than linearly (the
    polynomial double well) makes the chain transient, and ``chain_invariant`` returns the
    quasi-stationary law, whose far tail (mass ~1e-10 at |x| ~ 10-60 for lam u'' near 2 in the
    wells) no simulation reaches but a fast-growing integrand (v ~ x^6) does."""
    x = np.linspace(lo, hi, n)
    i = int(np.argmin(np.asarray(potential.value(x[:, None]))))
    unstable = step_size * np.abs(np.asarray(potential.laplacian(x[:, None]))) >= 2.0
    left, right = np.flatnonzero(unstable[:i]), np.flatnonzero(unstable[i:])
    return (float(x[left[-1] + 1]) if left.size else lo,
            float(x[i + right[0] - 1]) if right.size else hi)

"""Which minimum wins: flat-basin masses, Laplace's log-odds and exit times (docs/theory.md §6).

A 1-D landscape u with a sharp minimum x_s and a flat one x_f (the flat basin is an interval
(lo, hi), e.g. :data:`sgldsim.potentials.catalogue.FLAT_BASIN`). For pi_beta ∝ exp(-beta u),
pi^f ∝ exp(-beta g_sigma) and pi* ∝ exp(-beta v), v = u + (sigma^2/2) u'' (docs/theory.md §2), the
flat-basin mass m(mu) = mu(flat basin) is computed exactly by quadrature.

Winner rule (docs/theory.md §6, "Fixed depth gap against flatness"). Laplace's method at the two
minima gives the log-odds of the flat basin under pi*,

    L = beta [(sigma^2/2) (u''(x_s) - u''(x_f)) - (u(x_f) - u(x_s))]
        + (1/2) ln(u''(x_s) / u''(x_f)),

so the flat minimum wins (m(pi*) > 1/2) iff (sigma^2/2) Delta tr > delta minus the entropic
O(1/beta) term. The picture holds while sigma is small enough that v's minima sit near u's
(:func:`minimum_shifts`; beyond, v's false wells, docs/theory.md §6).

Mixing check. The first recorded step in the flat basin is a particle's exit time. The censored
exponential MLE k = exits / steps at risk estimates the exit rate. In the two-state picture a
start in the sharp well relaxes as p_eq (1 - exp(-t / tau)) with tau = p_eq / k_committed, and
entering the flat basin (past the barrier top) commits with probability >= 1/2, so
tau <= 2 p_eq / k and the residual bias after T steps is at most p_eq exp(-T k / (2 p_eq)).
"""

from __future__ import annotations

import numpy as np

from .gibbs import gibbs_1d
from .stationary import basin_minimum

__all__ = [
    "MEASURE_NAMES",
    "SHIFT_LIMIT",
    "exit_rate",
    "first_exit_steps",
    "flat_log_odds",
    "flat_masses",
    "laplace_boundary",
    "minimum_shifts",
    "relaxation_bound",
    "sharp_flat_minima",
]

MEASURE_NAMES = ("pi_beta", "pi_f", "pi_star")
"""The measures whose flat-basin masses are compared: pi_beta (SGLD), pi^f (fSGLD), pi*."""
SHIFT_LIMIT = 0.1
"""v's minima count as moved (false wells) beyond this fraction of the minima's distance."""


def sharp_flat_minima(u, basin: tuple[float, float]) -> dict[str, float]:
    """The two minima of u and the numbers of the winner rule.

    Returns:
      ``x_sharp``, ``x_flat`` (the lowest points left of and inside ``basin``),
      ``depth_difference`` delta = u(x_f) - u(x_s), ``trace_difference``
      Delta tr = u''(x_s) - u''(x_f), ``entropic_log_odds`` (1/2) ln(u''(x_s) / u''(x_f)) and
      ``curvature_sharp`` u''(x_s).
    """
    (x_s, u2_s), (x_f, u2_f) = (basin_minimum(u, a, b) for a, b in ((-np.inf, basin[0]), basin))
    depths = np.asarray(u.value(np.array([[x_s], [x_f]])))
    return {"x_sharp": x_s, "x_flat": x_f, "depth_difference": float(depths[1] - depths[0]),
            "trace_difference": u2_s - u2_f, "entropic_log_odds": 0.5 * np.log(u2_s / u2_f),
            "curvature_sharp": u2_s}


def flat_log_odds(beta, sigma, depth_difference, trace_difference, entropic):
    """Laplace log-odds of the flat basin under pi*: beta ((sigma^2/2) Delta tr - delta) +
    (1/2) ln(u''(x_s) / u''(x_f)); delta = u(x_f) - u(x_s), Delta tr = u''(x_s) - u''(x_f)."""
    beta, sigma = np.asarray(beta, dtype=float), np.asarray(sigma, dtype=float)
    return beta * (0.5 * sigma**2 * trace_difference - depth_difference) + entropic


def laplace_boundary(beta, depth_difference, trace_difference, entropic) -> np.ndarray:
    """sigma with L = 0 (:func:`flat_log_odds`): sigma^2 = 2 (delta - entropic / beta) / Delta tr
    (nan where that is < 0)."""
    s2 = 2.0 * (depth_difference - entropic / np.asarray(beta, dtype=float)) / trace_difference
    return np.sqrt(np.where(s2 > 0, s2, np.nan))


def flat_masses(u, beta: float, sigma: float, basin) -> dict[str, float]:
    """Flat-basin masses of pi^f and pi* (exact quadrature)."""
    return {"pi_f": gibbs_1d(u.smoothed(sigma), beta).mass_of_box(*basin),
            "pi_star": gibbs_1d(u.regularized(sigma), beta).mass_of_box(*basin)}


def minimum_shifts(u, sigmas, basin, minima: tuple[float, float]) -> dict[float, float]:
    """sigma -> max over the two basins of |argmin v - argmin u|, v = u + (sigma^2/2) u''
    (grid argmin, resolution 5e-4): small while the O(sigma^2) picture of the winner rule holds,
    large where v's Laplacian term moves or deepens wells (docs/theory.md §6, false wells)."""
    lo, hi = basin
    sides = (np.linspace(lo - 5.0, lo, 10001), np.linspace(lo, min(hi, lo + 5.0), 10001))
    s2 = 0.5 * np.asarray(sorted(set(sigmas)), dtype=float)[:, None] ** 2
    shift = np.zeros(s2.shape[0])
    for x, x_u in zip(sides, minima, strict=True):
        v = np.asarray(u.value(x[:, None]))[None, :] + s2 * np.asarray(u.laplacian(x[:, None]))
        shift = np.maximum(shift, np.abs(x[np.argmin(v, axis=1)] - x_u))
    return dict(zip(sorted(set(sigmas)), shift.tolist(), strict=True))


def first_exit_steps(inside: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """(..., n_records, N) flags -> (..., N) first recorded step in the flat basin (inf if none)."""
    hit = inside.any(axis=-2)
    return np.where(hit, steps[np.argmax(inside, axis=-2)], np.inf)


def exit_rate(exit_steps: np.ndarray, horizon: int) -> float:
    """Censored exponential MLE of the exit rate per step: k = exits / steps at risk."""
    return float(np.isfinite(exit_steps).sum() / np.minimum(exit_steps, horizon).sum())


def relaxation_bound(p_eq: float, rate: float, horizon: int) -> float:
    """Upper bound p_eq exp(-T k / (2 p_eq)) on the bias left after T steps of a start in the
    sharp well (two-state picture, module docstring); p_eq where the rate is 0."""
    return float(p_eq * np.exp(-horizon * rate / (2.0 * p_eq))) if rate > 0 else float(p_eq)

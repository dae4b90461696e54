"""Fits behind the verdicts of the theory experiments: power-law exponents against a bound's, and
exponential decay rates of a transient (docs/theory.md §4: Thm 3.5 and Thm 3.8 of the fSGLD paper).

A bound y = O(x^q) is an upper bound: a measured exponent p >= q (within FIT_SE_LIMIT standard
errors) is consistent with it; a smaller one, beyond the errors, is not.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...figures.style import PowerLawFit, fit_power_law
from ...verdicts import Verdict

FIT_SE_LIMIT = 5.0
STEP_SIZE_EXPONENTS = {1: 0.5, 2: 0.25}  # Thm 3.5: W1 = O(lam^(1/2)), W2 = O(lam^(1/4))
"""Standard errors of slack allowed before a fitted exponent or rate counts as inconsistent."""
MIN_FIT_POINTS = 3


def exponent_verdict(claim: str, x, y, bound: float, floor=None,
                     what: str = "points") -> tuple[Verdict, PowerLawFit | None]:
    """Fit y ~ C x^p over the usable points and compare p with the bound's exponent q.

    Usable: finite and positive y, and y > 3 * floor where a floor (noise or quadrature level, a
    number or one per point) is given: below it y measures the floor, not the bias.

    Returns:
      (verdict, fit): "consistent" if p >= q - FIT_SE_LIMIT * se(p), "inconsistent" otherwise,
      "inconclusive" with fewer than MIN_FIT_POINTS usable points (fit is then None).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    usable = np.isfinite(y) & (y > 0)
    if floor is not None:
        usable &= y > 3.0 * np.broadcast_to(np.asarray(floor, dtype=float), y.shape)
    if usable.sum() < MIN_FIT_POINTS:
        return Verdict(claim, "inconclusive",
                       f"only {usable.sum()} of {y.size} {what} are usable (finite, positive"
                       f"{', above 3x the floor' if floor is not None else ''}); "
                       f"a fit needs {MIN_FIT_POINTS}"), None
    fit = fit_power_law(x[usable], y[usable])
    ok = fit.exponent >= bound - FIT_SE_LIMIT * fit.stderr
    return Verdict(claim, "consistent" if ok else "inconsistent",
                   f"measured exponent {fit.exponent:.3f} +- {fit.stderr:.3f} over {usable.sum()} "
                   f"{what} vs the bound's {bound:g} (ratio {fit.exponent / bound:.3g})"), fit


class RateFit(NamedTuple):
    """|y| ≈ D exp(-rate t) on the transient window [t_start, t_end] (``n`` points)."""

    rate: float
    stderr: float
    prefactor: float
    n: int
    t_start: float
    t_end: float


def transient_window(y, floor: float, factor: float = 3.0) -> np.ndarray:
    """Indices of the last exponential transient of a series y_0, y_1, ... relaxing to 0.

    The transient is the last run of at least MIN_FIT_POINTS consecutive points with |y| above
    ``factor * floor`` and one sign (a relaxation may overshoot: the excess risk first falls
    from above, then returns from below on the slow, barrier-crossing time scale), cut to start
    at its first point at or below half its largest |y|: the turnaround, or the initial
    ballistic phase where the law still moves as a block, is not exponential.
    """
    y = np.asarray(y, dtype=float)
    above = np.abs(y) > factor * floor
    run_id = np.cumsum(np.concatenate([[1], (np.diff(np.sign(y)) != 0) | ~above[1:]
                                       | ~above[:-1]]))
    runs = [np.flatnonzero((run_id == r) & above) for r in np.unique(run_id[above])]
    runs = [r for r in runs if r.size >= MIN_FIT_POINTS]
    if not runs:
        return np.arange(0)
    run = runs[-1]
    peak = run[int(np.argmax(np.abs(y[run])))]
    start = np.flatnonzero((run >= peak) & (np.abs(y[run]) <= 0.5 * abs(y[peak])))
    return run[start[0]:] if start.size else np.arange(0)


def exponential_rate(t, y, floor: float) -> RateFit | None:
    """Least-squares fit of log |y| = log D - rate t over :func:`transient_window`; None when
    the window has fewer than MIN_FIT_POINTS points. The rate's standard error is OLS's."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    window = transient_window(y, floor)
    if window.size < MIN_FIT_POINTS:
        return None
    tw, log_y = t[window], np.log(np.abs(y[window]))
    centred = tw - tw.mean()
    slope = float(centred @ (log_y - log_y.mean()) / (centred @ centred))
    residuals = log_y - log_y.mean() - slope * centred
    dof = window.size - 2
    stderr = float(np.sqrt(residuals @ residuals / dof / (centred @ centred))) if dof else np.nan
    return RateFit(-slope, stderr, float(np.exp(log_y.mean() - slope * tw.mean())), window.size,
                   float(tw[0]), float(tw[-1]))


def decay_rate_verdict(claim: str, step_sizes, rates, stderrs, n_points) -> Verdict:
    """Verdict on "the transient decays exponentially in lam k, at a rate c common to all step
    sizes" from one fitted rate per step size (nan: no transient window).

    Consistent if every rate exceeds FIT_SE_LIMIT standard errors (then c_min = the slowest is a
    common rate); inconsistent if one is below -FIT_SE_LIMIT standard errors (growth);
    inconclusive otherwise (a window missing, or a rate not resolved from 0).
    """
    lam, c, se = (np.asarray(v, dtype=float) for v in (step_sizes, rates, stderrs))
    listed = ", ".join(f"lam={a:g}: {b:.3f} +- {e:.3f} ({int(n)} records)"
                       for a, b, e, n in zip(lam, c, se, n_points, strict=True))
    if np.isnan(c).any():
        return Verdict(claim, "inconclusive", f"no transient of >= {MIN_FIT_POINTS} records "
                       f"above 3x the floor for lam in {lam[np.isnan(c)].tolist()} ({listed})")
    decaying, growing = c > FIT_SE_LIMIT * se, c < -FIT_SE_LIMIT * se
    slowest = int(np.argmin(c))
    trend = ("grow" if len(c) > 2 and np.corrcoef(np.log(lam), c)[0, 1] > 0.5 else
             "do not grow")
    reason = (f"fitted c in lam k units: {listed}; {int(decaying.sum())} of {len(c)} exceed "
              f"{FIT_SE_LIMIT:g} SE; common rate c_min = {c[slowest]:.3f} (at "
              f"lam={lam[slowest]:g}); the rates {trend} with lam (larger steps add heat, which "
              "speeds up the barrier crossings)")
    verdict = ("consistent" if decaying.all() else "inconsistent" if growing.any() else
               "inconclusive")
    return Verdict(claim, verdict, reason)


def settling_verdict(claim: str, z, transient_left, tolerance, detail: str) -> Verdict:
    """Verdict on "the particles settle on the stationary level" from one z-score per cell.

    ``z``: (late value - stationary level) / its standard error; ``transient_left``: what the
    fitted exponential transient still predicts at the compared records (nan: no transient
    was fitted, i.e. none stood above the floor); ``tolerance``: FIT_SE_LIMIT standard errors
    in the units of ``transient_left``. Consistent if every |z| <= FIT_SE_LIMIT. A cell beyond
    it whose fitted transient has not yet decayed below the tolerance only shows that the run
    is too short: if all such cells are short, the verdict is "inconclusive"; otherwise
    "inconsistent".
    """
    z, left = np.asarray(z, dtype=float), np.asarray(transient_left, dtype=float)
    tol = np.broadcast_to(np.asarray(tolerance, dtype=float), z.shape)
    failing = np.abs(z) > FIT_SE_LIMIT
    if not failing.any():
        return Verdict(claim, "consistent", detail)
    short = failing & (left > tol)
    if short[failing].all():
        return Verdict(claim, "inconclusive",
                       f"the runs stop before the transient has decayed (fitted transient "
                       f"still {np.nanmax(left[short]):.3g} against a tolerance of "
                       f"{np.nanmin(tol[short]):.3g} in {int(short.sum())} of {int(failing.sum())} "
                       f"cells beyond {FIT_SE_LIMIT:g} SE; more steps needed): {detail}")
    return Verdict(claim, "inconsistent", detail)

"""Exponential decay of a transient to its floor (:func:`exponential_decay`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import (
    FLOOR_FACTOR,
    Verdict,
    _check_level,
    _least_squares,
    _per_point,
    _quantile,
    _vector,
)


class ExponentialDecay(NamedTuple):
    """What :func:`exponential_decay` concludes and fits.

    Attributes:
      verdict: the :class:`Verdict`.
      rate: r in y - floor ~ D exp(-r t), fitted over the window (nan when no fit ran).
      rate_stderr: its standard error.
      curvature: c in log(y - floor) ~ a - r t + c (t - t_mid)^2 (0 for an exponential; > 0 for
        a slower-than-exponential decay such as a power law or 1 / log t).
      curvature_stderr: its standard error.
      n: points in the window.
      t_start: first time of the window (nan when empty).
      t_end: last time of the window (nan when empty).
    """

    verdict: Verdict
    rate: float
    rate_stderr: float
    curvature: float
    curvature_stderr: float
    n: int
    t_start: float
    t_end: float


def exponential_decay(t, y, *, floor: float, y_stderr=None, start: float | None = None,
                      level: float = 0.01, resolve: float = FLOOR_FACTOR, min_points: int = 6,
                      claim: str | None = None) -> ExponentialDecay:
    """Test "y decays exponentially to the floor": y(t) - floor = D exp(-r t), r > 0.

    The window is fixed by time, not by the values' shape: it runs from ``start`` (default
    ``t[0]``) to the last point before the excess y - floor first fails to stand ``resolve``
    standard errors above 0, as predicted by an exponential fitted to the points up to the
    first that fails it (without ``y_stderr``: to the last point before the first non-positive
    excess). Rises, plateaus and growth inside it stay in the fit; nothing selects a falling
    segment. Over the window,
    log(y - floor) is fitted twice by weighted least squares (weights from the delta-method
    standard errors y_stderr / (y - floor), evaluated at the fitted curve):

      log(y - floor) = a - r t                      (the rate r and its standard error),
      log(y - floor) = a' - r' t + c (t - t_mid)^2  (the curvature c and its standard error).

    An exponential is a straight line (c = 0). A power law t^(-p) has curvature p / t^2 > 0 and
    1 / log t has (1 + log t) / (t log t)^2 > 0: slower-than-exponential decays are convex.
    Growth has r < 0. A concave log(y - floor) (faster than exponential) is no contradiction:
    the theorems bound the transient from above by D exp(-r t).

    Null hypothesis: y - floor = D exp(-r t) on the window with r > 0, independent errors
    (Gaussian on the log scale; ``y_stderr``, when given, is each point's standard error;
    otherwise the log-scale errors are equal and estimated from the residuals).

    Threshold: "inconsistent" when c > k se(c) (convex: sub-exponential) or r < -k se(r)
    (growth), with k the 1 - level/2 quantile of the normal (known errors) or of Student's t with
    n - 3 or n - 2 degrees of freedom (estimated errors): the two one-sided tests at level/2 each
    give a false-alarm rate of at most ``level`` (default 0.01: an "inconsistent" contradicts a
    theorem of the paper, so false alarms are kept rare). "consistent" when r > k se(r) and
    not inconsistent; "inconclusive" when neither, or with fewer than ``min_points`` points in
    the window (the curvature fit needs at least 3 residual degrees of freedom).

    Power: for n points evenly spread over a window of length L with log-scale error s,
    se(c) ~ s sqrt(180 / n) / L^2; a curvature c is detected with probability 0.9 once
    c >= (k + 1.28) se(c). Example: t^(-1/2) sampled at t = 1, ..., 50 with known 3 % errors
    (s = 0.03) has log-slope changing from -0.5 to -0.01 over the window and is rejected
    essentially always; the same law on t = 100, ..., 150 is nearly straight and is rejected
    only a few times in a hundred.
    A decay whose sub-exponential part lies outside the window cannot be seen.

    Args:
      t: times, strictly increasing (1-D).
      y: values at those times.
      floor: the level y decays to (a number, or one per point).
      y_stderr: standard error of each y (a number or one per point); None: unknown.
      start: the first time of the window (e.g. the end of a ballistic phase, chosen from the
        design, never from the values); default ``t[0]``.
      level: the false-alarm rate of "inconsistent".
      resolve: how many standard errors above the floor a point's excess must be to stay in the
        window (default 3: the log-scale error is then at most 1/3).
      min_points: the fewest points in the window that allow a verdict.
      claim: the claim's text; default "y decays exponentially to the floor".

    Returns:
      An :class:`ExponentialDecay`: the verdict, the rate and its standard error, the curvature
      and its standard error, and the window.

    References:
      docs/theory.md §4 (Thm 3.5's transient D1 exp(-c lam k / 2); Thm 3.8's
      D1' exp(-c lam k / 4)).
    """
    claim = "y decays exponentially to the floor" if claim is None else claim
    _check_level(level)
    if min_points < 6:
        raise ValueError(f"min_points={min_points} is not allowed: the curvature fit needs at "
                         "least 6 points (3 residual degrees of freedom)")
    t = _vector("t", t)
    y = _vector("y", y, t.size)
    if not (np.all(np.isfinite(t)) and np.all(np.diff(t) > 0)):
        raise ValueError("t must be finite and strictly increasing")
    excess = y - _per_point("floor", floor, t.size)
    se = None if y_stderr is None else _per_point("y_stderr", y_stderr, t.size)
    if se is not None and not np.all(np.isfinite(se) & (se > 0)):
        raise ValueError("y_stderr must be positive and finite")

    first = 0 if start is None else int(np.searchsorted(t, start))

    def leading_run(kept: np.ndarray) -> int:  # the end of the run of kept points from `first`
        lost = np.flatnonzero(~kept[first:])
        return first + (int(lost[0]) if lost.size else t.size - first)

    positive = np.isfinite(excess) & (excess > 0)
    stop = leading_run(positive if se is None else positive & (excess > resolve * se))
    if se is not None and stop - first >= 3:
        # End the window where the fitted exponential, not each point, sinks to `resolve` SE:
        # points kept because their own noise lifted them over the threshold flatten the tail
        # and fake convexity (at level 0.01: 1.25 % false alarms instead of 0.4 % on 4000
        # simulated exponentials with additive noise).
        head = np.arange(first, stop)
        design = np.stack([np.ones(head.size), t[head] - t[first]], axis=1)
        coef, _, _ = _least_squares(design, np.log(excess[head]), se[head] / excess[head])
        predicted = np.exp(coef[0] + coef[1] * (t - t[first]))
        stop = leading_run(positive & (predicted > resolve * se))
    window = np.arange(first, stop)
    n = window.size
    if n < min_points:
        edge = "positive" if se is None else f"{resolve:g} standard errors above the floor"
        return ExponentialDecay(Verdict(claim, "inconclusive", (
            f"only {n} points from t = {t[first] if first < t.size else np.nan:.4g} on stand "
            f"{edge} before the first that does not; the fit needs {min_points}")),
            np.nan, np.nan, np.nan, np.nan, n, np.nan, np.nan)

    tw, log_excess = t[window], np.log(excess[window])
    centre, half = 0.5 * (tw[0] + tw[-1]), 0.5 * (tw[-1] - tw[0])
    s = (tw - centre) / half
    quadratic = np.stack([np.ones(n), s, s**2], axis=1)
    linear = quadratic[:, :2]
    sigma = None
    if se is not None:
        sigma = se[window] / excess[window]
        coef, _, _ = _least_squares(quadratic, log_excess, sigma)
        sigma = se[window] / np.exp(quadratic @ coef)  # errors at the fitted curve, not the data
    coef_q, cov_q, dof_q = _least_squares(quadratic, log_excess, sigma)
    coef_l, cov_l, dof_l = _least_squares(linear, log_excess, sigma)
    known = se is not None
    rate, rate_se = float(-coef_l[1] / half), float(np.sqrt(cov_l[1, 1]) / half)
    curvature = float(coef_q[2] / half**2)
    curvature_se = float(np.sqrt(cov_q[2, 2]) / half**2)
    k_curve = _quantile(1 - level / 2, dof_q, known)
    k_rate = _quantile(1 - level / 2, dof_l, known)
    z_curve, z_rate = curvature / curvature_se, rate / rate_se

    if z_curve > k_curve:
        verdict = "inconsistent"
        why = "log(y - floor) is convex in t: slower than exponential"
    elif z_rate < -k_rate:
        verdict = "inconsistent"
        why = "y - floor grows"
    elif z_rate > k_rate:
        verdict = "consistent"
        why = "a resolved decay with no significant convexity"
    else:
        verdict = "inconclusive"
        why = "the rate is not resolved from 0"
    errors = "given standard errors" if known else "errors estimated from the residuals"
    reason = (f"{why}: rate {rate:.4g} +- {rate_se:.2g} (z = {z_rate:.2f}), curvature of "
              f"log(y - floor) {curvature:.3g} +- {curvature_se:.2g} (z = {z_curve:.2f}) over "
              f"{n} points, t in [{tw[0]:.4g}, {tw[-1]:.4g}] ({errors}); threshold "
              f"|z| > {k_curve:.2f} (level {level:g})")
    return ExponentialDecay(Verdict(claim, verdict, reason), float(rate), rate_se,
                            float(curvature), curvature_se, n, float(tw[0]), float(tw[-1]))

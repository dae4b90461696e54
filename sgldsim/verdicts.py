"""Verdicts: does simulated data agree with a claim? One function per kind of claim.

Every function states its null hypothesis (what "the claim holds" means for the data), its
threshold (a default level) and its power, and returns a :class:`Verdict` with the numbers that
decided it, next to the fitted quantities:

- :func:`exponential_decay`: "y decays exponentially to the floor" (the transients of Thm 3.5
  and Thm 3.8 of the fSGLD paper, docs/theory.md §4);
- :func:`power_law_bound`: "y = O(x^q)" as x -> 0 or x -> infinity (Thm 3.5: W1 = O(lam^(1/2)),
  W2 = O(lam^(1/4)); Thm 3.8; Prop. 3.4; docs/theory.md §4);
- :func:`paired_comparison`: "method a beats method b" from paired runs, with a between-unit
  (random-effects) standard error when the runs come from several test domains, tasks or cells;
- :func:`matches_reference`: "each measured value equals its exact reference" (a simulation
  against a closed form or an exact law, cell by cell).
- :func:`z_test`: the sign of (or agreement with 0 of) one or more estimates that come with
  their own standard errors (a binomial proportion, a U-statistic), with a Bonferroni level.

A verdict is one of :data:`VERDICTS`:

- "consistent": the data agree with the claim and could have shown a violation of the stated
  size;
- "inconsistent": the data contradict the claim beyond the stated level (a false alarm on data
  that satisfy the claim happens at most at that rate);
- "inconclusive": the data are too noisy, too few, or outside the regime the claim speaks about;
- "untestable": the design could not have violated the claim whatever the truth; the reason says
  why (e.g. the largest exponent the data's range can show).

Only NumPy and SciPy are used: verdicts run on summaries, never inside a simulation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

__all__ = [
    "VERDICTS",
    "Verdict",
    "ExponentialDecay",
    "PowerLawBound",
    "PairedComparison",
    "ReferenceMatch",
    "exponential_decay",
    "power_law_bound",
    "paired_comparison",
    "matches_reference",
    "ZTest",
    "z_test",
]

VERDICTS = ("consistent", "inconsistent", "inconclusive", "untestable")
"""The verdicts a claim can get, in this order in tables and legends."""

FLOOR_FACTOR = 3.0
"""A value at or below this many times its floor measures the floor, not the quantity."""


class Verdict(NamedTuple):
    """A claim, whether the data are consistent with it (one of :data:`VERDICTS`), and why
    (numbers that ran)."""

    claim: str
    verdict: str
    reason: str


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


class PowerLawBound(NamedTuple):
    """What :func:`power_law_bound` concludes and fits.

    Attributes:
      verdict: the :class:`Verdict`.
      exponent: p in y ~ C x^p, fitted over the usable points (nan when no fit ran).
      stderr: its standard error.
      prefactor: C.
      n_used: points used (finite, positive, above ``FLOOR_FACTOR`` times the floor).
      n_total: points given.
    """

    verdict: Verdict
    exponent: float
    stderr: float
    prefactor: float
    n_used: int
    n_total: int


class PairedComparison(NamedTuple):
    """What :func:`paired_comparison` concludes and estimates.

    Attributes:
      verdict: the :class:`Verdict`.
      mean: the mean paired difference a - b (with units: the mean of the per-unit means).
      stderr: its standard error.
      interval: the two-sided (1 - level) confidence interval ``(low, high)`` for the true mean
        difference, mean -+ t_{1-level/2, dof} stderr.
      dof: the degrees of freedom of the t quantile (pairs - 1, or units - 1).
      n_pairs: pairs used (both values finite).
      n_units: units those pairs come from (``n_pairs`` without units).
    """

    verdict: Verdict
    mean: float
    stderr: float
    interval: tuple[float, float]
    dof: int
    n_pairs: int
    n_units: int


class ReferenceMatch(NamedTuple):
    """What :func:`matches_reference` concludes and computes.

    Attributes:
      verdict: the :class:`Verdict`.
      z: (value - reference) / stderr per value (nan where any of the three is not finite).
      threshold: the |z| (or z, one-sided) beyond which a value contradicts the claim.
      worst: index of the value with the largest |z| (or z, one-sided); -1 when none is finite.
      n: values compared (all three finite, stderr > 0).
    """

    verdict: Verdict
    z: np.ndarray
    threshold: float
    worst: int
    n: int


def _vector(name: str, values, size: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or (size is not None and array.size != size):
        shape = "a 1-D array" + (f" of length {size}" if size is not None else "")
        raise ValueError(f"{name} has shape {array.shape}; {shape} is required")
    return array


def _per_point(name: str, values, size: int) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    try:
        return np.broadcast_to(array, (size,)).astype(float)
    except ValueError:
        raise ValueError(f"{name} has shape {array.shape}; a number or one value per point "
                         f"({size}) is required") from None


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level} is not allowed: it must lie strictly between 0 and 1")


def _least_squares(design: np.ndarray, z: np.ndarray, sigma: np.ndarray | None):
    """Weighted least squares of z on the columns of ``design``.

    With known standard deviations ``sigma`` of z the covariance is (X' W X)^-1, inflated by
    chi^2 / dof when the scatter exceeds them (the Particle Data Group's scale factor, so a
    misfit widens the errors rather than sharpening the verdict); without, it is OLS's
    s^2 (X'X)^-1.

    Returns:
      ``(coefficients, covariance, dof)``.
    """
    weights = np.ones_like(z) if sigma is None else 1.0 / sigma
    xw, zw = design * weights[:, None], z * weights
    coef, *_ = np.linalg.lstsq(xw, zw, rcond=None)
    residual = zw - xw @ coef
    dof = z.size - design.shape[1]
    chi2_per_dof = float(residual @ residual / dof)
    scale = chi2_per_dof if sigma is None else max(1.0, chi2_per_dof)
    return coef, np.linalg.inv(xw.T @ xw) * scale, dof


def _quantile(p: float, dof: int, known_errors: bool) -> float:
    """The p quantile of the fitted coefficient's z-score: normal with known errors, Student's t
    with ``dof`` degrees of freedom with errors estimated from the residuals."""
    return float(stats.norm.ppf(p) if known_errors else stats.t.ppf(p, dof))


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


def power_law_bound(x, y, exponent: float, *, limit: str, floor=None, y_stderr=None,
                    level: float = 0.01, resolution: float | None = None,
                    min_attainable_exponent: float | None = None,
                    max_attainable_exponent: float | None = None, min_points: int = 3,
                    claim: str | None = None) -> PowerLawBound:
    """Test the upper bound "y = O(x^q)" (q = ``exponent``) as x -> 0 or x -> infinity.

    The constant of the bound is unknown, so only rates are compared (docs/theory.md §4, "What
    consistent means for an upper bound"): y ~ C x^p is fitted by (weighted) least squares of
    log y on log x over the usable points, and the measured exponent p is compared with q. As
    x -> 0 the bound holds when p >= q (y falls at least as fast); as x -> infinity when p <= q
    (y grows at most as fast). A loose bound (p far on the right side) is no contradiction.

    Usable points: x > 0, y finite and positive, and y > 3 * floor when a floor (a noise or
    quadrature level, a number or one per point) is given: below it y measures the floor.

    Null hypothesis: log y = log C + p log x + independent errors on the usable points, with
    p on the bound's side of q (the worst case, p = q, sets the threshold). With ``y_stderr``
    the log-scale errors are y_stderr / y, evaluated at the fitted line; without, equal and
    estimated from the residuals.

    Threshold (one-sided, default level 0.01): with d = p - q as x -> 0 and d = q - p as
    x -> infinity (d >= 0: the right side), and k the 1 - level quantile of the normal (known
    errors) or of Student's t with n - 2 degrees of freedom (errors from the residuals):

    - "untestable" when the design cannot produce a violating exponent: as x -> 0 when
      ``min_attainable_exponent`` >= q, as x -> infinity when ``max_attainable_exponent`` <= q.
      These are the caller's statement of the exponents the data's range allows; e.g. a
      quantity that cannot exceed a ceiling and is only resolved above 3 * floor can change
      by at most a factor ceiling / (3 floor) across x, so |p| <= log(ceiling / (3 floor)) /
      log(x_max / x_min), which bounds both attainable exponents.
    - "inconclusive" with fewer than ``min_points`` usable points;
    - "inconsistent" when d < -k se(p): clearly on the wrong side (false-alarm rate <= level:
      a false "inconsistent" would claim a theorem is wrong, so it is kept rare);
    - "consistent" when d - k se(p) >= -resolution: the data exclude, at the same level, a
      violation as large as ``resolution``;
    - "inconclusive" otherwise: the standard error is too large to tell.

    Power: a violation of size delta (|p - q| on the wrong side) is called "inconsistent" with
    probability 0.9 when delta >= (k + 1.28) se(p); for n points evenly spread over R decades
    of x with log-scale error s, se(p) ~ s sqrt(12 / n) / (R ln 10). Example: 6 points over 2
    decades with known 5 % errors give se(p) ~ 0.015, so a W2 exponent of 0.19 against Thm
    3.5's 1/4 is caught with probability about 0.9; with errors estimated from the residuals
    (4 degrees of freedom: k = 3.75, and t's 0.9 quantile 1.53 for 1.28) it takes 0.17. A fit
    with few points is dominated by the t quantile (n = 3: k = 31.8).

    Args:
      x: the variable whose limit the bound is about (e.g. the step size lam), positive.
      y: the bounded quantity (e.g. W2 to the target).
      exponent: the bound's exponent q.
      limit: "zero" (x -> 0) or "infinity" (x -> infinity).
      floor: the noise or quadrature level of y (a number or one per point); None: none.
      y_stderr: standard error of each y (a number or one per point); None: unknown.
      level: the false-alarm rate of "inconsistent".
      resolution: the smallest violation, in exponent units, that "consistent" must exclude;
        default |q| (q's full size: for W1 = O(lam^(1/2)) as lam -> 0, an exponent of 0, i.e.
        no decay at all), or 1 when q = 0.
      min_attainable_exponent: the smallest exponent the design can show (None: -inf).
      max_attainable_exponent: the largest exponent the design can show (None: +inf).
      min_points: the fewest usable points that allow a verdict (at least 3).
      claim: the claim's text; default "y = O(x^q) as x -> 0" (or infinity).

    Returns:
      A :class:`PowerLawBound`: the verdict, the fitted exponent, its standard error and
      prefactor, and how many points were used.

    References:
      docs/theory.md §4: Thm 3.5 (W1 = O(lam^(1/2)), W2 = O(lam^(1/4)) as lam -> 0), Thm 3.8
      (excess risk O(lam^(1/4))), Prop. 3.4 (the beta -> infinity rates of the coupling).
    """
    if limit not in ("zero", "infinity"):
        raise ValueError(f"limit={limit!r} is not allowed; allowed: 'zero', 'infinity'")
    _check_level(level)
    if min_points < 3:
        raise ValueError(f"min_points={min_points} is not allowed: a fit with a standard error "
                         "needs at least 3 points")
    q = float(exponent)
    arrow = "0" if limit == "zero" else "infinity"
    claim = f"y = O(x^{q:g}) as x -> {arrow}" if claim is None else claim
    resolution = (abs(q) if q != 0 else 1.0) if resolution is None else float(resolution)
    if not resolution > 0:
        raise ValueError(f"resolution={resolution} is not allowed: it must be positive")
    x = _vector("x", x)
    y = _vector("y", y, x.size)
    se = None if y_stderr is None else _per_point("y_stderr", y_stderr, x.size)
    usable = np.isfinite(x) & (x > 0) & np.isfinite(y) & (y > 0)
    if floor is not None:
        usable &= y > FLOOR_FACTOR * _per_point("floor", floor, x.size)
    if se is not None:
        usable &= np.isfinite(se) & (se > 0)
    n = int(usable.sum())
    used = (f"{n} of {x.size} points used (finite, positive"
            f"{f', above {FLOOR_FACTOR:g}x the floor' if floor is not None else ''})")

    exponent_fit = stderr = prefactor = np.nan
    fitted = ""
    if n >= min_points and np.ptp(np.log(x[usable])) > 0:
        log_x, log_y = np.log(x[usable]), np.log(y[usable])
        design = np.stack([np.ones(n), log_x - log_x.mean()], axis=1)
        sigma = None
        if se is not None:
            coef, _, _ = _least_squares(design, log_y, se[usable] / y[usable])
            sigma = se[usable] / np.exp(design @ coef)  # errors at the fitted line
        coef, cov, dof = _least_squares(design, log_y, sigma)
        exponent_fit, stderr = float(coef[1]), float(np.sqrt(cov[1, 1]))
        prefactor = float(np.exp(coef[0] - coef[1] * log_x.mean()))
        k = _quantile(1 - level, dof, se is not None)
        fitted = f"measured exponent {exponent_fit:.3f} +- {stderr:.3f} vs the bound's {q:g}"

    if limit == "zero" and min_attainable_exponent is not None and min_attainable_exponent >= q:
        verdict, why = "untestable", (
            f"the design cannot show an exponent below {min_attainable_exponent:.3g} >= {q:g}, "
            "so no violation could be seen")
    elif (limit == "infinity" and max_attainable_exponent is not None
          and max_attainable_exponent <= q):
        verdict, why = "untestable", (
            f"the design cannot show an exponent above {max_attainable_exponent:.3g} <= {q:g}, "
            "so no violation could be seen")
    elif not fitted:
        verdict, why = "inconclusive", f"a fit needs {min_points} usable points at distinct x"
    else:
        d = exponent_fit - q if limit == "zero" else q - exponent_fit
        side = ">=" if limit == "zero" else "<="
        if d < -k * stderr:
            verdict, why = "inconsistent", (
                f"the exponent is beyond {k:.2f} SE on the wrong side (the bound needs {side} "
                f"{q:g}; level {level:g}, one-sided)")
        elif d - k * stderr >= -resolution:
            verdict, why = "consistent", (
                f"a violation of {resolution:g} or more is excluded at {k:.2f} SE (level "
                f"{level:g})")
        else:
            verdict, why = "inconclusive", (
                f"{k:.2f} SE = {k * stderr:.3g} cannot exclude a violation of {resolution:g}")
    reason = "; ".join(part for part in (fitted, used, why) if part)
    return PowerLawBound(Verdict(claim, verdict, reason), exponent_fit, stderr, prefactor, n,
                         x.size)


def paired_comparison(a, b, *, units=None, direction: str = "a > b", level: float = 0.05,
                      margin: float | None = None, claim: str | None = None
                      ) -> PairedComparison:
    """Compare paired measurements a_i, b_i (same seed, split or cell) through d_i = a_i - b_i.

    Without units the pairs are independent: mean d-bar, standard error s_d / sqrt(n), n - 1
    degrees of freedom. With units (test domains, tasks, settings, ...) pairs of one unit share
    that unit's effect, so the pairs are not independent: the estimate is the mean of the K
    per-unit means, its standard error their standard deviation over sqrt(K), with K - 1 degrees
    of freedom (random effects between units; this SE covers the within-unit noise too). The
    interval is mean -+ t_{1 - level/2, dof} SE (Student's t quantiles: with 3 units the
    normal's 1.96 would cover about 81 % instead of 95 %). For log ratios pass log a and log b.

    Null hypothesis: the differences (or unit means) are independent draws, approximately
    normal, with mean delta; the claim speaks about the sign of delta.

    Threshold (default level 0.05, two-sided interval; the experiments' 2-SE convention):

    - ``direction="a > b"``: "consistent" when the interval lies above 0, "inconsistent" when
      it lies below 0, "inconclusive" when it contains 0. The false-alarm rate ("inconsistent" while
      delta >= 0) is at most level / 2. A non-inferiority claim ("a matches or beats b") holds
      unless the verdict is "inconsistent".
    - ``direction="a < b"``: the mirror image.
    - ``direction="a != b"``: "consistent" when the interval excludes 0; "inconsistent" only with a
      ``margin`` and an interval inside (-margin, margin) (an equivalence test, false-alarm rate
      <= level / 2 when |delta| >= margin); "inconclusive" otherwise.

    Power: a true difference delta is declared with probability about 0.8 when |delta| >=
    (t_{1-level/2, dof} + t_{0.8, dof}) SE: 2.8 SE for many degrees of freedom, 3.7 SE for 5
    units, 5.4 SE for 3 units.

    Args:
      a: the first method's values (1-D), e.g. accuracies or log errors.
      b: the second method's values, paired with ``a`` by position.
      units: the unit of each pair (any hashable labels, one per pair); None: pairs independent.
      direction: the claimed direction: "a > b", "a < b" or "a != b".
      level: one minus the interval's coverage.
      margin: the equivalence margin for ``direction="a != b"``; None: no equivalence test.
      claim: the claim's text; default ``direction``.

    Returns:
      A :class:`PairedComparison`: the verdict, mean difference, its standard error, the
      interval, the degrees of freedom and the numbers of pairs and units used. Pairs with a
      non-finite value are dropped; fewer than 2 pairs (or 2 units) give "inconclusive" with
      nan estimates.

    References:
      docs/theory.md §7 (neural-network checks), §8 (DGSAM), §9 (DCGD): the paired claims of
      the networks' experiments. Student's t for small samples; the between-unit SE is the
      standard random-effects summary of a one-way layout (e.g. Cochran, Sampling Techniques,
      1977, two-stage sampling).
    """
    if direction not in ("a > b", "a < b", "a != b"):
        raise ValueError(f"direction={direction!r} is not allowed; allowed: 'a > b', 'a < b', "
                         "'a != b'")
    _check_level(level)
    if margin is not None and not (margin > 0 and direction == "a != b"):
        raise ValueError(f"margin={margin} is not allowed: a margin must be positive and goes "
                         "with direction='a != b' only")
    claim = direction if claim is None else claim
    a = _vector("a", a)
    b = _vector("b", b, a.size)
    keep = np.isfinite(a) & np.isfinite(b)
    diff = a[keep] - b[keep]
    n_pairs = diff.size
    if units is None:
        groups = diff
        unit_text = f"{n_pairs} independent pairs"
    else:
        labels = np.asarray(units, dtype=object)
        if labels.shape != a.shape:
            raise ValueError(f"units has shape {labels.shape}; one label per pair {a.shape} is "
                             "required")
        _, index = np.unique(labels[keep].astype(str), return_inverse=True)
        groups = np.bincount(index, weights=diff) / np.bincount(index) if n_pairs else diff
        unit_text = f"{n_pairs} pairs in {groups.size} units (SE between unit means)"
    k = groups.size
    dropped = f", {int((~keep).sum())} pairs with a non-finite value dropped" if (
        ~keep).any() else ""
    if k < 2:
        return PairedComparison(Verdict(claim, "inconclusive",
                                        f"only {unit_text}{dropped}; the SE needs 2"),
                                np.nan, np.nan, (np.nan, np.nan), 0, n_pairs, k)
    mean = float(groups.mean())
    stderr = float(groups.std(ddof=1) / np.sqrt(k))
    dof = k - 1
    half = float(stats.t.ppf(1 - level / 2, dof)) * stderr
    low, high = mean - half, mean + half
    if direction == "a != b":
        if low > 0 or high < 0:
            verdict = "consistent"
        elif margin is not None and -margin < low and high < margin:
            verdict = "inconsistent"
        else:
            verdict = "inconclusive"
    else:
        right, wrong = (low > 0, high < 0) if direction == "a > b" else (high < 0, low > 0)
        verdict = "consistent" if right else "inconsistent" if wrong else "inconclusive"
    reason = (f"a - b = {mean:+.4g} +- {stderr:.2g} (SE), {100 * (1 - level):g} % interval "
              f"[{low:+.4g}, {high:+.4g}] with t quantiles ({dof} dof) over {unit_text}"
              f"{dropped}" + (f"; equivalence margin {margin:g}" if margin is not None else ""))
    return PairedComparison(Verdict(claim, verdict, reason), mean, stderr, (low, high), dof,
                            n_pairs, k)


def matches_reference(values, reference, stderr, *, side: str = "two-sided",
                      level: float = 0.01, claim: str | None = None) -> ReferenceMatch:
    """Test "each value equals its reference" (one comparison per cell, all judged together).

    z_i = (values_i - reference_i) / stderr_i, with ``reference`` exact (a closed form, an exact
    law's expectation, a noise floor's mean) and ``stderr`` the standard error of ``values`` (of
    the difference, when the reference is itself estimated).

    Null hypothesis: every value equals its reference up to independent, approximately normal
    errors of the stated standard errors (valid for the Monte Carlo means and variances of many
    iid particles the experiments compare).

    Threshold: with m values compared, k is the 1 - level / (2 m) quantile of the normal
    (``side="two-sided"``: a deviation either way contradicts the claim) or its 1 - level / m
    quantile (``side="above"``: only values above the reference contradict it, e.g. a distance
    that must have come down to its noise floor). "inconsistent" when some |z_i| (z_i) exceeds k:
    by Bonferroni's inequality the false-alarm rate over all m comparisons is at most ``level``
    (default 0.01: an "inconsistent" says a simulation disagrees with an exact law, so false
    alarms are kept rare). "consistent" otherwise; "inconclusive" when no value can be compared.

    Power: a single cell off by delta standard errors is caught with probability 0.9 when
    delta >= k + 1.28 (m = 8, level 0.01: k = 3.23, so 4.5 SE); the reason states this size in
    each verdict, so a "consistent" says which deviations were excluded.

    Args:
      values: the measured values (1-D).
      reference: the exact values (a number or one per value).
      stderr: the standard error of each value (a number or one per value).
      side: "two-sided" or "above".
      level: the false-alarm rate of "inconsistent" over all the values together.
      claim: the claim's text; default "the values equal their references".

    Returns:
      A :class:`ReferenceMatch`: the verdict, the z-scores, the threshold, the worst index and
      the number of values compared.

    References:
      docs/theory.md §4 ("What consistent means for an upper bound") and §5 (closed forms);
      Bonferroni's inequality for the m simultaneous comparisons.
    """
    if side not in ("two-sided", "above"):
        raise ValueError(f"side={side!r} is not allowed; allowed: 'two-sided', 'above'")
    _check_level(level)
    claim = "the values equal their references" if claim is None else claim
    values = _vector("values", values)
    reference = _per_point("reference", reference, values.size)
    se = _per_point("stderr", stderr, values.size)
    usable = np.isfinite(values) & np.isfinite(reference) & np.isfinite(se) & (se > 0)
    z = np.full(values.size, np.nan)
    z[usable] = (values[usable] - reference[usable]) / se[usable]
    m = int(usable.sum())
    if m == 0:
        return ReferenceMatch(Verdict(claim, "inconclusive", (
            f"none of {values.size} values has a finite value, reference and positive standard "
            "error")), z, np.nan, -1, 0)
    tail = level / (2 * m) if side == "two-sided" else level / m
    k = float(stats.norm.ppf(1 - tail))
    score = np.where(usable, np.abs(z) if side == "two-sided" else z, -np.inf)
    worst = int(np.argmax(score))
    beyond = int((score > k).sum())
    shown = "|z|" if side == "two-sided" else "z"
    reason = (f"max {shown} = {score[worst]:.2f} over {m} values (at index {worst}: "
              f"{values[worst]:.5g} vs {reference[worst]:.5g} +- {se[worst]:.2g}); threshold "
              f"{k:.2f} (level {level:g} over all {m}, Bonferroni, {side}); a single value off "
              f"by {k + 1.28:.1f} SE is caught with probability 0.9")
    if beyond:
        return ReferenceMatch(Verdict(claim, "inconsistent",
                                      f"{beyond} beyond the threshold: {reason}"),
                              z, k, worst, m)
    return ReferenceMatch(Verdict(claim, "consistent", reason), z, k, worst, m)


class ZTest(NamedTuple):
    """What :func:`z_test` concludes.

    Attributes:
      verdict: the :class:`Verdict`.
      z: the z-scores estimate / stderr, one per estimate (an array).
      threshold: k, the per-estimate critical |z| of "inconsistent" (Bonferroni over the
        estimates).
      consistent_threshold: k', the critical z every estimate must pass for "consistent" with
        ``direction`` "> 0" or "< 0" (no Bonferroni: an intersection-union test); equal to
        ``threshold`` for "= 0".
    """

    verdict: Verdict
    z: np.ndarray
    threshold: float
    consistent_threshold: float


def z_test(estimate, stderr, *, direction: str, level: float = 0.01,
           claim: str | None = None) -> ZTest:
    """Test the sign of m estimates with known standard errors: z_i = estimate_i / stderr_i.

    For estimates whose standard error is computed from many draws (a binomial proportion from
    N particles, a U-statistic over N (N - 1) pairs), so that z_i is close to standard normal
    under the null; with few degrees of freedom use :func:`paired_comparison` instead.

    Null hypothesis: the z_i are independent N(delta_i / stderr_i, 1); the claim is about the
    sign of every delta_i ("> 0", "< 0") or that every delta_i is 0 ("= 0": a goodness-of-fit
    claim, e.g. particles against an exact law).

    Threshold (default level 0.01 for the m estimates together):

    - ``direction="> 0"`` (``"< 0"`` mirrored): "inconsistent" when some z_i < -k,
      k = Phi^-1(1 - level / (2 m)) (Bonferroni: false-alarm rate <= level / 2 when every
      delta_i >= 0); "consistent" when every z_i > k', k' = Phi^-1(1 - level / 2) (an
      intersection-union test: the rate of "consistent" while some delta_i <= 0 is at most
      level / 2, with no correction for m); "inconclusive" otherwise.
    - ``direction="= 0"``, k = Phi^-1(1 - level / (2 m)): "inconsistent" when some |z_i| > k
      (false-alarm rate <= level when every delta_i = 0); "consistent" otherwise. Such a
      "consistent" only means that no departure larger than about (k + 1.28) stderr_i exists
      (power 0.9): the reason states k so the reader can convert it into the claim's units.

    Power: one delta_i on the wrong side (or away from 0) by (k + 1.28) stderr_i is detected with
    probability 0.9; k = 2.81 for m = 1, 3.29 for m = 5 at level 0.01.

    Args:
      estimate: the estimates (a number or a 1-D array).
      stderr: their standard errors (same shape, positive).
      direction: "> 0", "< 0" or "= 0".
      level: the false-alarm rate of "inconsistent" over all m estimates.
      claim: the claim's text; default "estimate {direction}".

    Returns:
      A :class:`ZTest`: the verdict, the z-scores and the threshold. Estimates with a
      non-finite value or standard error are dropped; none left gives "inconclusive".

    References:
      docs/theory.md §6 (flat-basin masses of particles against exact laws, exit times) and §10
      (KSD U-statistics); Bonferroni's inequality for the m estimates.
    """
    if direction not in ("> 0", "< 0", "= 0"):
        raise ValueError(f"direction={direction!r} is not allowed; allowed: '> 0', '< 0', '= 0'")
    _check_level(level)
    claim = f"estimate {direction}" if claim is None else claim
    est = np.atleast_1d(np.asarray(estimate, dtype=float))
    se = np.atleast_1d(np.asarray(stderr, dtype=float))
    if est.ndim != 1 or se.shape != est.shape:
        raise ValueError(f"estimate has shape {est.shape} and stderr {se.shape}; one 1-D array "
                         "of each, of the same length, is required")
    keep = np.isfinite(est) & np.isfinite(se) & (se > 0)
    z = est[keep] / se[keep]
    m = z.size
    if m == 0:
        return ZTest(Verdict(claim, "inconclusive", "no finite estimate with a positive "
                             "standard error"), z, np.nan, np.nan)
    k = float(stats.norm.ppf(1 - level / (2 * m)))
    k_all = k if direction == "= 0" else float(stats.norm.ppf(1 - level / 2))
    signed = -z if direction == "< 0" else z
    if direction == "= 0":
        verdict = "inconsistent" if np.any(np.abs(z) > k) else "consistent"
    elif np.any(signed < -k):
        verdict = "inconsistent"
    else:
        verdict = "consistent" if np.all(signed > k_all) else "inconclusive"
    shown = ", ".join(f"{v:.2f}" for v in z)
    dropped = f"; {int((~keep).sum())} non-finite dropped" if (~keep).any() else ""
    if direction == "= 0":
        rule = f"threshold |z| > {k:.2f} (level {level:g}, Bonferroni over {m})"
    else:
        rule = (f"consistent when every z {direction[0]} {'-' if direction == '< 0' else ''}"
                f"{k_all:.2f}, inconsistent when one is beyond {k:.2f} the other way (level "
                f"{level:g}; Bonferroni over {m} for the latter)")
    reason = f"z = {shown} ({m} estimate{'s' if m > 1 else ''}{dropped}); {rule}"
    return ZTest(Verdict(claim, verdict, reason), z, k, k_all)

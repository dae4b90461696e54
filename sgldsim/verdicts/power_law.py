"""Power-law bounds y = O(x^q) at x -> 0 or x -> infinity (:func:`power_law_bound`)."""

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

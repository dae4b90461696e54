"""Values against exact references (:func:`matches_reference`) and signs of estimates with
their own standard errors (:func:`z_test`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from ._common import Verdict, _check_level, _per_point, _vector


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

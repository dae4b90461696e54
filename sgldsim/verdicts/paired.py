"""Paired comparisons of two methods (:func:`paired_comparison`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from ._common import Verdict, _check_level, _vector


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

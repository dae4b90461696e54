"""sgldsim.verdicts: each verdict says "inconsistent" on data that violate its claim, keeps its
stated false-alarm rate on data that satisfy it, and (paired comparisons) its intervals cover at
their nominal rate with few units. Seeded; tolerances are binomial 3-SE margins."""

import numpy as np
import pytest

from sgldsim import verdicts
from sgldsim.verdicts import (
    VERDICTS,
    Verdict,
    exponential_decay,
    paired_comparison,
    power_law_bound,
    z_test,
)

N_NULL = 1000  # null data sets per calibration check (>= 200)


def _rate_margin(p: float, n: int) -> float:
    """A rate p estimated from n independent trials: p + 3 binomial standard errors."""
    return p + 3.0 * np.sqrt(p * (1 - p) / n)


def _count(results) -> dict:
    names = [r.verdict.verdict for r in results]
    return {v: names.count(v) for v in VERDICTS}


# --- the module ---------------------------------------------------------------------------------

def test_module_is_importable_and_verdicts_are_named():
    assert verdicts.VERDICTS == ("consistent", "inconsistent", "inconclusive", "untestable")
    v = Verdict("claim", "consistent", "reason")
    assert v._fields == ("claim", "verdict", "reason")  # runner.summary.Verdict's fields
    for name in verdicts.__all__:
        assert getattr(verdicts, name).__doc__


@pytest.mark.parametrize("function", [exponential_decay, power_law_bound, paired_comparison,
                                      z_test])
def test_docstrings_state_null_threshold_and_power(function):
    doc = function.__doc__
    for part in ("Null hypothesis", "Threshold", "Power", "Args:", "Returns:", "References:"):
        assert part in doc, (function.__name__, part)


# --- exponential_decay --------------------------------------------------------------------------

T = np.linspace(0.0, 10.0, 60)
FLOOR = 0.1


def _exponential(rng, rate=0.6, known=True):
    """floor + 2 exp(-rate t) with additive noise of known SE, or 5 % multiplicative noise."""
    if known:
        se = 0.003
        return FLOOR + 2 * np.exp(-rate * T) + se * rng.standard_normal(T.size), se
    return FLOOR + 2 * np.exp(-rate * T) * np.exp(0.05 * rng.standard_normal(T.size)), None


@pytest.mark.parametrize("known", [True, False])
def test_exponential_decay_consistent_on_noisy_exponential(known):
    rng = np.random.default_rng(0)
    y, se = _exponential(rng, known=known)
    res = exponential_decay(T, y, floor=FLOOR, y_stderr=se)
    assert res.verdict.verdict == "consistent", res.verdict
    assert abs(res.rate - 0.6) < 5 * res.rate_stderr
    assert res.t_start == T[0]
    if known:  # the window stops where the excess sinks into the noise (3 SE)
        assert 2 * np.exp(-0.6 * res.t_end) > 2 * 0.003
        assert res.t_end < T[-1]


TT = np.arange(1.0, 51.0)
SLOW = {"power law t^-0.5": TT**-0.5, "1 / log t": 1 / np.log(TT + 1),
        "growth": 0.1 * np.exp(0.05 * TT), "power-law growth": TT**0.5}


@pytest.mark.parametrize("name", list(SLOW))
@pytest.mark.parametrize("known", [True, False])
def test_exponential_decay_rejects_sub_exponential_decay_and_growth(name, known):
    rng = np.random.default_rng(1)
    excess = SLOW[name]
    noise = 0.03 * excess * rng.standard_normal(TT.size)
    res = exponential_decay(TT, FLOOR + excess + noise, floor=FLOOR,
                            y_stderr=0.03 * excess if known else None)
    assert res.verdict.verdict == "inconsistent", res.verdict


def test_exponential_decay_window_is_not_chosen_to_fall():
    """A series that rises for most of the window and falls at its end is not a decay: the
    window keeps the rise (the old transient window started after the peak, so it always saw a
    falling segment)."""
    rng = np.random.default_rng(2)
    excess = TT * np.exp(-TT / 40)  # rises to t = 40, then falls
    res = exponential_decay(TT, excess * np.exp(0.02 * rng.standard_normal(TT.size)), floor=0.0)
    assert res.t_start == TT[0] and res.n == TT.size
    assert res.verdict.verdict == "inconsistent" and res.rate < 0
    # the caller may start later, from the design: then only the fall is tested
    late = exponential_decay(TT, excess * np.exp(0.02 * rng.standard_normal(TT.size)), floor=0.0,
                             start=42.0)
    assert late.t_start == 42.0 and late.n == 9


def test_exponential_decay_flat_series_is_not_consistent():
    rng = np.random.default_rng(3)
    y = 1.0 + 0.01 * rng.standard_normal(TT.size)
    assert exponential_decay(TT, y, floor=0.0).verdict.verdict == "inconclusive"


def test_exponential_decay_too_few_points_and_bad_input():
    res = exponential_decay(T, FLOOR + 2 * np.exp(-5 * T), floor=FLOOR, y_stderr=0.05)
    assert res.verdict.verdict == "inconclusive" and res.n < 6
    with pytest.raises(ValueError, match="strictly increasing"):
        exponential_decay(T[::-1], T, floor=0.0)
    with pytest.raises(ValueError, match="level=1.5"):
        exponential_decay(T, T, floor=0.0, level=1.5)


@pytest.mark.parametrize("known", [True, False])
def test_exponential_decay_false_alarm_rate(known):
    rng = np.random.default_rng(4)
    results = [exponential_decay(T, *_exponential(rng, known=known)[:1], floor=FLOOR,
                                 y_stderr=0.003 if known else None) for _ in range(N_NULL)]
    counts = _count(results)
    assert counts["inconsistent"] / N_NULL <= _rate_margin(0.01, N_NULL), counts


def test_exponential_decay_false_alarm_rate_with_a_noisy_tail():
    """Many points just above 3 SE of excess: the points kept near the window's end must not
    fake convexity. The convexity test holds level / 2 = 0.5 % on its own (the growth test, the
    other half, never fires on these data)."""
    rng = np.random.default_rng(5)
    t = np.linspace(0.0, 20.0, 80)
    n = 2 * N_NULL
    results = [exponential_decay(t, np.exp(-0.3 * t) + 0.05 * rng.standard_normal(t.size),
                                 floor=0.0, y_stderr=0.05) for _ in range(n)]
    counts = _count(results)
    assert counts["inconsistent"] / n <= _rate_margin(0.005, n), counts
    assert all(r.rate > 0 for r in results)


# --- power_law_bound ----------------------------------------------------------------------------

LAM = np.geomspace(1e-3, 1e-1, 7)


def _power(rng, p, noise=0.05):
    return 2 * LAM**p * np.exp(noise * rng.standard_normal(LAM.size))


@pytest.mark.parametrize("limit, measured, expected", [
    ("zero", 0.2, "inconsistent"),      # W1 = O(lam^1/2) as lam -> 0, but y falls only as lam^0.2
    ("zero", 0.8, "consistent"),
    ("zero", 0.5, "consistent"),
    ("infinity", 0.8, "inconsistent"),  # y = O(x^1/2) as x -> inf, but y grows as x^0.8
    ("infinity", 0.2, "consistent"),
    ("infinity", 0.5, "consistent"),
])
@pytest.mark.parametrize("known", [True, False])
def test_power_law_bound_sides(limit, measured, expected, known):
    rng = np.random.default_rng(6)
    y = _power(rng, measured)
    res = power_law_bound(LAM, y, 0.5, limit=limit, y_stderr=0.05 * y if known else None)
    assert res.verdict.verdict == expected, res.verdict
    assert abs(res.exponent - measured) < 5 * res.stderr
    assert res.n_used == res.n_total == LAM.size


def test_power_law_bound_untestable_when_the_design_cannot_violate():
    rng = np.random.default_rng(7)
    y = _power(rng, 0.2)
    res = power_law_bound(LAM, y, 0.5, limit="infinity", max_attainable_exponent=0.3)
    assert res.verdict.verdict == "untestable" and "0.3" in res.verdict.reason
    res = power_law_bound(LAM, _power(rng, 0.8), 0.5, limit="zero", min_attainable_exponent=0.6)
    assert res.verdict.verdict == "untestable"
    # an attainable range that allows a violation leaves the test as it was
    res = power_law_bound(LAM, _power(rng, 0.2), 0.5, limit="zero", min_attainable_exponent=0.0)
    assert res.verdict.verdict == "inconsistent"


def test_power_law_bound_inconclusive_with_huge_noise():
    rng = np.random.default_rng(8)
    res = power_law_bound(LAM, _power(rng, 0.5, noise=3.0), 0.5, limit="zero")
    assert res.verdict.verdict == "inconclusive", res.verdict


def test_power_law_bound_drops_points_at_the_floor():
    y = LAM**0.8
    floor = y[3] / 3  # y[3] sits exactly at 3x the floor: not usable
    res = power_law_bound(LAM, y, 0.5, limit="zero", floor=floor)
    assert res.n_used == 3 and "3 of 7 points" in res.verdict.reason
    res = power_law_bound(LAM, y, 0.5, limit="zero", floor=y[5] / 3)
    assert res.n_used == 1 and res.verdict.verdict == "inconclusive"
    with pytest.raises(ValueError, match="limit='zeros'"):
        power_law_bound(LAM, y, 0.5, limit="zeros")


@pytest.mark.parametrize("limit", ["zero", "infinity"])
@pytest.mark.parametrize("known", [True, False])
def test_power_law_bound_false_alarm_rate_at_the_bound(limit, known):
    """The worst null: the exponent equals the bound's."""
    rng = np.random.default_rng(9)
    results = []
    for _ in range(N_NULL):
        y = _power(rng, 0.25)
        results.append(power_law_bound(LAM, y, 0.25, limit=limit,
                                       y_stderr=0.05 * y if known else None))
    counts = _count(results)
    assert counts["inconsistent"] / N_NULL <= _rate_margin(0.01, N_NULL), counts


def test_power_law_bound_power_as_documented():
    """6 points over 2 decades, known 5 % errors: exponent 0.19 against 1/4 is caught with
    probability about 0.9 (docstring)."""
    rng = np.random.default_rng(10)
    lam = np.geomspace(1e-3, 1e-1, 6)
    caught = 0
    for _ in range(N_NULL):
        y = lam**0.19 * (1 + 0.05 * rng.standard_normal(lam.size))
        res = power_law_bound(lam, y, 0.25, limit="zero", y_stderr=0.05 * lam**0.19)
        caught += res.verdict.verdict == "inconsistent"
    assert caught / N_NULL >= 0.9 - 3 * np.sqrt(0.09 / N_NULL)


# --- paired_comparison --------------------------------------------------------------------------

def test_paired_comparison_directions_and_unit_se():
    a = np.array([1.0, 1.2, 0.9, 3.0, 3.1, 2.9])
    b = np.zeros(6)
    units = ["x", "x", "x", "y", "y", "y"]
    res = paired_comparison(a, b, units=units, direction="a > b")
    unit_means = np.array([a[:3].mean(), a[3:].mean()])
    assert res.mean == pytest.approx(unit_means.mean())
    assert res.stderr == pytest.approx(unit_means.std(ddof=1) / np.sqrt(2))
    assert res.dof == 1 and res.n_units == 2 and res.n_pairs == 6
    assert res.verdict.verdict == "inconclusive"  # t_{0.975, 1} = 12.7 SE
    indep = paired_comparison(a, b, direction="a > b")
    assert indep.dof == 5 and indep.verdict.verdict == "consistent"
    assert paired_comparison(a, b, direction="a < b").verdict.verdict == "inconsistent"
    assert paired_comparison(a, b, direction="a != b").verdict.verdict == "consistent"
    small = np.array([-0.02, 0.01, 0.0, 0.02, -0.01, 0.005])  # a - b: mean 0.0008, SE 0.006
    near = paired_comparison(small, b, direction="a != b", margin=0.1)
    assert near.verdict.verdict == "inconsistent"  # the interval lies inside (-0.1, 0.1)
    assert paired_comparison(small, b, direction="a != b", margin=0.01).verdict.verdict \
        == "inconclusive"
    assert paired_comparison(small, b, direction="a != b").verdict.verdict == "inconclusive"


def test_paired_comparison_drops_non_finite_and_needs_two():
    res = paired_comparison([1.0, np.nan, 2.0], [0.0, 0.0, 0.0])
    assert res.n_pairs == 2 and "1 pairs with a non-finite value dropped" in res.verdict.reason
    res = paired_comparison([1.0, np.nan], [0.0, 0.0])
    assert res.verdict.verdict == "inconclusive" and np.isnan(res.stderr)
    with pytest.raises(ValueError, match="direction='a >= b'"):
        paired_comparison([1.0, 2.0], [0.0, 0.0], direction="a >= b")


@pytest.mark.parametrize("direction", ["a > b", "a < b"])
def test_paired_comparison_false_alarm_rate(direction):
    """No true difference: "inconsistent" at most level / 2 = 2.5 % of the time."""
    rng = np.random.default_rng(11)
    results = [paired_comparison(rng.normal(size=8), rng.normal(size=8), direction=direction)
               for _ in range(N_NULL)]
    counts = _count(results)
    assert counts["inconsistent"] / N_NULL <= _rate_margin(0.025, N_NULL), counts


N_COVER = 1000


def _covers(results, truth):
    return np.mean([r.interval[0] <= truth <= r.interval[1] for r in results])


@pytest.mark.parametrize("n", [3, 5])
def test_paired_comparison_covers_with_few_pairs(n):
    """t quantiles: 95 % coverage with 3 and 5 pairs (the normal's would give 81 % and 88 %)."""
    rng = np.random.default_rng(12 + n)
    results = [paired_comparison(rng.normal(0.3, 1.0, n), rng.normal(0.0, 1.0, n))
               for _ in range(N_COVER)]
    assert abs(_covers(results, 0.3) - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / N_COVER)


@pytest.mark.parametrize("k", [3, 5])
def test_paired_comparison_covers_with_random_unit_effects(k):
    """k units (test domains) with 20 pairs each and a between-unit effect 3x the pair noise:
    the between-unit SE with k - 1 dof covers at 95 %; the pooled SE over all pairs does not."""
    rng = np.random.default_rng(20 + k)
    units = np.repeat(np.arange(k), 20)
    results, pooled_covers = [], 0
    for _ in range(N_COVER):
        a = 0.5 + rng.normal(0.0, 1.0, k)[units] + rng.normal(0.0, 0.3, units.size)
        b = rng.normal(0.0, 0.3, units.size)
        results.append(paired_comparison(a, b, units=units))
        d = a - b
        pooled_covers += abs(d.mean() - 0.5) <= 1.96 * d.std(ddof=1) / np.sqrt(d.size)
    assert abs(_covers(results, 0.5) - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / N_COVER)
    assert pooled_covers / N_COVER < 0.5  # the case is one where pooling under-covers


# --- matches_reference --------------------------------------------------------------------------

def test_matches_reference_docstring_states_null_threshold_and_power():
    doc = verdicts.matches_reference.__doc__
    for part in ("Null hypothesis", "Threshold", "Power", "Args:", "Returns:", "References:"):
        assert part in doc, part


@pytest.mark.parametrize("side", ["two-sided", "above"])
def test_matches_reference_sides(side):
    ref, se = np.ones(6), np.full(6, 0.01)
    assert verdicts.matches_reference(ref + 0.005, ref, se, side=side).verdict.verdict == (
        "consistent")
    high = ref.copy()
    high[2] += 0.06  # 6 SE above
    assert verdicts.matches_reference(high, ref, se, side=side).verdict.verdict == "inconsistent"
    low = ref.copy()
    low[2] -= 0.06  # 6 SE below: only a two-sided claim is contradicted
    expected = "inconsistent" if side == "two-sided" else "consistent"
    assert verdicts.matches_reference(low, ref, se, side=side).verdict.verdict == expected


def test_matches_reference_needs_values_and_names_bad_input():
    nothing = verdicts.matches_reference([np.nan], [1.0], [0.1])
    assert nothing.verdict.verdict == "inconclusive" and nothing.n == 0
    with pytest.raises(ValueError, match="side='both' is not allowed"):
        verdicts.matches_reference([1.0], [1.0], [0.1], side="both")


@pytest.mark.parametrize("side", ["two-sided", "above"])
def test_matches_reference_false_alarm_rate(side):
    """Null data (8 cells, z ~ N(0, 1)): "inconsistent" at most at the level (Bonferroni)."""
    rng = np.random.default_rng(11)
    level, m, n = 0.05, 8, 4 * N_NULL
    hits = sum(verdicts.matches_reference(rng.standard_normal(m), 0.0, 1.0, side=side,
                                          level=level).verdict.verdict == "inconsistent"
               for _ in range(n))
    assert hits / n <= _rate_margin(level, n)
    assert hits / n >= 0.6 * level  # Bonferroni with 8 independent cells is nearly exact


def test_matches_reference_power_as_documented():
    """One cell off by k + 1.28 SE is caught in about 90 % of data sets."""
    rng = np.random.default_rng(12)
    m, level = 8, 0.01
    k = verdicts.matches_reference(np.zeros(m), 0.0, 1.0, level=level).threshold
    shift = np.zeros(m)
    shift[0] = k + 1.28
    hits = np.mean([verdicts.matches_reference(shift + rng.standard_normal(m), 0.0, 1.0,
                                               level=level).verdict.verdict == "inconsistent"
                    for _ in range(N_NULL)])
    assert 0.85 <= hits <= 0.95


# --- z_test -------------------------------------------------------------------------------------

def test_z_test_directions_and_agreement():
    se = np.full(4, 0.01)
    assert z_test([0.05, 0.06, 0.1, 0.2], se, direction="> 0").verdict.verdict == "consistent"
    assert z_test([0.05, 0.06, -0.05, 0.2], se, direction="> 0").verdict.verdict == "inconsistent"
    assert z_test([0.05, 0.0, 0.1, 0.2], se, direction="> 0").verdict.verdict == "inconclusive"
    assert z_test([-0.05, -0.1], se[:2], direction="< 0").verdict.verdict == "consistent"
    assert z_test([0.005, -0.01], se[:2], direction="= 0").verdict.verdict == "consistent"
    assert z_test([0.005, -0.05], se[:2], direction="= 0").verdict.verdict == "inconsistent"
    assert z_test([np.nan], [0.1], direction="= 0").verdict.verdict == "inconclusive"
    with pytest.raises(ValueError, match="direction"):
        z_test(1.0, 1.0, direction=">0")


@pytest.mark.parametrize("direction", ["> 0", "= 0"])
def test_z_test_false_alarm_rate(direction):
    """At delta = 0 (the worst case of "> 0"), "inconsistent" happens at most at the level."""
    rng = np.random.default_rng(7)
    level, m = 0.05, 5
    found = sum(z_test(rng.standard_normal(m), np.ones(m), direction=direction,
                       level=level).verdict.verdict == "inconsistent" for _ in range(N_NULL))
    rate = level / 2 if direction == "> 0" else level
    assert found / N_NULL <= _rate_margin(rate, N_NULL)


def test_z_test_power_as_documented():
    """One estimate (k + 1.28) SE on the wrong side is caught about 90 % of the time."""
    rng = np.random.default_rng(8)
    m = 5
    k = z_test(np.ones(m), np.ones(m), direction="> 0").threshold
    caught = np.mean([z_test(np.r_[-(k + 1.28) + rng.standard_normal(), 10 * np.ones(m - 1)],
                             np.ones(m), direction="> 0").verdict.verdict == "inconsistent"
                      for _ in range(400)])
    assert 0.85 <= caught <= 0.95


def test_z_test_consistent_rate_when_one_estimate_is_at_zero():
    """Intersection-union: with one delta_i = 0 and the others large, "consistent" happens at
    most at level / 2."""
    rng = np.random.default_rng(9)
    level, m = 0.05, 4
    found = sum(z_test(np.r_[rng.standard_normal(), np.full(m - 1, 10.0)], np.ones(m),
                       direction="> 0", level=level).verdict.verdict == "consistent"
                for _ in range(N_NULL))
    assert found / N_NULL <= _rate_margin(level / 2, N_NULL)

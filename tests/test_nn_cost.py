"""nn-cost's post-processing (sgldsim.experiments.fsgld_networks.nn_cost): tests written from a
mutation check,
one per plausible bug that test_cost_smoke lets through (its timings are noise, so it checks
shapes and signs only). Here the results are a hand-built frame with known values, and the
timer of interleaved_seconds is a fake clock."""

from __future__ import annotations

import time
import types

import numpy as np
import pandas as pd
import pytest

from sgldsim.experiments.fsgld_networks import nn_cost

CELLS = {
    # (model, batch_size): cell measures, then per method: seconds_per_step, extra_seconds,
    # relative_to_sgd (low, mid, high), relative_to_sam (low, mid, high) or None for SAM itself
    ("mlp", 16): ({"num_parameters": 2000.0, "num_leaves": 4.0, "draws_seconds": 2e-5,
                   "draws_relative_to_sgd": 0.08},
                  {"sgd": (2.5e-4, 0.0, (1.0, 1.0, 1.0), (0.45, 0.5, 0.55)),
                   "fsgld": (2.7e-4, 2e-5, (1.0, 1.05, 1.1), (0.5, 0.6, 0.75)),
                   "sam": (4.5e-4, 2e-4, (1.7, 1.8, 1.9), None)}),
    ("mlp", 256): ({"num_parameters": 2000.0, "num_leaves": 4.0, "draws_seconds": 4e-5,
                    "draws_relative_to_sgd": 0.04},
                   {"sgd": (5e-4, 0.0, (1.0, 1.0, 1.0), (0.6, 0.7, 0.8)),
                    "fsgld": (6.5e-4, 1.5e-4, (1.2, 1.3, 1.4), (0.8, 0.9, 1.0)),
                    "sam": (7.2e-4, 2.2e-4, (1.3, 1.4, 1.5), None)}),
}


def _results(with_draws: bool = True) -> pd.DataFrame:
    """Long results as run_cell writes them (cell measures have no method)."""
    rows = []
    for (model, batch), (cell, methods) in CELLS.items():
        at = {"model": model, "batch_size": batch}
        rows += [{**at, "method": None, "measure": m, "value": v} for m, v in cell.items()
                 if with_draws or not m.startswith("draws_")]
        for method, (seconds, extra, sgd, sam) in methods.items():
            values = {"seconds_per_step": seconds, "extra_seconds": extra}
            for baseline, interval in (("sgd", sgd), ("sam", sam)):
                if interval is not None:
                    values.update(zip((f"relative_to_{baseline}_low", f"relative_to_{baseline}",
                                       f"relative_to_{baseline}_high"), interval, strict=True))
            rows += [{**at, "method": method, "measure": m, "value": v}
                     for m, v in values.items()]
    return pd.DataFrame(rows)


def _table(text: str, first_column: str) -> list[dict[str, str]]:
    """The rows of the to_string table in ``text`` whose header starts with ``first_column``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [first_column])
    header = lines[start].split()
    rows = []
    for line in lines[start + 1:]:
        if len(line.split()) != len(header):
            break
        rows.append(dict(zip(header, line.split(), strict=True)))
    return rows


@pytest.mark.parametrize(("interval", "limit", "verdict"), [
    ((1.0, 1.1, 1.15), 1.15, "consistent"),  # high on the limit: still below (`<=`, not `<`)
    ((1.0, 1.1, 1.2), 1.15, "inconclusive"),  # low below, high above: not consistent
    ((1.0, 1.2, 1.3), 1.15, "inconclusive"),  # mid above the limit does not decide
    ((1.15, 1.2, 1.3), 1.15, "inconclusive"),  # low on the limit: not above it
    ((1.2, 1.3, 1.4), 1.15, "inconsistent"),
    ((0.55, 0.6, 0.65), 0.7, "consistent"),
])
def test_verdict_compares_the_interval_with_the_limit(interval, limit, verdict):
    """Bugs: `<` for `<=`, the low end where the high end decides (and vice versa), consistent
    and inconsistent swapped."""
    low, mid, high = interval
    result = nn_cost._verdict("claim", low, mid, high, limit, "fSGLD / SGD")
    assert result.claim == "claim" and result.verdict == verdict
    assert result.reason == (f"fSGLD / SGD = {mid:.2f} (95 % interval of the median over rounds "
                             f"{low:.2f}-{high:.2f}); limit {limit:g}")


def test_summarize_verdicts_use_each_ratio_its_interval_and_its_limit():
    """Bugs: fSGLD/SAM judged against SGD_LIKE, SAM's interval ends swapped, the fSGLD/SGD
    verdict given SAM's interval, "SGD plus fSGLD's draws alone" without the 1 +."""
    summary = nn_cost.summarize(_results(), config=None)
    got = [(v.claim, v.verdict) for v in summary.verdicts]
    assert got == [
        ("fSGLD costs about SGD per step (model=mlp, batch_size=16)", "consistent"),
        ("fSGLD costs about half of SAM per step (model=mlp, batch_size=16)", "inconclusive"),
        ("fSGLD costs about SGD per step (model=mlp, batch_size=256)", "inconsistent"),
        ("fSGLD costs about half of SAM per step (model=mlp, batch_size=256)", "inconsistent"),
    ]
    reasons = [v.reason for v in summary.verdicts]
    assert reasons[0] == ("fSGLD / SGD = 1.05 (95 % interval of the median over rounds "
                          "1.00-1.10); limit 1.15; SGD plus fSGLD's draws alone: 1.08")
    assert reasons[1] == ("fSGLD / SAM = 0.60 (95 % interval of the median over rounds "
                          "0.50-0.75); limit 0.7")
    assert reasons[2].endswith("1.20-1.40); limit 1.15; SGD plus fSGLD's draws alone: 1.04")


def test_summarize_fitted_values_are_fsglds_per_cell():
    """Bugs: the fitted values read from another method's row, fSGLD/SAM reported as fSGLD/SGD,
    the nanoseconds per parameter divided by the number of arrays instead of parameters."""
    fitted = nn_cost.summarize(_results(), config=None).fitted
    expected = {}
    for label, (cell, methods) in (("model=mlp, batch_size=16", CELLS["mlp", 16]),
                                   ("model=mlp, batch_size=256", CELLS["mlp", 256])):
        _, extra, sgd, sam = methods["fsgld"]
        expected |= {f"fsgld_over_sgd[{label}]": sgd[1], f"fsgld_over_sam[{label}]": sam[1],
                     f"fsgld_extra_ns_per_parameter[{label}]": 1e9 * extra / 2000,
                     f"draws_ns_per_parameter[{label}]": 1e9 * cell["draws_seconds"] / 2000,
                     f"sgd_plus_draws_over_sgd[{label}]": 1 + cell["draws_relative_to_sgd"]}
    assert fitted.keys() == expected.keys()
    for key, value in expected.items():
        assert fitted[key] == pytest.approx(value, rel=1e-12), key
    older = nn_cost.summarize(_results(with_draws=False), config=None).fitted
    assert set(older) == {k for k in expected if k.startswith("fsgld_")}


def test_summarize_tables_show_the_measured_columns():
    """Bugs: microseconds per step from the extra time, extra ns per parameter or the draws' ns
    per parameter divided by the number of arrays, sgd_plus_draws in the table without the 1 +."""
    text = nn_cost.summarize(_results(), config=None).table
    main = _table(text, "model")
    assert len(main) == 6
    for row in main:
        cell, methods = CELLS[row["model"], int(row["batch_size"])]
        seconds, extra, sgd, sam = methods[row["method"]]
        assert float(row["microseconds_per_step"]) == pytest.approx(1e6 * seconds, rel=5e-3)
        assert float(row["extra_microseconds"]) == pytest.approx(1e6 * extra, rel=5e-3)
        assert float(row["extra_ns_per_parameter"]) == pytest.approx(1e9 * extra / 2000,
                                                                     rel=5e-3)
        assert int(row["gradients"]) == nn_cost.GRADIENTS_PER_STEP[row["method"]]
        assert float(row["relative_to_sgd_low"]) == pytest.approx(sgd[0])
        assert float(row["relative_to_sgd_high"]) == pytest.approx(sgd[2])
    draws = _table(text.split("fSGLD's draws alone")[1], "model")
    assert len(draws) == 2
    for row in draws:
        cell, methods = CELLS[row["model"], int(row["batch_size"])]
        assert float(row["sgd_microseconds"]) == pytest.approx(1e6 * methods["sgd"][0], rel=5e-3)
        assert float(row["draws_microseconds"]) == pytest.approx(1e6 * cell["draws_seconds"],
                                                                 rel=5e-3)
        assert float(row["draws_ns_per_parameter"]) == pytest.approx(
            1e9 * cell["draws_seconds"] / 2000, rel=5e-3)
        assert float(row["sgd_plus_draws"]) == pytest.approx(1 + cell["draws_relative_to_sgd"],
                                                             rel=5e-3)


def test_interleaved_seconds_divides_each_round_by_the_steps_per_call(monkeypatch):
    """Bug: the time of a call divided by the number of rounds instead of the steps per call
    (with repeats != steps_per_call, and a fake clock so the times are exact)."""
    clock = {"now": 0.0}
    monkeypatch.setattr(nn_cost, "time", types.SimpleNamespace(perf_counter=lambda: clock["now"]))
    calls = {"a": 0, "b": 0}

    def call(name, base):
        def run():
            calls[name] += 1
            clock["now"] += base * calls[name]  # the k-th call takes k * base seconds
        return run

    seconds = nn_cost.interleaved_seconds({"a": call("a", 1.0), "b": call("b", 10.0)},
                                          repeats=3, steps_per_call=5)
    # two warm-up calls each, then rounds 1-3 are calls 3-5
    np.testing.assert_allclose(seconds["a"], np.array([3.0, 4.0, 5.0]) / 5)
    np.testing.assert_allclose(seconds["b"], np.array([30.0, 40.0, 50.0]) / 5)


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_median_interval_order_statistics_match_the_binomial_for_every_n(level):
    """Bug: j from a normal approximation of Binomial(n, 1/2) (right at n = 25, the one size the
    coverage test simulates, wrong at others). Independent: the largest j with
    P(j <= B <= n - j) >= level, B ~ Binomial(n, 1/2), searched j by j."""
    import scipy.stats

    for n in range(6, 81):
        coverage = {j: scipy.stats.binom.cdf(n - j, n, 0.5) - scipy.stats.binom.cdf(j - 1, n, 0.5)
                    for j in range(1, n // 2 + 1)}
        j = max(j for j, p in coverage.items() if p >= level)
        x = np.random.default_rng(n).permutation(np.arange(n, dtype=float) ** 2)
        assert nn_cost.median_interval(x, level) == ((j - 1) ** 2, (n - j) ** 2), n


def test_interleaved_seconds_rotates_the_order_and_divides_by_the_steps():
    log = []

    def call(name, pause):
        def run():
            log.append(name)
            time.sleep(pause)
        return run

    calls = {"a": call("a", 0.0), "b": call("b", 0.02), "c": call("c", 0.0)}
    seconds = nn_cost.interleaved_seconds(calls, repeats=4, steps_per_call=10)
    assert "".join(log) == "aabbcc" + "abc" + "bca" + "cab" + "abc"  # warm-up twice, then rotated
    assert {k: v.shape for k, v in seconds.items()} == {"a": (4,), "b": (4,), "c": (4,)}
    assert np.all(seconds["b"] >= 0.002) and np.all(seconds["b"] < 0.02)  # 0.02 s over 10 steps
    assert np.all(seconds["a"] < seconds["b"])

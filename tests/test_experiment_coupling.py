"""Smoke run of the ``coupling`` experiment at a tiny size, and the claims it rests on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from summary_checks import undocumented_columns

from sgldsim.experiments.fsgld_theory.coupling import _curvature_gap, _flatness_verdicts
from sgldsim.runner import ConfigError, run_experiment
from sgldsim.verdicts import VERDICTS

TINY = ("grid.beta=[10.0, 1000.0, 100000.0]", 'grid.sigma_rule=["eta=0.5", "sigma=0.1"]',
        "params.dims=[1, 4]", "params.fit_from_beta=10.0")


def test_coupling_smoke_and_separable_scaling(tmp_path):
    run = run_experiment("coupling", TINY, out_dir=tmp_path, progress=False)
    results = run.results
    w2 = results[results.measure == "w2"].pivot(index="cell_id", columns="dim", values="value")
    np.testing.assert_allclose(w2[4], 2.0 * w2[1], rtol=1e-12)  # W2 = sqrt(d) W2_1d
    coupled = results[(results.sigma_rule == "eta=0.5") & (results.measure == "w2")
                      & (results.dim == 1)].sort_values("beta")
    assert np.all(np.diff(coupled.value) < 0)  # W2(pi^f, pi*) shrinks along the coupling
    star = results[(results.sigma_rule == "eta=0.5") & (results.beta == 100000.0)]
    flat = dict(zip(star.measure, star.value, strict=False))
    assert flat["flat_mass_pi_star"] > 0.99 > 0.8 > flat["flat_mass_pi_beta"]
    assert run.summary.verdicts
    assert all(v.verdict in VERDICTS for v in run.summary.verdicts)
    assert (tmp_path / "results.parquet").exists() and (tmp_path / "metadata.json").exists()


@pytest.mark.parametrize("override, match", [
    ('grid.sigma_rule=["tau=0.5"]', "sigma_rule='tau=0.5'"),
    ("grid.beta=[0.5]", "beta=0.5"),
    ('params.potential="volcano"', "potential='volcano'"),
])
def test_coupling_rejects_bad_values(tmp_path, override, match):
    with pytest.raises(ConfigError, match=match):
        run_experiment("coupling", (override,), out_dir=tmp_path, progress=False)


def test_coupling_summary_shows_every_dim_and_leaves_unreached_limits_inconclusive(tmp_path):
    """The README's example: the grid stops at beta = 1000, where beta sigma^2 = 0.18 along
    eta = 1.5 still shifts the log-odds by ~3 nats, so "the bias fades" cannot show yet."""
    run = run_experiment("coupling", ("grid.beta=[10, 100, 1000]", "params.dims=[1, 50]",
                                      'grid.sigma_rule=["eta=1.5"]'),
                         out_dir=tmp_path, progress=False)
    text = run.summary.to_text()
    assert "w2[d=1]" in text and "w2[d=50]" in text
    assert {"quadrature_floor", "exponent_ratio", "consistent"} <= set(run.summary.legend)
    assert undocumented_columns(run.summary) == set()
    verdicts = {v.claim: v for v in run.summary.verdicts}
    fades = verdicts["with eta=1.5 > 1 the flatness bias fades as beta grows"]
    assert fades.verdict == "inconclusive" and "beta=1000" in fades.reason


def _mass_table(rule, betas, sigma2_beta, m_star, m_beta=0.76):
    return pd.DataFrame({"sigma_rule": rule, "beta": betas, "beta_sigma2": sigma2_beta,
                         "flat_mass_pi_star": m_star, "flat_mass_pi_beta": m_beta})


@pytest.mark.parametrize("m_star, sigma2_beta, expected", [
    ([0.99, 0.98, 0.80], [1.0, 0.1, 0.001], "consistent"),     # faded, as Laplace predicts
    ([0.99, 0.98, 0.97], [1.0, 0.1, 0.001], "inconsistent"),   # should have faded, did not
    ([0.99, 0.98, 0.97], [1.0, 0.5, 0.2], "inconclusive"),     # Laplace: not yet
])
def test_fading_verdict_is_inconclusive_only_where_the_grid_cannot_reach_the_limit(
        m_star, sigma2_beta, expected):
    table = _mass_table("eta=1.5", [10.0, 100.0, 1000.0], sigma2_beta, m_star)
    (verdict,) = _flatness_verdicts(table, curvature_gap=32.0)
    assert verdict.verdict == expected


@pytest.mark.parametrize("m_star, sigma2_beta, expected", [
    ([0.9, 0.995], [0.1, 1.0], "consistent"),
    ([0.9, 0.95], [0.1, 1.0], "inconsistent"),   # shift 16 nats: must have concentrated
    ([0.8, 0.9], [0.01, 0.05], "inconclusive"),  # shift 0.8 nats: cannot concentrate yet
])
def test_concentration_verdict_is_inconclusive_only_where_the_grid_cannot_reach_the_limit(
        m_star, sigma2_beta, expected):
    table = _mass_table("eta=0.5", [10.0, 100.0], sigma2_beta, m_star)
    (verdict,) = _flatness_verdicts(table, curvature_gap=32.0)
    assert verdict.verdict == expected


def test_curvature_gap_of_the_double_well():
    """sharp_flat_double_well: u'' = 35.56 at the sharp minimum, 3.56 at the flat one."""
    assert _curvature_gap("sharp-flat-double-well") == pytest.approx(32.0, rel=1e-3)

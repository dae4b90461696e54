"""Smoke run of the ``coupling`` experiment at a tiny size, and the claims it rests on."""

from __future__ import annotations

import numpy as np
import pytest

from sgldsim.experiments import VERDICTS, ConfigError, run_experiment

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

"""Falsification tests of the fSGLD theory experiments' verdicts (dimension, coupling, flatness,
perturbation-noise): for every claim a summary judges, data under a violated claim give
"inconsistent" (or "untestable" where the design cannot resolve it) and data under the claim give
"consistent". The data are the committed runs (paper_figures/<name>/results.parquet) or copies of
them edited to violate one claim; each summary runs in well under a second."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sgldsim.experiments.fsgld_theory import coupling, dimension, flatness, perturbation_noise
from sgldsim.measures.flatness import SHIFT_LIMIT
from sgldsim.runner import load_run

RUNS = Path(__file__).resolve().parents[1] / "paper_figures"


def _committed(name: str) -> tuple[pd.DataFrame, object]:
    return pd.read_parquet(RUNS / name / "results.parquet"), load_run(RUNS / name).config


def _verdict(summary, *words: str):
    """The one verdict whose claim contains every word."""
    found = [v for v in summary.verdicts if all(w in v.claim for w in words)]
    assert len(found) == 1, ([v.claim for v in summary.verdicts], words)
    return found[0]


def _edit(results: pd.DataFrame, mask, values) -> pd.DataFrame:
    out = results.copy()
    out.loc[mask, "value"] = values
    return out


# --- dimension ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dim_run():
    return _committed("dimension")


def _radial(results, rule, measure):
    return ((results.part == "radial") & (results.sigma_rule == rule)
            & (results.measure == measure))


def test_dimension_growth_untestable_when_the_ceiling_caps_the_slope(dim_run):
    results, config = dim_run
    summary = dimension.summarize(results, config)
    growth = _verdict(summary, "grows in d", "eta=0.5")
    assert growth.verdict == "untestable" and "largest attainable exponent 0.64" in growth.reason
    # sigma = 0.1 at beta = 8 implies eta = 3.43: Prop. 3.4 says nothing there, no verdict
    assert not [v for v in summary.verdicts if "grows in d" in v.claim and "sigma=0.1" in v.claim]
    assert summary.fitted["radial_d_max_attainable_exponent[sigma=0.1]"] == pytest.approx(
        1.37, abs=0.01)


@pytest.mark.parametrize("exponent, expected", [(2.6, "inconsistent"), (1.0, "consistent")])
def test_dimension_growth_can_fail_where_the_range_allows_it(dim_run, exponent, expected):
    """W2 ~ d^p with a ceiling (radii) large enough for slopes above 2."""
    results, config = dim_run
    w2 = _radial(results, "eta=0.5", "w2")
    dims = results.loc[w2, "dim"].to_numpy(float)
    noise = np.exp(0.02 * np.random.default_rng(0).standard_normal(dims.size))
    edited = _edit(results, w2, 1e-3 * dims**exponent * noise)
    radii = ((edited.part == "radial") & (edited.sigma_rule == "eta=0.5")
             & edited.measure.str.contains(r"_radius_pi_(?:f|star)$"))
    edited = _edit(edited, radii, 1e6)
    growth = _verdict(dimension.summarize(edited, config), "grows in d", "eta=0.5")
    assert growth.verdict == expected, growth.reason


def _particles(results, rule, method, target):
    return ((results.part == "particles") & (results.sigma_rule == rule)
            & (results.method == method) & (results.target == target)
            & (results.measure == "w2"))


def test_dimension_particles_nearer_pi_f_in_w2(dim_run):
    results, config = dim_run
    claim = ("nearer pi^f", "radial W2", "eta=0.5")
    assert _verdict(dimension.summarize(results, config), *claim).verdict == "consistent"
    to_f, to_star = (_particles(results, "eta=0.5", "fsgld", t) for t in ("pi_f", "pi_star"))
    swapped = results.copy()
    swapped.loc[to_f, "value"] = results.loc[to_star, "value"].to_numpy()
    swapped.loc[to_star, "value"] = results.loc[to_f, "value"].to_numpy()
    assert _verdict(dimension.summarize(swapped, config), *claim).verdict == "inconsistent"
    # a gap within the floors says nothing about the sign
    equal = _edit(results, to_star, results.loc[to_f, "value"].to_numpy() * 1.01)
    assert _verdict(dimension.summarize(equal, config), *claim).verdict == "inconclusive"


def _ksd_results(sgld_u_f, sgld_se, fsgld_diff, fsgld_diff_se, dims=(1, 3, 10)):
    """A KSD part in the experiment's tidy format (sigma_rule eta=0.5, beta = 8)."""
    rows = []
    for i, d in enumerate(dims):
        base = {"cell_id": "ksd-cell", "part": "ksd", "sigma_rule": "eta=0.5", "beta": 8.0,
                "dim": d}
        rows += [base | {"method": "-", "target": "-", "measure": m, "value": v}
                 for m, v in (("sigma", 0.459), ("eta", 0.5))]
        for method, u_f, se_f, diff, se_diff in (
                ("sgld", sgld_u_f[i], sgld_se[i], -1.0, 0.1),
                ("fsgld", 0.0, 0.02, fsgld_diff[i], fsgld_diff_se[i])):
            values = {("pi_f", "ksd2_u"): u_f, ("pi_f", "ksd2_u_stderr"): se_f,
                      ("pi_star", "ksd2_u"): u_f - diff, ("pi_star", "ksd2_u_stderr"): se_f,
                      ("pi_f", "ksd"): 0.1, ("pi_star", "ksd"): 0.1, ("pi_f", "ksd_floor"): 0.1,
                      ("pi_star", "ksd_floor"): 0.1, (dimension.DIFFERENCE, "ksd2_u"): diff,
                      (dimension.DIFFERENCE, "ksd2_u_stderr"): se_diff}
            rows += [base | {"method": method, "target": t, "measure": m, "value": v}
                     for (t, m), v in values.items()]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("sgld_u_f, diff, expected", [
    ((0.0, 0.01, -0.02), (-1.0, -1.0, -1.0), "untestable"),  # SGLD passes as pi^f: no power
    ((1.0, 1.0, 0.02), (-1.0, -0.5, 0.5), "consistent"),  # d=10 has no power: not judged
    ((1.0, 1.0, 1.0), (-1.0, 0.5, -1.0), "inconsistent"),  # nearer pi* at d=3
    ((1.0, 1.0, 1.0), (-1.0, -0.15, -1.0), "inconclusive"),  # d=3 unresolved
])
def test_dimension_ksd_judged_only_where_it_has_power(dim_run, sgld_u_f, diff, expected):
    _, config = dim_run
    results = _ksd_results(sgld_u_f, (0.1, 0.1, 0.1), diff, (0.1, 0.1, 0.1))
    ksd = _verdict(dimension.summarize(results, config), "KSD^2")
    assert ksd.verdict == expected, ksd.reason


def test_dimension_ksd_committed_rows(dim_run):
    results, config = dim_run
    summary = dimension.summarize(results, config)
    assert _verdict(summary, "KSD^2", "sigma=0.1").verdict == "untestable"
    assert "not judged at d = 30, 100" in _verdict(summary, "KSD^2", "eta=0.5").reason


def test_dimension_judges_no_identity(dim_run):
    results, config = dim_run
    assert not [v for v in dimension.summarize(results, config).verdicts
                if "sqrt(d)" in v.claim]


# --- coupling -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def coupling_run():
    return _committed("coupling")


def _coupling_summary(results, config, rule=None, measure=None, fn=None):
    if rule is not None:
        mask = (results.sigma_rule == rule) & (results.measure == measure)
        results = _edit(results, mask, fn(results[mask]))
    return coupling.summarize(results, config)


def test_coupling_bound_committed_is_consistent(coupling_run):
    summary = coupling.summarize(*coupling_run)
    for eta in ("0.1", "0.5", "0.9"):
        assert _verdict(summary, "O(beta", f"eta={eta}").verdict == "consistent"


@pytest.mark.parametrize("decay, expected", [(0.01, "inconsistent"), (0.3, "consistent")])
def test_coupling_bound_can_fail(coupling_run, decay, expected):
    """W2 ~ beta^(-decay) along eta = 0.5 (bound: decay >= 0.125), 2 % noise."""
    noise = lambda rows: np.exp(0.02 * np.random.default_rng(1).standard_normal(len(rows)))
    summary = _coupling_summary(*coupling_run, "eta=0.5", "w2",
                                lambda rows: rows.beta.to_numpy() ** -decay * noise(rows))
    assert _verdict(summary, "O(beta", "eta=0.5").verdict == expected


def _last_beta(value):
    def fn(rows):
        out = rows.value.to_numpy().copy()
        out[rows.beta.to_numpy() == rows.beta.max()] = value(rows)
        return out
    return fn


def test_coupling_concentration_can_fail(coupling_run):
    summary = _coupling_summary(*coupling_run, "eta=0.5", "flat_mass_pi_star",
                                _last_beta(lambda rows: 0.8))
    assert _verdict(summary, "concentrates", "eta=0.5").verdict == "inconsistent"
    assert _verdict(coupling.summarize(*coupling_run), "concentrates",
                    "eta=0.5").verdict == "consistent"


def test_coupling_fading_can_fail(coupling_run):
    results, config = coupling_run
    assert _verdict(coupling.summarize(results, config), "fades").verdict == "consistent"
    summary = _coupling_summary(results, config, "eta=1.5", "flat_mass_pi_star",
                                _last_beta(lambda rows: 0.7597 + 0.2478))
    assert _verdict(summary, "fades").verdict == "inconsistent"


# --- flatness -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def flat_run():
    return _committed("flatness")


def _flat_edit(results, measure, value, **where):
    mask = results.measure == measure
    for column, wanted in where.items():
        mask &= results[column] == wanted
    assert mask.any(), where
    return _edit(results, mask, value(results[mask]) if callable(value) else value)


def test_flatness_committed_verdicts_are_consistent(flat_run):
    summary = flatness.summarize(*flat_run)
    assert {v.verdict for v in summary.verdicts} == {"consistent"}


def test_flatness_pi_star_mass_at_least_pi_beta_can_fail(flat_run):
    results, config = flat_run
    map_rows = results[(results.part == "map") & (results.depth_gap == 0)]
    beta, sigma = map_rows.beta.iloc[0], map_rows.sigma.iloc[0]
    m_beta = map_rows[(map_rows.beta == beta) & (map_rows.sigma == sigma)
                      & (map_rows.measure == "flat_mass_pi_beta")].value.iloc[0]
    edited = _flat_edit(results, "flat_mass_pi_star", m_beta - 0.01, part="map", depth_gap=0.0,
                        beta=beta, sigma=sigma)
    verdict = _verdict(flatness.summarize(edited, config), "at least as much", "delta=0)")
    assert verdict.verdict == "inconsistent"


def _coupling_last(results, gap, eta):
    rows = results[(results.part == "coupling") & (results.depth_gap == gap)
                   & (results.eta == eta)]
    return rows.beta.max()


@pytest.mark.parametrize("gap, value, words", [
    (0.0, 0.5, ("equal depths", "eta=0.5")),
    (0.05, 0.9, ("sharp) minimum wins", "eta=0.5")),
])
def test_flatness_coupling_limits_can_fail(flat_run, gap, value, words):
    results, config = flat_run
    edited = _flat_edit(results, "flat_mass_pi_star", value, part="coupling", depth_gap=gap,
                        eta=0.5, beta=_coupling_last(results, gap, 0.5))
    assert _verdict(flatness.summarize(edited, config), *words).verdict == "inconsistent"


def _decided_cell(results):
    tables = flatness._tables(results)
    grid, land = tables["map"], tables["landscape"]
    spacing = (land.x_flat - land.x_sharp).loc[grid.depth_gap].to_numpy()
    small = grid[(grid.v_minimum_shift <= SHIFT_LIMIT * spacing) & (grid.depth_gap > 0)]
    return small[small.log_odds >= 3].iloc[0], grid, spacing


def test_flatness_winner_rule_can_fail(flat_run):
    results, config = flat_run
    cell, _, _ = _decided_cell(results)  # flat minimum predicted to win
    edited = _flat_edit(results, "flat_mass_pi_star", 0.1, part="map", depth_gap=cell.depth_gap,
                        beta=cell.beta, sigma=cell.sigma)
    verdict = _verdict(flatness.summarize(edited, config), "wins under pi* iff")
    assert verdict.verdict == "inconsistent" and "first miss" in verdict.reason


def test_flatness_false_wells_claim_can_fail(flat_run):
    """pi* and pi^f made to agree wherever v's minima moved: the claimed departure is gone."""
    results, config = flat_run
    edited = results.copy()
    for part in ("map", "coupling"):
        table = flatness._tables(edited)[part]
        land = flatness._tables(edited)["landscape"]
        spacing = (land.x_flat - land.x_sharp).loc[table.depth_gap].to_numpy()
        for r in table[table.v_minimum_shift > SHIFT_LIMIT * spacing].itertuples():
            mask = ((edited.part == part) & (edited.depth_gap == r.depth_gap)
                    & (edited.beta == r.beta) & (edited.sigma == r.sigma)
                    & (edited.measure == "flat_mass_pi_f"))
            edited.loc[mask, "value"] = r.flat_mass_pi_star
    verdict = _verdict(flatness.summarize(edited, config), "far from g_sigma")
    assert verdict.verdict == "inconsistent"


def _particle_mask(results, method, measure):
    return ((results.part == "particles") & (results.method == method)
            & (results.measure == measure))


def test_flatness_particles_against_chain_law_can_fail(flat_run):
    results, config = flat_run
    mask = _particle_mask(results, "fsgld", "flat_fraction")
    se = results[_particle_mask(results, "fsgld", "flat_fraction_stderr")].value.to_numpy()
    shifted = results[mask].value.to_numpy() + np.r_[6 * se[0], np.zeros(se.size - 1)]
    edited = _edit(results, mask, shifted)
    assert _verdict(flatness.summarize(edited, config), "exact chain law").verdict == \
        "inconsistent"


def test_flatness_chain_bias_can_fail(flat_run):
    results, config = flat_run
    mask = _particle_mask(results, "fsgld", "flat_mass_chain")
    small_step = results[_particle_mask(results, "fsgld", "flat_mass_small_step")].value
    edited = _edit(results, mask, small_step.to_numpy() - 0.01)
    assert _verdict(flatness.summarize(edited, config), "flatter-biased").verdict == \
        "inconsistent"


@pytest.mark.parametrize("gap", [0.0, 0.05])
def test_flatness_faster_exit_can_fail(flat_run, gap):
    results, config = flat_run
    reference = results[_particle_mask(results, "sgld", "survival_at_reference")
                        & (results.depth_gap == gap)].value.iloc[0]
    mask = _particle_mask(results, "fsgld", "survival_at_reference") & (results.depth_gap == gap)
    edited = _edit(results, mask, min(reference + 0.1, 1.0))
    verdict = _verdict(flatness.summarize(edited, config), "faster than SGLD", f"delta={gap:g},")
    assert verdict.verdict == "inconsistent"


# --- perturbation-noise -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def noise_run():
    return _committed("perturbation-noise")


def _system_mask(results, system, measure):
    return (results.system == system) & (results.measure == measure)


def test_perturbation_noise_committed_verdicts_are_consistent(noise_run):
    summary = perturbation_noise.summarize(*noise_run)
    assert [v.verdict for v in summary.verdicts] == ["consistent"] * 3


def test_perturbation_noise_closed_form_can_fail(noise_run):
    results, config = noise_run
    mask = _system_mask(results, "quadratic", "w2")
    edited = _edit(results, mask, results[mask].value.to_numpy() * 1.01)
    verdict = _verdict(perturbation_noise.summarize(edited, config), "quadratic", "W2(chain")
    assert verdict.verdict == "inconsistent"


def test_perturbation_noise_collapse_can_fail(noise_run):
    """Relative W2 scattered by a factor 3 up and down around the harmonic curve."""
    results, config = noise_run
    edited = results.copy()
    for system in ("sharp", "flat"):
        mask = _system_mask(edited, system, "w2_relative")
        signs = np.where(np.arange(mask.sum()) % 2 == 0, 3.0, 1 / 3)
        edited.loc[mask, "value"] = edited[mask].value.to_numpy() * signs
    verdict = _verdict(perturbation_noise.summarize(edited, config), "curves collapse")
    assert verdict.verdict == "inconsistent"


def test_perturbation_noise_sharp_first_can_fail(noise_run):
    results, config = noise_run
    sharp, flat = (_system_mask(results, s, "w2_relative") for s in ("sharp", "flat"))
    by_cell = results[flat].set_index("cell_id").value
    halved = results[sharp].cell_id.map(by_cell).to_numpy() / 2
    edited = _edit(results, sharp, np.where(np.isfinite(results[sharp].value), halved, np.nan))
    verdict = _verdict(perturbation_noise.summarize(edited, config), "departs from pi^f first")
    assert verdict.verdict == "inconsistent"

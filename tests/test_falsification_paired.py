"""Falsification tests of the paired-comparison claims (issue 20): every claim that dgsam-domains,
dgsam-toy, nn-noisy-labels, nn-coupling, nn-cost and pinn-dcgd judge is fed data under which it
fails (and must come out "inconsistent") and data under which it holds ("consistent").
dgsam-toy's cases use small synthetic end-point frames.

The data are copies of the committed run folders' results (paper_figures/<name>/results.parquet)
with one method's values moved, or small synthetic frames in the experiments' tidy format; no
cell is recomputed. Each case also checks the between-unit standard error where the units
differ (test domains, settings, cells, problems): a difference carried by one unit is not
declared, however many seeds repeat it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sgldsim.experiments.dcgd import pinn_dcgd
from sgldsim.experiments.dgsam import dgsam_domains, dgsam_toy
from sgldsim.experiments.fsgld_networks import nn_cost, nn_coupling, nn_noisy_labels
from sgldsim.runner import load_run

RUNS = Path(__file__).resolve().parents[1] / "paper_figures"


def _committed(name: str):
    return pd.read_parquet(RUNS / name / "results.parquet"), load_run(RUNS / name).config


def _verdicts(summary) -> dict[str, str]:
    return {v.claim: v.verdict for v in summary.verdicts}


def _scaled(results: pd.DataFrame, method: str, measures, factor=1.0, shift=0.0,
            method_column: str = "method") -> pd.DataFrame:
    """A copy with ``method``'s ``measures`` replaced by value * factor + shift."""
    out = results.copy()
    rows = (out[method_column] == method) & out.measure.isin(list(measures))
    out.loc[rows, "value"] = out.loc[rows, "value"] * factor + shift
    return out


# --- dgsam-domains ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def domains():
    return _committed("dgsam-domains")


@pytest.mark.parametrize("dataset", ["rotated_digits", "mnist1d"])
@pytest.mark.parametrize("baseline", ["ERM", "SAM", "per-domain SAM"])
def test_dgsam_beats_baseline_in_accuracy_can_fail(domains, dataset, baseline):
    results, config = domains
    claim = f"{dataset}: DGSAM beats {baseline} in test-domain accuracy"
    better = dgsam_domains.summarize(_scaled(results, "dgsam", ["test_accuracy"], shift=0.05),
                                     config)
    worse = dgsam_domains.summarize(_scaled(results, "dgsam", ["test_accuracy"], shift=-0.05),
                                    config)
    assert _verdicts(better)[claim] == "consistent"
    assert _verdicts(worse)[claim] == "inconsistent"


@pytest.mark.parametrize("dataset", ["rotated_digits", "mnist1d"])
@pytest.mark.parametrize("measure", ["zeroth_order", "top_eigenvalue"])
@pytest.mark.parametrize("baseline", ["ERM", "SAM"])
def test_dgsam_lower_individual_sharpness_can_fail(domains, dataset, measure, baseline):
    results, config = domains
    claim = (f"{dataset}: DGSAM reaches lower individual {measure.replace('_', ' ')} than "
             f"{baseline}")
    column = [f"individual_{measure}"]
    lower = dgsam_domains.summarize(_scaled(results, "dgsam", column, factor=0.5), config)
    higher = dgsam_domains.summarize(_scaled(results, "dgsam", column, factor=2.0), config)
    assert _verdicts(lower)[claim] == "consistent"
    assert _verdicts(higher)[claim] == "inconsistent"


@pytest.mark.parametrize("dataset", ["rotated_digits", "mnist1d"])
def test_sharpness_predicts_accuracy_can_fail(domains, dataset):
    """Individual sharpness set to a decreasing function of each selected model's test accuracy
    (rank correlation -1 in every test domain and trial): "consistent"; increasing:
    "inconsistent"."""
    results, config = domains
    claim = (f"{dataset}: lower individual sharpness goes with higher test-domain accuracy "
             "(across methods)")
    keys = ["dataset", "method", "test_domain", "trial"]
    chosen = results[results.selected.astype(bool)]
    accuracy = chosen[chosen.measure == "test_accuracy"].set_index(keys).value

    def tied_to_accuracy(sign):
        out = results.copy()
        rows = out.selected.astype(bool) & (out.measure == "individual_zeroth_order")
        index = pd.MultiIndex.from_frame(out.loc[rows, keys])
        out.loc[rows, "value"] = np.exp(sign * 10 * accuracy.reindex(index).to_numpy())
        return _verdicts(dgsam_domains.summarize(out, config))[claim]

    assert tied_to_accuracy(-1.0) == "consistent"
    assert tied_to_accuracy(+1.0) == "inconsistent"


def test_dgsam_cost_count_can_fail(domains):
    results, config = domains
    claim = "rotated_digits: DGSAM costs S + 1 per-domain gradients per step, SAM 2S"
    assert _verdicts(dgsam_domains.summarize(results, config))[claim] == "consistent"
    extra = _scaled(results, "dgsam", ["domain_gradients_per_step"], shift=1.0)
    assert _verdicts(dgsam_domains.summarize(extra, config))[claim] == "inconsistent"


def test_dgsam_accuracy_gain_carried_by_one_test_domain_is_not_declared(domains):
    """+20 pp on one of six test domains (every trial): the pairs are 30, but the test domains
    are the units; their spread leaves the gain unresolved (t quantile, 5 dof)."""
    results, config = domains
    one = results.copy()
    erm = results[(results.method == "erm") & (results.dataset == "rotated_digits")
                  & (results.measure == "test_accuracy") & results.selected.astype(bool)]
    # every selected DGSAM run equals ERM's selected one except on domain 0, 20 pp above
    lookup = erm.set_index(["test_domain", "trial"]).value
    dgsam = ((one.method == "dgsam") & (one.dataset == "rotated_digits")
             & (one.measure == "test_accuracy") & one.selected.astype(bool))
    keys = pd.MultiIndex.from_frame(one.loc[dgsam, ["test_domain", "trial"]])
    one.loc[dgsam, "value"] = lookup.reindex(keys).to_numpy()
    one.loc[dgsam & (one.test_domain == 0), "value"] += 0.2
    verdict = _verdicts(dgsam_domains.summarize(one, config))
    assert verdict["rotated_digits: DGSAM beats ERM in test-domain accuracy"] == "inconclusive"


def test_dgsam_verdicts_use_t_quantiles_over_test_domains(domains):
    """MNIST-1D has 8 test domains: the accuracy interval is mean -+ t_{0.975, 7} SE (2.36 SE,
    not the normal's 1.96), from the per-test-domain mean differences."""
    results, config = domains
    runs = dgsam_domains.selected_runs(results)
    part = runs[runs.dataset == "mnist1d"]
    res = dgsam_domains.paired_against(part, "dgsam", "erm", "test_accuracy", "", "a > b")
    diff = (part[part.method == "dgsam"].set_index(["test_domain", "trial"]).test_accuracy
            - part[part.method == "erm"].set_index(["test_domain", "trial"]).test_accuracy)
    means = diff.groupby(level="test_domain").mean()
    assert res.dof == 7 and res.n_units == 8 and res.n_pairs == 40
    assert res.mean == pytest.approx(means.mean())
    assert res.stderr == pytest.approx(means.std(ddof=1) / np.sqrt(8))
    assert res.interval[1] - res.mean == pytest.approx(2.3646 * res.stderr, rel=1e-4)


# --- dgsam-toy -------------------------------------------------------------------------------
# Synthetic end points in dgsam-toy's tidy format (the committed run predates the bounded toy):
# each run's measures are those of an end point exactly at p_- or p_+ (a strict minimum of every
# domain loss), so the classification is the one a real run would get.


def _toy_frame(at_left: dict[tuple[str, str], np.ndarray], rho: float = 0.4) -> pd.DataFrame:
    """Rows for runs whose end is p_- where ``at_left[(landscape, method)][start, repeat]`` is
    True and p_+ otherwise."""
    rows = []
    for (landscape, method), left in at_left.items():
        for (start, repeat), is_left in np.ndenumerate(left):
            values = {"x_start": 0.0, "x_end": -1.0 if is_left else 1.0,
                      "distance_left": 0.0 if is_left else 2.0,
                      "distance_right": 2.0 if is_left else 0.0,
                      "domain_min_eigenvalue": dgsam_toy.VALLEY_CURVATURE,
                      "domain_max_gradient": 0.0}
            rows += [{"landscape": landscape, "rho": rho, "method": method, "start": start,
                      "repeat": repeat, "measure": k, "value": v} for k, v in values.items()]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def toy_config():
    from sgldsim.runner import resolve_experiment

    return resolve_experiment("dgsam-toy")[0]


def _toy_verdicts(at_left, config):
    return _verdicts(dgsam_toy.summarize(_toy_frame(at_left), config))


FAKE = ("rho=0.4: DGSAM ends at the fake flat minimum less often than SAM (by at least 0.1 of "
        "the starts)")
INDIVIDUAL = ("rho=0.4: over both landscapes, DGSAM ends at the individually flat minimum more "
              "often than SAM (by at least 0.1)")


def test_dgsam_avoids_the_fake_flat_minimum_can_fail(toy_config):
    """SAM ends at the fake flat p_- from 60 % of 100 starts (random, seeded). DGSAM ending
    there from the same starts (every repeat) is "inconsistent" with avoiding it; DGSAM ending
    there from none of them is "consistent"; from half of SAM's starts (a reduction of 0.3 +-
    0.05) "consistent"."""
    rng = np.random.default_rng(7)
    sam = rng.random(100) < 0.6
    same = {("fake_flat", "sam"): sam[:, None],
            ("fake_flat", "dgsam"): np.repeat(sam[:, None], 4, 1)}
    assert _toy_verdicts(same, toy_config)[FAKE] == "inconsistent"
    never = {**same, ("fake_flat", "dgsam"): np.zeros((100, 4), bool)}
    assert _toy_verdicts(never, toy_config)[FAKE] == "consistent"
    half = sam & (rng.random(100) < 0.5)
    fewer = {**same, ("fake_flat", "dgsam"): np.repeat(half[:, None], 4, 1)}
    assert _toy_verdicts(fewer, toy_config)[FAKE] == "consistent"


def test_dgsam_seeks_individual_flatness_over_both_landscapes_can_fail(toy_config):
    """A rule that follows only the pooled loss ends at p_- on both landscapes, like SAM: its
    score at the individually flat minimum (p_+ on fake_flat, p_- on control) equals SAM's:
    "inconsistent". A rule that switches to the individually flat minimum on each landscape:
    "consistent"."""
    rng = np.random.default_rng(11)
    sam = rng.random(80) < 0.6
    base = {("fake_flat", "sam"): sam[:, None], ("control", "sam"): sam[:, None]}
    pooled_like = {**base, ("fake_flat", "dgsam"): sam[:, None].repeat(4, 1),
                   ("control", "dgsam"): sam[:, None].repeat(4, 1)}
    assert _toy_verdicts(pooled_like, toy_config)[INDIVIDUAL] == "inconsistent"
    switching = {**base, ("fake_flat", "dgsam"): np.zeros((80, 4), bool),
                 ("control", "dgsam"): np.ones((80, 4), bool)}
    assert _toy_verdicts(switching, toy_config)[INDIVIDUAL] == "consistent"


def test_a_saddle_end_point_never_counts_as_avoiding_the_fake_flat_minimum(toy_config):
    """DGSAM ending at a saddle of every domain loss (x = 0, eigenvalue -beta/2 exp(-beta/8))
    from every start is neither minimum: it is "other", so the claim "DGSAM ends at the
    individually flat minimum more often than SAM" cannot be satisfied by saddles."""
    rng = np.random.default_rng(5)
    sam = rng.random(60) < 0.6
    frame = _toy_frame({("fake_flat", "sam"): sam[:, None], ("control", "sam"): sam[:, None],
                        ("fake_flat", "dgsam"): np.zeros((60, 2), bool),
                        ("control", "dgsam"): np.zeros((60, 2), bool)})
    dgsam = frame.method == "dgsam"
    beta = dgsam_toy.VALLEY_CURVATURE
    for measure, value in (("x_end", 0.0), ("distance_left", 1.0), ("distance_right", 1.0),
                           ("domain_min_eigenvalue", -beta / 2 * np.exp(-beta / 8)),
                           ("domain_max_gradient", 0.0)):
        frame.loc[dgsam & (frame.measure == measure), "value"] = value
    runs = dgsam_toy.outcomes(frame, toy_config)
    assert set(runs[runs.method == "dgsam"].outcome) == {"other"}
    verdicts = _verdicts(dgsam_toy.summarize(frame, toy_config))
    assert verdicts[FAKE] == "consistent"  # it does avoid p_- ...
    assert verdicts[INDIVIDUAL] == "inconsistent"  # ... but never reaches the flat minimum


def test_dgsam_claims_are_untestable_where_the_positive_control_fails(toy_config):
    """Per-domain SAM is the positive control: where it ends at the fake flat minimum as often
    as SAM (a rho too small to move anything), DGSAM's claim is "untestable" whatever DGSAM
    does; where per-domain SAM avoids it, the same DGSAM data is judged ("inconsistent")."""
    rng = np.random.default_rng(9)
    sam = rng.random(100) < 0.6
    same = {("fake_flat", "sam"): sam[:, None],
            ("fake_flat", "dgsam"): np.repeat(sam[:, None], 4, 1)}
    control_fails = {**same, ("fake_flat", "domain_sam"): sam[:, None]}
    assert _toy_verdicts(control_fails, toy_config)[FAKE] == "untestable"
    control_works = {**same, ("fake_flat", "domain_sam"): np.zeros((100, 1), bool)}
    assert _toy_verdicts(control_works, toy_config)[FAKE] == "inconsistent"


# --- nn-noisy-labels -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def noisy():
    return _committed("nn-noisy-labels")


def _noisy_verdicts(results, config):
    return _verdicts(nn_noisy_labels.summarize(results, config))


NOISY_TASKS = ("mnist1d/residual_mlp", "digits/mlp")


def test_every_accuracy_claim_can_fail(noisy):
    """fSGLD's test accuracies (every configuration, both outcomes) 15 pp up: every accuracy
    claim of both tasks is "consistent"; 15 pp down: "inconsistent". Selection reads only the
    validation split, so the same configurations are compared."""
    results, config = noisy
    measures = ["test_accuracy", "test_accuracy_at_best"]
    ahead = _noisy_verdicts(_scaled(results, "fsgld", measures, shift=0.15), config)
    behind = _noisy_verdicts(_scaled(results, "fsgld", measures, shift=-0.15), config)
    for task in NOISY_TASKS:
        for _, _, claim in nn_noisy_labels.TASK_CLAIMS:
            assert ahead[f"{task}: {claim}"] == "consistent", claim
            assert behind[f"{task}: {claim}"] == "inconsistent", claim


def test_the_memorisation_regime_can_fail(noisy):
    results, config = noisy
    claims = {task: next(c for c in _noisy_verdicts(results, config)
                         if c.startswith(f"{task}: the regime")) for task in NOISY_TASKS}
    fits = _scaled(results, "sgd", ["train_accuracy"], factor=0.0, shift=1.0)
    underfit = _scaled(results, "sgd", ["train_accuracy"], factor=0.8)
    for claim in claims.values():
        assert _noisy_verdicts(fits, config)[claim] == "consistent"
        assert _noisy_verdicts(underfit, config)[claim] == "inconsistent"
    # it reads SGD at its largest learning rate (the configuration that fits most), not the rest
    sgd = (results.method == "sgd") & (results.measure == "train_accuracy")
    largest = sgd & (results.config == "lr=0.5")
    only_largest, all_but = results.copy(), results.copy()
    only_largest.loc[sgd, "value"] = np.where(largest[sgd], 1.0, 0.5)
    all_but.loc[sgd, "value"] = np.where(largest[sgd], 0.5, 1.0)
    for claim in claims.values():
        assert _noisy_verdicts(only_largest, config)[claim] == "consistent"
        assert _noisy_verdicts(all_but, config)[claim] == "inconsistent"


@pytest.mark.parametrize(("measure", "claim", "fewer", "more"), [
    ("memorized_fraction", "fSGLD memorises fewer flipped labels than the best-tuned SGD",
     dict(factor=0.0), dict(factor=0.0, shift=1.0)),
    ("top_eigenvalue", "fSGLD ends flatter than the best-tuned SGD (top Hessian eigenvalue)",
     dict(factor=0.1), dict(factor=10.0)),
    ("trace", "fSGLD ends flatter than the best-tuned SGD (Hessian trace)",
     dict(factor=0.1), dict(factor=10.0))])
def test_mechanism_claims_can_fail(noisy, measure, claim, fewer, more):
    results, config = noisy
    rng = np.random.default_rng(4)
    for change, expected in ((fewer, "consistent"), (more, "inconsistent")):
        out = _scaled(results, "fsgld", [measure], **change)
        rows = (out.method == "fsgld") & (out.measure == measure)
        jitter = 1 + 0.01 * rng.standard_normal(int(rows.sum()))  # a spread for the t interval
        out.loc[rows, "value"] = out.loc[rows, "value"] * jitter + 0.001 * (jitter - 1)
        verdicts = _noisy_verdicts(out, config)
        for task in NOISY_TASKS:
            assert verdicts[f"{task}: {claim}"] == expected, (task, change)


def test_noisy_labels_seeds_are_the_units(noisy):
    """The task-level interval is t_{0.975, seeds-1} times the SE of the per-seed mean
    differences (each seed averaged over the task's settings), recomputed by hand."""
    from scipy import stats

    results, config = noisy
    p = nn_noisy_labels.Params.from_config(config)
    end = nn_noisy_labels.arm_runs(results, p, "end")
    summary = nn_noisy_labels.summarize(results, config)
    for task in NOISY_TASKS:
        part = end[end.task == task]
        keys = ["noise", "noise_rate", "seed"]
        pairs = part[part.arm == "fsgld"][[*keys, "test"]].merge(
            part[part.arm == "sgd_best"][[*keys, "test"]], on=keys)
        per_seed = (pairs.test_x - pairs.test_y).groupby(pairs.seed).mean()
        se = per_seed.std(ddof=1) / np.sqrt(len(per_seed))
        key = f"fsgld-sgd_best[{task}, end]"
        assert summary.fitted[key] == pytest.approx(per_seed.mean(), abs=1e-9)
        assert summary.fitted[f"{key}_stderr"] == pytest.approx(se, abs=1e-9)
        claim = next(v for v in summary.verdicts if v.claim.startswith(
            f"{task}: fSGLD's test accuracy at the end"))
        assert f"({len(per_seed) - 1} dof)" in claim.reason
        half = stats.t.ppf(0.975, len(per_seed) - 1) * se
        assert f"{100 * (per_seed.mean() + half):+.2f}]" in claim.reason


def test_arms_select_on_validation_within_their_candidates(noisy):
    """sgd_best is the better (on validation) of SGD's two families; the matched arms sit at
    fSGLD's selected sigma and beta; the regime arms stay in their range of beta; early stopping
    selects on the best epoch's validation accuracy."""
    results, config = noisy
    p = nn_noisy_labels.Params.from_config(config)
    for outcome in nn_noisy_labels.OUTCOMES:
        runs = nn_noisy_labels.arm_runs(results, p, outcome)
        val = runs.groupby(["task", "noise", "noise_rate", "arm"]).validation.mean()
        best = val.xs("sgd_best", level="arm")
        either = np.maximum(val.xs("sgd", level="arm"), val.xs("sgd_wd", level="arm"))
        np.testing.assert_allclose(best, either.loc[best.index])
        configs = runs.groupby(["task", "noise", "noise_rate", "arm"]).config.first()
        for setting in best.index:
            fsgld = dict(part.split("=") for part in configs[(*setting, "fsgld")].split())
            rwp = dict(part.split("=") for part in configs[(*setting, "rwp@fsgld")].split())
            sgld = dict(part.split("=") for part in configs[(*setting, "sgld@fsgld")].split())
            assert rwp["sigma"] == fsgld["sigma"] and sgld["beta"] == fsgld["beta"]
            for arm, inside in (("fsgld[paper]", lambda b: 1e7 <= b <= 1e9),
                                ("fsgld[hot]", lambda b: b < 1e7)):
                beta = float(dict(part.split("=") for part in
                                  configs[(*setting, arm)].split())["beta"])
                assert inside(beta), (arm, beta)
    # early stopping selects on best_validation_accuracy: lowering it for one fSGLD
    # configuration everywhere moves that outcome's selection only
    end = nn_noisy_labels.arm_runs(results, p, "end")
    early = nn_noisy_labels.arm_runs(results, p, "early stopping")
    chosen = early[early.arm == "fsgld"].config.iloc[0]
    out = results.copy()
    rows = ((out.method == "fsgld") & (out.config == chosen)
            & (out.measure == "best_validation_accuracy"))
    out.loc[rows, "value"] = 0.0
    moved = nn_noisy_labels.arm_runs(out, p, "early stopping")
    assert chosen not in set(moved[moved.arm == "fsgld"].config)
    pd.testing.assert_frame_equal(nn_noisy_labels.arm_runs(out, p, "end"), end)


def test_selection_ties_follow_the_stated_rule_for_every_method():
    """Ties go to the smaller learning rate, then the weaker regularisation, whatever the
    grid's order; no tie: the best validation accuracy wins."""
    select = nn_noisy_labels.select_configuration
    assert select(["lr=0.5", "lr=0.4"], [0.6, 0.6]) == (1, [0, 1])
    assert select(["lr=0.5 rho=0.1", "lr=0.5 rho=0.05"], [0.6, 0.6 + 1e-8])[0] == 1
    assert select(["lr=0.5 sigma=0.0794", "lr=0.5 sigma=0.0224"], [0.6, 0.6])[0] == 1
    assert select(["lr=0.5 beta=10000", "lr=0.5 beta=1e+06"], [0.6, 0.6])[0] == 1
    assert select(["lr=0.5 beta=10000 sigma=0.0794", "lr=0.5 beta=1e+06 sigma=0.0224"],
                  [0.6, 0.6])[0] == 1
    assert select(["lr=0.5 wd=0.02", "lr=0.5 wd=0.005"], [0.6, 0.6])[0] == 1
    assert select(["lr=0.4 rho=0.5", "lr=0.5 rho=0.1"], [0.6, 0.6])[0] == 0  # rate first
    assert select(["lr=0.5", "lr=0.4"], [0.61, 0.6]) == (0, [0])


def test_regimes_of_beta():
    """The paper's range [1e7, 1e9]; RWP's beta is the grid's beta whose 3-digit sigma its label
    shows (inverting 0.0119 would give 9.93e6: "hot")."""
    p = nn_noisy_labels.Params()
    assert [nn_noisy_labels.regime(b) for b in (1e4, 9.9e6, 1e7, 1e9, 1e10)] == [
        "hot", "hot", "paper", "paper", "cold"]
    for beta in p.langevin_betas:
        label = f"lr=0.5 sigma={float(nn_noisy_labels.coupled_sigma(beta, 0.1)):.3g}"
        assert nn_noisy_labels.config_beta(label, p) == beta
    assert nn_noisy_labels.config_beta("lr=0.5 sigma=0.0119", p) == 1e7
    assert nn_noisy_labels.config_beta("lr=0.5 sigma=0.01", p) == pytest.approx(
        0.01 ** (-4 / 1.1))
    assert np.isnan(nn_noisy_labels.config_beta("lr=0.5 rho=0.1", p))


# --- nn-coupling -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def coupling():
    return _committed("nn-coupling")


def _with_accuracy(results, config, accuracy):
    """A copy whose per-seed test accuracy is ``accuracy(row of per_cell, seed)``."""
    table = nn_coupling.per_cell(results, config).set_index("cell_id")
    out = results.copy()
    rows = out.measure == "test_accuracy"
    out.loc[rows, "value"] = [accuracy(table.loc[c], int(s))
                              for c, s in zip(out.cell_id[rows], out.seed[rows], strict=True)]
    return out


def _flat(rng):
    return lambda cell, seed: 0.45 + 0.01 * seed + 0.001 * rng.standard_normal()


def test_plateau_claim_can_fail(coupling):
    results, config = coupling
    claim = "test accuracy is on a plateau for eta in (0,1)"
    flat = _with_accuracy(results, config, _flat(np.random.default_rng(1)))
    assert _verdicts(nn_coupling.summarize(flat, config))[claim] == "consistent"
    rng = np.random.default_rng(2)

    def one_off(cell, seed):  # one inside cell 10 pp below the others at its beta
        low = cell.sigma_rule == "eta=0.5" and cell.beta == 1e8
        return 0.45 + 0.01 * seed - 0.1 * low + 0.001 * rng.standard_normal()

    off = _with_accuracy(results, config, one_off)
    assert _verdicts(nn_coupling.summarize(off, config))[claim] == "inconsistent"


@pytest.mark.parametrize(("side", "outside"), [
    ("eta <= 0 (sigma above the coupling)", lambda eta: eta <= 0),
    ("eta >= 1 (sigma below the coupling, towards SGLD)", lambda eta: eta >= 1)])
def test_drop_outside_the_range_can_fail(coupling, side, outside):
    results, config = coupling
    claim = f"accuracy drops when the implied eta leaves (0,1) on the side {side}"
    for drop, expected in ((0.2, "consistent"), (0.0, "inconsistent")):
        rng = np.random.default_rng(3)
        flat = _flat(rng)

        def accuracy(cell, seed, drop=drop, flat=flat):
            return flat(cell, seed) - drop * outside(cell.implied_eta)

        out = _with_accuracy(results, config, accuracy)
        assert _verdicts(nn_coupling.summarize(out, config))[claim] == expected, drop


def test_drop_uses_the_between_cell_error(coupling):
    """The committed eta <= 0 side: 7 cells with gaps -2.2, +6.0, +6.3, +0.4, +0.4, -0.6, -1.1
    pp; the SE is their spread over sqrt(7) (1.29 pp), not the seeds' within a cell:
    inconclusive. Recomputed by hand from the paired seeds."""
    results, config = coupling
    summary = nn_coupling.summarize(results, config)
    claim = ("accuracy drops when the implied eta leaves (0,1) on the side eta <= 0 (sigma "
             "above the coupling)")
    assert _verdicts(summary)[claim] == "inconclusive"
    table = nn_coupling._with_plateau(nn_coupling.per_cell(results, config))
    pairs = nn_coupling.plateau_pairs(results, table)
    outside = table[(table.implied_eta <= 0) & table.plateau.notna()].cell_id
    gaps = (pairs[pairs.cell_id.isin(outside)].assign(gap=lambda d: d.accuracy - d.plateau)
            .groupby("cell_id").gap.mean())
    assert len(gaps) == 7
    assert summary.fitted["gap_outside[eta <= 0]"] == pytest.approx(gaps.mean(), abs=1e-9)
    assert summary.fitted["gap_outside_stderr[eta <= 0]"] == pytest.approx(
        gaps.std(ddof=1) / np.sqrt(7), abs=1e-9)
    assert summary.fitted["gap_outside_stderr[eta <= 0]"] == pytest.approx(0.0129, abs=0.0005)


# --- nn-cost ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cost():
    return _committed("nn-cost")


@pytest.mark.parametrize(("baseline", "limit", "name"), [
    ("sgd", nn_cost.SGD_LIKE, "fSGLD costs about SGD per step"),
    ("sam", nn_cost.HALF_OF_SAM, "fSGLD costs about half of SAM per step")])
def test_cost_claims_can_fail(cost, baseline, limit, name):
    """fSGLD's ratio and its interval set to 0.8 or 1.3 times the limit, in every cell."""
    results, config = cost
    measures = [f"relative_to_{baseline}{end}" for end in ("", "_low", "_high")]
    for factor, expected in ((0.8, "consistent"), (1.3, "inconsistent")):
        out = results.copy()
        rows = (out.method == "fsgld") & out.measure.isin(measures)
        spread = {"": 1.0, "_low": 0.97, "_high": 1.03}
        out.loc[rows, "value"] = [factor * limit * spread[m[len(measures[0]):]]
                                  for m in out.measure[rows]]
        verdicts = [v for v in nn_cost.summarize(out, config).verdicts
                    if v.claim.startswith(name)]
        assert len(verdicts) == 6 and {v.verdict for v in verdicts} == {expected}, factor


# --- pinn-dcgd -------------------------------------------------------------------------------

def _pinn_runs(ratio: dict[str, float], seeds: int = 3, noise: float = 0.1) -> pd.DataFrame:
    """Per (problem, method, seed): the best-loss error; every claim's baseline lognormal
    around 1e-2, each claimed method that times ``ratio[problem]`` with independent noise."""
    rng = np.random.default_rng(4)
    rows = []
    for problem, r in ratio.items():
        for seed in range(seeds):
            base = 1e-2 * np.exp(0.3 * rng.standard_normal())
            for method in pinn_dcgd.METHOD_LABELS:
                claimed = method in {m for m, _, _ in pinn_dcgd.CLAIMS}
                value = base * (r if claimed else 1.0) * np.exp(noise * rng.standard_normal())
                rows.append({"problem": problem, "method": method, "seed": seed,
                             "rel_l2_best_loss": value})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("ratio", "expected"), [(0.3, "consistent"), (3.0, "inconsistent")])
def test_dcgd_claims_can_fail(ratio, expected):
    """Pooled over problems and on each problem alone."""
    problems = ("burgers", "helmholtz2d", "klein-gordon")
    verdicts, _ = pinn_dcgd._verdicts(_pinn_runs(dict.fromkeys(problems, ratio), seeds=5))
    assert len(verdicts) == len(pinn_dcgd.CLAIMS) * (1 + len(problems))
    assert {v.verdict for v in verdicts} == {expected}


def test_dcgd_claim_can_fail_on_one_problem_only():
    """The method is 3x better on two problems and 3x worse on the third: the per-problem
    verdicts say so (seeds as units, 4 dof), the pooled one cannot decide."""
    runs = _pinn_runs({"burgers": 0.33, "helmholtz2d": 0.33, "klein-gordon": 3.0}, seeds=5)
    verdicts, _ = pinn_dcgd._verdicts(runs)
    by_claim = {v.claim: v for v in verdicts}
    for _, _, claim in pinn_dcgd.CLAIMS:
        assert by_claim[claim].verdict == "inconclusive"
        assert by_claim[f"{claim} on klein-gordon"].verdict == "inconsistent"
        assert by_claim[f"{claim} on burgers"].verdict == "consistent"
        assert "t quantiles (4 dof)" in by_claim[f"{claim} on burgers"].reason


def test_dcgd_problems_are_the_units():
    """Gains that differ by problem (ratios 0.3, 0.5, 1): the 9 paired seeds taken as independent
    pairs would declare "beats" (t quantile, 8 dof); with the 3 problems as units (2 dof) the
    spread between problems leaves it inconclusive."""
    from sgldsim.verdicts import paired_comparison

    runs = _pinn_runs({"burgers": 0.3, "helmholtz2d": 0.5, "klein-gordon": 1.0}, noise=0.05)
    verdicts, _ = pinn_dcgd._verdicts(runs)
    pooled = verdicts[:len(pinn_dcgd.CLAIMS)]
    assert [v.claim for v in pooled] == [c for _, _, c in pinn_dcgd.CLAIMS]
    assert {v.verdict for v in pooled} == {"inconclusive"}
    assert all("3 units" in v.reason for v in pooled)
    for method, baseline, _ in pinn_dcgd.CLAIMS:
        d = pinn_dcgd._paired(runs, method, baseline)
        pairs = paired_comparison(d.a.to_numpy(), d.b.to_numpy(), direction="a < b")
        assert pairs.verdict.verdict == "consistent"


def test_dcgd_committed_run_verdicts_use_problems_as_units():
    results = pd.read_parquet(RUNS / "pinn-dcgd-table" / "results.parquet",
                              filters=[("measure", "in", list(pinn_dcgd.MEASURES))])
    verdicts, fitted = pinn_dcgd._verdicts(pinn_dcgd._selected(pinn_dcgd.per_run(results)))
    pooled, per_problem = verdicts[:len(pinn_dcgd.CLAIMS)], verdicts[len(pinn_dcgd.CLAIMS):]
    assert all("t quantiles (2 dof)" in v.reason for v in pooled)
    assert len(per_problem) == 3 * len(pinn_dcgd.CLAIMS)
    assert all("t quantiles (4 dof)" in v.reason for v in per_problem)  # 5 seeds
    # The mean over problems of the per-problem mean log error ratio, recomputed from the rows.
    best = results[results.measure == "rel_l2_best_loss"].pivot_table(
        index=["problem", "seed"], columns="method", values="value")
    log_ratio = np.log(best["dcgd-center"]) - np.log(best["adam"])
    expected = log_ratio.groupby(level="problem").mean().mean()
    assert fitted["log_error_ratio[dcgd-center/adam]"] == pytest.approx(expected, rel=1e-9)


def test_dcgd_committed_run_is_in_the_regime():
    """Acceptance of issue 21: at least 1280 collocation points and 5 seeds, and DCGD-Center's
    best-loss error on Helmholtz 2-D has a geometric mean of at most 0.05."""
    import tomllib

    config = tomllib.loads((RUNS / "pinn-dcgd-table" / "config.toml").read_text())
    for problem in config["grid"]["problem"]:  # unset: the paper's count for the problem
        n = config["params"].get("n_residual") or pinn_dcgd.pinn.PAPER_SETUP[problem].n_residual
        assert n >= 1280
    results = pd.read_parquet(RUNS / "pinn-dcgd-table" / "results.parquet",
                              filters=[("measure", "==", "rel_l2_best_loss")])
    center = results[(results.problem == "helmholtz2d") & (results.method == "dcgd-center")]
    assert center.seed.nunique() >= 5
    assert np.exp(np.log(center.value).mean()) <= 0.05

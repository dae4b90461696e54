"""Falsification tests for the rate claims of convergence, excess-risk, step-size-rate and
demo-quadratic (issue 20): every claim their summaries judge comes out "inconsistent" (or
"untestable" where the design cannot resolve it) on data generated under a violated claim, and
"consistent" on data under the claim.

The data are copies of the committed runs (paper_figures/<name>/results.parquet) with the measure
a claim is about replaced by a synthetic law: an exponential, a power law, 1 / log t, growth, a
shifted plateau. demo-quadratic has no committed run: a small run is made once (a few seconds).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sgldsim.experiments.common.fits import ballistic_end
from sgldsim.experiments.fsgld_theory import (
    convergence,
    demo_quadratic,
    excess_risk,
    step_size_rate,
)
from sgldsim.potentials.catalogue import landscape
from sgldsim.runner import load_run, run_experiment

ROOT = Path(__file__).resolve().parents[1] / "paper_figures"


def _committed(name: str):
    return pd.read_parquet(ROOT / name / "results.parquet"), load_run(ROOT / name).config


def _verdicts(module, results, config) -> dict[str, str]:
    """{claim: verdict} (:func:`_verdict` finds a claim by its text or a unique prefix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = module.summarize(results, config)
    return {v.claim: v.verdict for v in summary.verdicts}


def _verdict(verdicts: dict[str, str], start: str) -> str:
    if start in verdicts:
        return verdicts[start]
    found = [v for c, v in verdicts.items() if c.startswith(start)]
    assert len(found) == 1, (start, list(verdicts))
    return found[0]


# --- convergence ---------------------------------------------------------------------------------

DECAYS = {  # the transient's shape in the time t = lam k, 1 at the end of the ballistic phase
    "exponential": lambda t, t0: np.exp(-0.15 * (t - t0)),
    "power law t^-0.5": lambda t, t0: np.sqrt(t0 / t),
    "1 / log t": lambda t, t0: np.log(np.e * t0) / np.log(np.e * t),
    "growth": lambda t, t0: np.exp(0.03 * (t - t0)),
}
DECAY_VERDICT = {"exponential": "consistent", "power law t^-0.5": "inconsistent",
                 "1 / log t": "inconsistent", "growth": "inconsistent"}


@pytest.fixture(scope="module")
def convergence_run():
    return _committed("convergence")


def _convergence_transient(results, config, shape, amplitude=0.15, seed=0):
    """W1(particles, chain law) = floor + amplitude * shape(t) + N(0, floor std) noise (W2 the
    same law, scaled by 2), from the ballistic phase's end on; the committed values before."""
    fixed = convergence.Params.from_config(config)
    t0 = ballistic_end(landscape(fixed.potential), fixed.x0)
    out = results.copy()
    rng = np.random.default_rng(seed)
    for cell_id, lam in out.groupby("cell_id").step_size.first().items():
        for p, scale in ((1, 1.0), (2, 2.0)):
            at = lambda m, c=cell_id: (out.cell_id == c) & (out.measure == m) & (
                out.target == "chain")
            floor = out.loc[at(f"w{p}_floor") & out.step.isna(), "value"].iloc[0]
            std = out.loc[at(f"w{p}_floor_std") & out.step.isna(), "value"].iloc[0]
            rows = at(f"w{p}") & (out.source == "particles") & (out.step * lam >= t0)
            t = out.loc[rows, "step"].to_numpy() * lam
            out.loc[rows, "value"] = (floor + scale * amplitude * shape(t, t0)
                                      + std * rng.standard_normal(t.size))
    return out


def test_convergence_committed_verdicts(convergence_run):
    verdicts = _verdicts(convergence, *convergence_run)
    assert _verdict(verdicts, "W1(Law(theta_k), chain law)") == "consistent"
    assert _verdict(verdicts, "the particle law settles") == "consistent"
    assert _verdict(verdicts, "plateau's discretisation part W1") == "consistent"
    assert _verdict(verdicts, "plateau's discretisation part W2") == "consistent"


@pytest.mark.parametrize("shape", list(DECAYS))
def test_convergence_decay_claim_fails_for_sub_exponential_decay_and_growth(convergence_run,
                                                                           shape):
    """Thm 3.5's first term: only an exponential transient is consistent; t^-0.5 and 1 / log t
    (the old window called both exponential) and growth are inconsistent."""
    results, config = convergence_run
    changed = _convergence_transient(results, config, DECAYS[shape])
    verdict = _verdict(_verdicts(convergence, changed, config), "W1(Law(theta_k), chain law)")
    assert verdict == DECAY_VERDICT[shape]


def test_convergence_plateau_claim_fails_when_the_particles_stay_off(convergence_run):
    results, config = convergence_run
    changed = results.copy()
    last = changed.step.max()
    cell = changed.cell_id.iloc[0]
    late = ((changed.cell_id == cell) & (changed.measure == "w1") & (changed.target == "chain")
            & (changed.source == "particles") & (changed.step >= 0.75 * last))
    changed.loc[late, "value"] += 0.05  # about 10 floor standard deviations above the floor
    verdict = _verdict(_verdicts(convergence, changed, config), "the particle law settles")
    assert verdict == "inconsistent"


def test_convergence_plateau_of_a_short_run_is_inconclusive(convergence_run):
    """A transient far from over at the last records (rate 0.005 in lam k): the particles are
    off the floor, but the fitted transient explains it: more steps are needed."""
    results, config = convergence_run
    slow = lambda t, t0: np.exp(-0.005 * (t - t0))
    changed = _convergence_transient(results, config, slow, amplitude=0.3)
    verdict = _verdict(_verdicts(convergence, changed, config), "the particle law settles")
    assert verdict == "inconclusive"


@pytest.mark.parametrize(("p", "exponent", "expected"), [
    (1, 0.1, "inconsistent"), (1, 0.0, "inconsistent"), (1, 0.8, "consistent"),
    (2, 0.05, "inconsistent"), (2, 0.5, "consistent"),
])
def test_convergence_plateau_exponents_fail_below_the_bound(convergence_run, p, exponent,
                                                            expected):
    """Thm 3.5: W1(chain, pi^f) = O(lam^(1/2)), W2 = O(lam^(1/4)); an exact part decaying more
    slowly (or not at all) contradicts it."""
    results, config = convergence_run
    changed = results.copy()
    rows = ((changed.measure == f"w{p}") & (changed.source == "chain")
            & (changed.target == "pi_f"))
    changed.loc[rows, "value"] = 0.3 * changed.loc[rows, "step_size"] ** exponent
    verdict = _verdict(_verdicts(convergence, changed, config),
                       f"plateau's discretisation part W{p}")
    assert verdict == expected


# --- excess-risk ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def excess_run():
    return _committed("excess-risk")


def _level(results, source):
    rows = (results.measure == "stationary_excess_risk") & (results.source == source)
    return results[rows].set_index("cell_id").value


def _excess_transient(results, config, shape, amplitude=-0.04, seed=1):
    """E v(theta_k) - min v = E_chain v - min v + amplitude * shape(t) + N(0, SE) from the end of
    the ballistic phase on (negative amplitude: the return from below of the committed runs)."""
    fixed = excess_risk.Params.from_config(config)
    t0 = ballistic_end(landscape(fixed.potential), fixed.x0)
    out = results.copy()
    level = _level(out, "chain")
    rng = np.random.default_rng(seed)
    for cell_id, lam in out.groupby("cell_id").step_size.first().items():
        rows = (out.cell_id == cell_id) & (out.measure == "excess_risk") & (out.step * lam >= t0)
        se_rows = ((out.cell_id == cell_id) & (out.measure == "excess_risk_stderr")
                   & (out.step * lam >= t0))
        t = out.loc[rows, "step"].to_numpy() * lam
        se = out.loc[se_rows, "value"].to_numpy()
        out.loc[rows, "value"] = (level[cell_id] + amplitude * shape(t, t0)
                                  + se * rng.standard_normal(t.size))
    return out


def _set_chain_level(results, part):
    """Stationary E_chain v - min v := E_pi^f v - min v + part(lam)."""
    out = results.copy()
    pi_f = _level(out, "pi_f")
    rows = (out.measure == "stationary_excess_risk") & (out.source == "chain")
    out.loc[rows, "value"] = (out.loc[rows, "cell_id"].map(pi_f)
                              + part(out.loc[rows, "step_size"])).to_numpy()
    return out


def test_excess_risk_committed_verdicts(excess_run):
    verdicts = _verdicts(excess_risk, *excess_run)
    assert _verdict(verdicts, "E v(theta_k) - E_chain v") == "consistent"
    assert _verdict(verdicts, "the particle excess risk settles") == "consistent"
    # The lam-dependent part is negative at every step size: the upper bound cannot be violated.
    assert _verdict(verdicts, "stationary excess risk") == "untestable"
    assert _verdict(verdicts, "|E_chain v - E_pi^f v|") == "consistent"


@pytest.mark.parametrize("shape", list(DECAYS))
def test_excess_risk_decay_claim_fails_for_sub_exponential_decay_and_growth(excess_run, shape):
    results, config = excess_run
    slow = {"exponential": lambda t, t0: np.exp(-0.1 * (t - t0))}.get(shape, DECAYS[shape])
    changed = _excess_transient(results, config, slow)
    verdict = _verdict(_verdicts(excess_risk, changed, config), "E v(theta_k) - E_chain v")
    assert verdict == DECAY_VERDICT[shape]


def test_excess_risk_plateau_claim_fails_off_the_stationary_level(excess_run):
    results, config = excess_run
    changed = results.copy()
    cell = changed.cell_id.iloc[0]
    final = changed[(changed.cell_id == cell) & (changed.measure == "excess_risk")].step.max()
    rows = ((changed.cell_id == cell) & (changed.measure == "excess_risk")
            & (changed.step == final))
    changed.loc[rows, "value"] += 0.03  # about 10 standard errors
    verdict = _verdict(_verdicts(excess_risk, changed, config), "the particle excess risk")
    assert verdict == "inconsistent"


@pytest.mark.parametrize(("part", "signed", "magnitude"), [
    (lambda lam: 0.2 * lam**0.1, "inconsistent", "inconsistent"),   # positive, too slow
    (lambda lam: 5.0 * lam, "consistent", "consistent"),            # positive, fast enough
    (lambda lam: -0.2 * lam**0.1, "untestable", "inconsistent"),    # negative, too slow
    (lambda lam: -0.05 + 0 * lam, "untestable", "inconsistent"),    # negative, no decay
])
def test_excess_risk_step_size_claims(excess_run, part, signed, magnitude):
    """Thm 3.8's D2' lam^(1/4): the bound as stated fails only for a positive part decaying
    more slowly than lam^(1/4) (a negative part cannot exceed it: untestable); the magnitude
    claim fails for any part decaying more slowly, whatever its sign."""
    results, config = excess_run
    verdicts = _verdicts(excess_risk, _set_chain_level(results, part), config)
    assert _verdict(verdicts, "stationary excess risk") == signed
    assert _verdict(verdicts, "|E_chain v - E_pi^f v|") == magnitude


# --- step-size-rate ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def step_size_run():
    return _committed("step-size-rate")


def _scale_exact(results, p, law, beta=None):
    """exact W_p(chain, pi^f) := law(lam) (and the between-basin part of W2 in proportion)."""
    out = results.copy()
    chosen = out.beta == beta if beta is not None else np.ones(len(out), bool)
    rows = (out.measure == f"w{p}") & (out.source == "chain") & (out.target == "pi_f") & chosen
    new = law(out.loc[rows, "step_size"])
    if p == 2:
        ratio = (new / out.loc[rows, "value"]).set_axis(out.loc[rows, "cell_id"])
        between = (out.measure == "w2_between_basins") & chosen
        out.loc[between, "value"] *= out.loc[between, "cell_id"].map(ratio).to_numpy()
    out.loc[rows, "value"] = new
    return out


def test_step_size_rate_committed_verdicts(step_size_run):
    verdicts = _verdicts(step_size_rate, *step_size_run)
    for beta in (3, 12):
        for p in (1, 2):
            assert _verdict(verdicts, f"discretisation bias W{p}(chain law, pi^f) = O(lam^"
                            f"{0.5 if p == 1 else 0.25:g}) at beta={beta}") == "consistent"
    assert _verdict(verdicts, "multimodal: W2 ~ d sqrt(mass mismatch), so W2's exponent is "
                    "about half of W1's (docs/theory.md §6) at beta=12") == "consistent"
    assert _verdict(verdicts, "particles started at the exact chain law") == "consistent"


@pytest.mark.parametrize(("p", "exponent", "expected"), [
    (1, 0.2, "inconsistent"), (1, 0.0, "inconsistent"), (1, 0.7, "consistent"),
    (2, 0.1, "inconsistent"), (2, 0.4, "consistent"),
])
def test_step_size_rate_exponents_fail_below_the_bound(step_size_run, p, exponent, expected):
    results, config = step_size_run
    changed = _scale_exact(results, p, lambda lam: 0.5 * lam**exponent)
    verdicts = _verdicts(step_size_rate, changed, config)
    for beta in (3, 12):
        assert _verdict(verdicts, f"discretisation bias W{p}(chain law, pi^f) = O(lam^"
                        f"{0.5 if p == 1 else 0.25:g}) at beta={beta}") == expected


def test_step_size_rate_multimodal_claim_fails_when_w2_tracks_w1(step_size_run):
    """Where mass moves between wells (beta = 12), W2 with W1's exponent contradicts W2 ~ d
    sqrt(mass mismatch)."""
    results, config = step_size_run
    w1 = results[(results.measure == "w1") & (results.source == "chain")
                 & (results.target == "pi_f") & (results.beta == 12)]
    slope = np.polyfit(np.log(w1.step_size), np.log(w1.value), 1)[0]
    changed = _scale_exact(results, 2, lambda lam: 3.0 * lam**slope, beta=12)
    verdict = _verdict(_verdicts(step_size_rate, changed, config),
                       "multimodal: W2 ~ d sqrt(mass mismatch), so W2's exponent is about half "
                       "of W1's (docs/theory.md §6) at beta=12")
    assert verdict == "inconsistent"


def test_step_size_rate_particles_that_drift_off_the_chain_law(step_size_run):
    results, config = step_size_run
    changed = results.copy()
    cell = changed.cell_id.iloc[0]
    rows = ((changed.cell_id == cell) & (changed.measure == "w1")
            & (changed.source == "particles") & (changed.target == "chain"))
    changed.loc[rows, "value"] += 0.02  # about 10 floor standard deviations
    verdict = _verdict(_verdicts(step_size_rate, changed, config), "particles started")
    assert verdict == "inconsistent"


# --- demo-quadratic ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    run = run_experiment("demo-quadratic", ["params.n_particles=10000", "params.n_steps=100"],
                         tmp_path_factory.mktemp("demo"), progress=False)
    return run.results, run.config


def _demo_with(results, variance):
    """variance_mc := variance(cell rows) (and its standard error with it)."""
    out = results.copy()
    wide = out.pivot(index="cell_id", columns="measure", values="value")
    cells = out.drop_duplicates("cell_id").set_index("cell_id")
    new = variance(wide, cells)
    n = 10_000
    for measure, values in (("variance_mc", new), ("variance_mc_stderr",
                                                   new * np.sqrt(2.0 / (n - 1)))):
        rows = out.measure == measure
        out.loc[rows, "value"] = out.loc[rows, "cell_id"].map(values).to_numpy()
    return out


def test_demo_quadratic_committed_claims_hold(demo_run):
    verdicts = _verdicts(demo_quadratic, *demo_run)
    assert _verdict(verdicts, "Var x_n") == "consistent"
    for beta in (1, 10):
        assert _verdict(verdicts, f"step-size bias Var/Var_pi_beta - 1 = O(lam) at "
                        f"beta={beta}") == "consistent"


def test_demo_quadratic_variance_claim_fails_off_the_exact_variance(demo_run):
    results, config = demo_run
    shifted = _demo_with(results, lambda wide, cells: wide.variance_mc * np.where(
        np.arange(len(wide)) == 0, 1.08, 1.0))  # one cell 8 % (about 6 SE) off
    assert _verdict(_verdicts(demo_quadratic, shifted, config), "Var x_n") == "inconsistent"


def test_demo_quadratic_bias_order_fails_for_a_slower_bias(demo_run):
    """Var / Var_pi_beta - 1 = 0.5 lam^0.3: far from first order in lam."""
    results, config = demo_run
    slow = _demo_with(results, lambda wide, cells: wide.variance_gibbs
                      * (1 + 0.5 * cells.step_size.reindex(wide.index) ** 0.3))
    verdicts = _verdicts(demo_quadratic, slow, config)
    for beta in (1, 10):
        assert _verdict(verdicts, f"step-size bias Var/Var_pi_beta - 1 = O(lam) at "
                        f"beta={beta}") == "inconsistent"

"""Theory experiments B: convergence, step-size-rate, excess-risk, perturbation-noise.

Smoke runs at tiny sizes (each a few seconds) check that every experiment runs end to end,
stores the measures its summary needs and reaches verdicts; the physical checks test the pieces
against independent truth (closed forms, synthetic series with a known rate).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from summary_checks import undocumented_columns

from sgldsim.distances import wasserstein
from sgldsim.experiments.common.fits import (
    FAST_EFOLDS,
    ballistic_end,
    decay_verdict,
    settling_verdict,
)
from sgldsim.experiments.fsgld_theory.perturbation_noise import (
    harmonic_relative_w2,
    quadratic_chain_variance,
)
from sgldsim.measures import gibbs_1d
from sgldsim.measures.stationary import (
    between_basin_w2,
    chain_law,
    distance,
    global_minimum,
    stable_interval,
    target_measures,
)
from sgldsim.potentials import Quadratic
from sgldsim.potentials.catalogue import landscape
from sgldsim.runner import ConfigError, run_experiment
from sgldsim.verdicts import VERDICTS, exponential_decay, matches_reference

TINY = {
    "convergence": ["params.n_particles=300", "params.n_steps=1500", "params.n_records=21",
                    "grid.step_size=[0.0025, 0.005]"],
    "excess-risk": ["params.n_particles=300", "params.n_steps=1500", "params.n_records=21",
                    "grid.step_size=[0.0025, 0.005]"],
    "step-size-rate": ["params.n_particles=300", "params.n_steps=200", "grid.beta=[12.0]",
                       "grid.step_size=[0.0005, 0.001, 0.002]"],
    "perturbation-noise": ["grid.step_size=[0.002]", "grid.sigma2_beta=[0.1, 0.3, 1.0]"],
}
EXPECTED_MEASURES = {
    "convergence": {"w1", "w2", "w1_floor", "w2_floor", "w1_floor_std", "diverged_at"},
    "excess-risk": {"excess_risk", "excess_risk_stderr", "stationary_excess_risk", "min_v"},
    "step-size-rate": {"w1", "w2", "w1_floor", "w2_between_basins", "mass_shift"},
    "perturbation-noise": {"w2", "w2_closed_form", "w2_relative", "x", "flat_mass_shift"},
}


@pytest.fixture(scope="module", params=list(TINY))
def run(request, tmp_path_factory):
    """One experiment at tiny size (module scope: shared by the tests that need it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # chain_invariant's accuracy notes
        return run_experiment(request.param, TINY[request.param],
                              tmp_path_factory.mktemp(request.param), progress=False)


def test_smoke_run_stores_measures_and_verdicts(run):
    assert EXPECTED_MEASURES[run.config.name] <= set(run.results.measure)
    assert np.isfinite(run.results.value).all()
    assert run.summary.verdicts
    assert all(v.verdict in VERDICTS for v in run.summary.verdicts)
    assert "verdicts:" in (run.run_dir / "summary.txt").read_text()
    assert [p.suffix for p in run.figures] == [".png", ".pdf"]
    assert all(p.stat().st_size > 0 for p in run.figures)
    assert undocumented_columns(run.summary) == set()
    assert "consistent" in run.summary.legend
    claims = {v.claim: v for v in run.summary.verdicts}
    if run.config.name == "step-size-rate":
        # Particles drawn from chain_invariant's law and run by simulate must stay there: the
        # simulator and the exact chain law agree (fails if either is off).
        stay = next(v for c, v in claims.items() if c.startswith("particles started"))
        assert stay.verdict == "consistent", stay.reason
    if run.config.name == "perturbation-noise":
        closed = next(v for c, v in claims.items() if c.startswith("quadratic"))
        assert closed.verdict == "consistent", closed.reason
        # TINY has one step size: x cannot be told apart from sigma^2 beta.
        collapse = next(v for c, v in claims.items() if "curves collapse" in c)
        assert collapse.verdict == "inconclusive" and "one value of step_size" in collapse.reason


@pytest.mark.parametrize(("lam", "sigma2_beta"), [(1.25e-4, 0.01), (2e-3, 0.3), (4e-3, 1.0)])
def test_chain_invariant_matches_the_quadratic_closed_form(lam, sigma2_beta):
    """Quadratic (docs/theory.md §5): chain law N(0, V), V = (lam a^2 sigma^2 + 2/beta)/(a (2 - lam
    a)), pi^f = N(0, 1/(beta a)); W2 = |sqrt V - sqrt(1/(beta a))| to 1e-3 relative, from x = 2e-3
    to x = 5."""
    a, beta = 320.0 / 9.0, 32.0
    sigma = np.sqrt(sigma2_beta / beta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        law = chain_law(Quadratic(a), lam, beta, sigma, n_grid=20_001)
    pi_f = gibbs_1d(Quadratic(a), beta)
    closed = abs(np.sqrt(quadratic_chain_variance(lam, beta, sigma, a)) - pi_f.std)
    assert distance(law, pi_f, 2) == pytest.approx(closed, rel=1e-3)
    x = lam * sigma**2 * beta * a**2
    assert closed / pi_f.std == pytest.approx(harmonic_relative_w2(x, lam * a), rel=1e-3)


def test_ballistic_end_is_five_efolds_in_the_well_reached_from_x0():
    """The double well's minima have u''(-1) = 320/9 and u''(1) = 32/9: from x0 = 2 the block
    slides into the flat well at +1, from x0 = -2 into the sharp one at -1."""
    u = landscape("sharp-flat-double-well")
    assert ballistic_end(u, 2.0) == pytest.approx(FAST_EFOLDS / (32 / 9), rel=1e-3)
    assert ballistic_end(u, -2.0) == pytest.approx(FAST_EFOLDS / (320 / 9), rel=1e-3)
    assert ballistic_end(u, 0.5) == pytest.approx(FAST_EFOLDS / (32 / 9), rel=1e-3)


def test_distance_is_wasserstein_and_finite_for_chain_laws():
    """``distance`` equals ``wasserstein`` wherever that is finite, and stays finite for chain
    laws whose cumulative masses overshoot 1 by rounding (its temporary workaround)."""
    u = landscape("sharp-flat-double-well")
    pi_f = target_measures(u, 10.0, 0.2)["pi_f"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # and wasserstein's nan division
        for lam in (0.002, 0.004):
            law = chain_law(u, lam, 10.0, 0.2)
            for p in (1, 2):
                ours = distance(law, pi_f, p)
                assert np.isfinite(ours)
                reference = wasserstein(law, pi_f, p)
                if np.isfinite(reference):
                    assert ours == pytest.approx(reference, rel=1e-12)


def test_between_basin_w2_is_distance_times_sqrt_mass():
    """Two point-like wells at +-1: moving mass dm from one to the other costs W2 = 2 sqrt(dm),
    all of it between the basins."""
    u = landscape("sharp-flat-double-well")
    a, b = gibbs_1d(u, 200.0), gibbs_1d(u.regularized(0.05), 200.0)
    dm = abs(a.cdf(0.0) - b.cdf(0.0))
    assert dm > 1e-3
    assert between_basin_w2(a, b, 0.0) == pytest.approx(2 * np.sqrt(dm), rel=0.05)
    assert between_basin_w2(a, b, 0.0) == pytest.approx(distance(a, b, 2), rel=0.02)


def test_minimum_and_stable_interval_of_the_double_well():
    u = landscape("sharp-flat-double-well")
    location, value = global_minimum(u)
    assert abs(abs(location) - 1.0) < 1e-9 and abs(value) < 1e-12
    lo, hi = stable_interval(u, 0.008)
    assert lo < -1 and hi > 1  # both wells are inside
    for edge in (lo, hi):
        assert 0.008 * float(u.laplacian(np.array([[edge]]))[0]) < 2.0


@pytest.mark.parametrize(("name", "override", "fragment"), [
    ("convergence", "grid.n_particles=[10, 20]", "grid.n_particles is not allowed"),
    ("excess-risk", "params.n_records=1", "params.n_records=1 is not allowed"),
    ("step-size-rate", "params.multimodal_tolerance=0.7", "multimodal_tolerance=0.7"),
    ("perturbation-noise", "grid.step_size=[0.1]", "step_size=0.1 is not allowed"),
])
def test_bad_values_are_rejected(tmp_path, name, override, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace(".", r"\.")):
        run_experiment(name, [override], tmp_path / "run", progress=False)


@pytest.mark.parametrize("z, left, expected", [
    ([1.0, -2.0], [np.nan, 0.3], "consistent"),
    ([9.0, 1.0], [0.2, np.nan], "inconsistent"),     # failing although the transient is gone
    ([9.0, 1.0], [4.0, np.nan], "inconclusive"),     # failing while the transient is still 4 > k
    ([9.0, 7.0], [4.0, 0.1], "inconsistent"),        # one failing cell has settled
])
def test_settling_verdict_separates_a_short_run_from_a_wrong_level(z, left, expected):
    match = matches_reference(np.asarray(z), 0.0, 1.0, side="above")  # threshold 2.81 (m = 2)
    assert settling_verdict(match, left, 1.0, "detail", side="above").verdict == expected


def test_decay_verdict_combines_the_step_sizes():
    """One exponential_decay per step size: all consistent -> consistent; one inconsistent ->
    inconsistent; one unresolved -> inconclusive. Rates are reported as c = factor x rate."""
    t = np.linspace(0.0, 10.0, 40)
    rng = np.random.default_rng(3)
    fit = lambda y: exponential_decay(t, y + 0.001 * rng.standard_normal(t.size), floor=0.0,
                                      y_stderr=0.001)
    good, slow = fit(np.exp(-0.5 * t)), fit((1 + t) ** -1.0)
    flat = exponential_decay(t, np.full(t.size, 1e-4), floor=0.0, y_stderr=0.001)
    lam = [0.1, 0.2]
    both = decay_verdict("decays", lam, [good, good], rate_factor=2)
    assert both.verdict == "consistent" and "c = 1.00" in both.reason
    assert decay_verdict("decays", lam, [good, slow], rate_factor=2).verdict == "inconsistent"
    assert decay_verdict("decays", lam, [good, flat], rate_factor=2).verdict == "inconclusive"

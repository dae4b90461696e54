"""The discrete chain's invariant law against independent truth: the quadratic's closed form, the
small-step limit exp(-beta g_sigma) by plain quadrature, and a particle simulation."""

import numpy as np
import pytest
from scipy.special import ndtr

import sgldsim as sg
from sgldsim.measures.chain import chain_invariant, chain_invariant_with_info


def quadratic_chain_variance(a, lam, beta, sigma):
    """docs/theory.md §5: V = (lam a^2 sigma^2 + 2/beta) / (a (2 - lam a))."""
    return (lam * a**2 * sigma**2 + 2.0 / beta) / (a * (2.0 - lam * a))


# (a, lam, beta, sigma): SGLD and fSGLD, small steps, lam a = 1 and lam a near 1 and near 2.
QUADRATIC_CASES = [
    (2.0, 0.005, 1.0, 0.0),
    (2.0, 0.1, 5.0, 0.3),
    (1.0, 0.95, 2.0, 0.0),
    (2.0, 0.5, 1.0, 0.7),
    (3.0, 0.6, 0.5, 0.2),
    (0.5, 0.02, 20.0, 1.5),
]


@pytest.mark.parametrize(("a", "lam", "beta", "sigma"), QUADRATIC_CASES)
def test_quadratic_chain_is_the_closed_form_gaussian(a, lam, beta, sigma):
    v = quadratic_chain_variance(a, lam, beta, sigma)
    measure, info = chain_invariant_with_info(sg.Quadratic(a), sg.fsgld_sampler(lam, beta, sigma))
    h = np.diff(measure.edges)
    assert np.ptp(h) < 1e-9 * h[0]
    # Measure1D spreads each cell's mass uniformly: its variance is the law's plus h^2/6
    # (Sheppard's h^2/12 for grouping, h^2/12 for the spreading); the default cells keep it small.
    assert abs(measure.var - v) / v < 1e-5
    assert abs(measure.var - h[0] ** 2 / 6 - v) / v < 1e-9
    assert abs(measure.mean) < 1e-9 * np.sqrt(v)
    # The cell masses are exact: the cdf at the edges is the Gaussian's.
    assert np.max(np.abs(measure.cumulative - ndtr(measure.edges / np.sqrt(v)))) < 1e-10
    assert info.residual < 1e-12 and abs(info.leak) < 1e-9 and info.edge_mass < 1e-12
    if sigma == 0:
        assert info.n_hermite == 1


def test_sgld_sampler_and_user_grid():
    a, lam, beta = 1.5, 0.2, 4.0
    v = quadratic_chain_variance(a, lam, beta, 0.0)
    edges = np.linspace(-1.0, 2.0, 301)  # cuts off the left tail: that mass is reported, dropped
    measure, info = chain_invariant_with_info(sg.Quadratic(a), sg.sgld_sampler(lam, beta),
                                              grid=edges)
    np.testing.assert_array_equal(measure.edges, edges)
    outside = ndtr(edges[0] / np.sqrt(v)) + 1.0 - ndtr(edges[-1] / np.sqrt(v))
    assert abs(info.mass_outside - outside) < 1e-10
    exact = np.diff(ndtr(edges / np.sqrt(v))) / (1.0 - outside)
    assert np.max(np.abs(measure.masses - exact)) < 1e-10
    measure = chain_invariant(sg.Quadratic(a), sg.sgld_sampler(lam, beta), n_grid=101)
    assert measure.masses.shape == (100,)


def smoothed_gibbs_mass_right_of_zero(potential, beta, sigma):
    """Mass of x > 0 under exp(-beta g_sigma), g_sigma by Gauss–Hermite and the x-integral by
    the trapezoid rule on a fine grid: plain numpy, independent of the package's measures."""
    u = np.polynomial.Polynomial(np.asarray(potential.coeffs))
    z, w = np.polynomial.hermite_e.hermegauss(40)
    x = np.linspace(-3.0, 3.0, 300_001)
    g = u(x[:, None] + sigma * z) @ (w / w.sum())
    density = np.exp(-beta * (g - g.min()))
    return np.trapezoid(density * (x > 0), x) / np.trapezoid(density, x)


def test_small_step_chain_approaches_smoothed_gibbs_linearly():
    """docs/theory.md §2, §6: as lam -> 0 the fSGLD chain's law tends to pi^f ∝ exp(-beta
    g_sigma), with a bias O(lam); here lam sigma^2 beta u''(-1)^2 <= 0.13 (the regime where
    this holds)."""
    potential, beta, sigma = sg.sharp_flat_double_well(), 10.0, 0.1
    reference = smoothed_gibbs_mass_right_of_zero(potential, beta, sigma)
    steps = np.array([1e-3, 5e-4, 2.5e-4])
    masses = np.array([chain_invariant(potential, sg.fsgld_sampler(lam, beta, sigma))
                       .mass_of_box(0.0, np.inf) for lam in steps])
    gaps = masses - reference
    assert np.all(gaps > 0)  # the discrete chain is flatter-biased than pi^f (docs/theory.md §6)
    np.testing.assert_allclose(gaps[:-1] / gaps[1:], 2.0, rtol=0.1)  # halving lam halves it
    extrapolated = 2.0 * masses[-1] - masses[-2]  # Richardson: removes the O(lam) term
    assert abs(extrapolated - reference) < 0.1 * gaps[-1]


WELLS = {"centers": [-1.0, 1.0], "depths": [1.5, 1.0], "widths": [0.35, 0.7], "confinement": 0.5}


def wells_grad(x):
    """u'(x) for u = (m/2) x^2 - sum_j a_j exp(-(x - c_j)^2 / (2 s_j^2)) (docs/theory.md §5)."""
    c, a, s = (np.asarray(WELLS[k]) for k in ("centers", "depths", "widths"))
    d = x[:, None] - c
    return WELLS["confinement"] * x + np.sum(a / s**2 * d * np.exp(-0.5 * d**2 / s**2), axis=1)


def gibbs_mass_right_of_zero(potential, beta):
    """Mass of x > 0 under exp(-beta u) by the trapezoid rule (plain numpy)."""
    x = np.linspace(-2.0, 2.0, 400_001)
    u = np.polynomial.Polynomial(np.asarray(potential.coeffs))(x)
    density = np.exp(-beta * (u - u.min()))
    return np.trapezoid(density * (x > 0), x) / np.trapezoid(density, x)


def test_metastable_chain_keeps_both_wells():
    """beta = 80: the barrier suppresses crossings by e^-115, far below machine epsilon. SGLD's
    law must still split like exp(-beta u) (sqrt(det Hess) ratio ~0.76 flat), up to O(lam); a
    subtractive solve (LU of M^T - I) puts all mass in one well here."""
    potential, beta = sg.sharp_flat_double_well(), 80.0
    reference = gibbs_mass_right_of_zero(potential, beta)
    steps = np.array([2e-4, 1e-4])
    gaps = np.array([chain_invariant(potential, sg.sgld_sampler(lam, beta)).mass_of_box(0.0, np.inf)
                     for lam in steps]) - reference
    np.testing.assert_allclose(gaps[0] / gaps[1], 2.0, rtol=0.1)
    assert np.all(np.abs(gaps) < 3 * steps)


def test_too_metastable_for_float64_raises():
    with pytest.raises(ValueError, match="too metastable for float64"):
        chain_invariant(sg.sharp_flat_double_well(), sg.sgld_sampler(1e-4, 1000.0))


def simulate_fsgld(grad, lam, beta, sigma, n_particles, n_steps, seed):
    """Plain numpy fSGLD: x' = x - lam u'(x + sigma eps) + sqrt(2 lam / beta) xi, from N(0, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_particles)
    for _ in range(n_steps):
        eps, xi = rng.standard_normal((2, n_particles))
        x = x - lam * grad(x + sigma * eps) + np.sqrt(2.0 * lam / beta) * xi
    return x


def test_gaussian_wells_chain_law_matches_particles():
    """Relaxation takes about 60 steps here (second eigenvalue of the chain ~0.983), so 400 steps
    leave ~1e-3 of the start's (already small) offset; particles are independent, so the 5-SE
    bounds are exact."""
    potential = sg.GaussianWells(centers=np.asarray(WELLS["centers"])[:, None],
                                 depths=WELLS["depths"], widths=WELLS["widths"],
                                 confinement=WELLS["confinement"])
    lam, beta, sigma, n = 0.05, 3.0, 0.3, 40_000
    measure = chain_invariant(potential, sg.fsgld_sampler(lam, beta, sigma))
    x = simulate_fsgld(wells_grad, lam, beta, sigma, n, 400, seed=20261128)
    se_mean = x.std() / np.sqrt(n)
    p = measure.mass_of_box(-np.inf, 0.0)
    se_mass = np.sqrt(p * (1.0 - p) / n)
    assert abs(x.mean() - measure.mean) < 5 * se_mean
    assert abs(np.mean(x < 0) - p) < 5 * se_mass
    # The check has power: the step-size bias is many SEs (the Gibbs law's left mass is ~0.67).
    grid = np.linspace(-8.0, 8.0, 160_001)
    gibbs = np.exp(-beta * np.asarray(potential.value(grid[:, None])))
    gibbs_left = np.trapezoid(gibbs * (grid < 0), grid) / np.trapezoid(gibbs, grid)
    assert abs(gibbs_left - p) > 20 * se_mass


@pytest.mark.parametrize(
    ("potential", "sampler", "match"),
    [
        (sg.Quadratic(1.0, dim=2), sg.sgld_sampler(0.1, 1.0), "dim=2"),
        (sg.Quadratic(1.0), sg.gd_sampler(0.1), "beta=inf"),
        (sg.Quadratic(1.0), sg.sgld_sampler(lambda k: 0.1 / (1 + k), 1.0), "schedule"),
        (sg.Quadratic(1.0), sg.sgld_sampler(np.array([0.1, 0.2]), 1.0), "step_size has shape"),
        (sg.Polynomial1D([0.0, 0.0, -1.0]), sg.sgld_sampler(0.1, 1.0), "not confining"),
    ],
)
def test_bad_inputs_raise(potential, sampler, match):
    with pytest.raises(ValueError, match=match):
        chain_invariant(potential, sampler)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grid": [0.0, 0.0, 1.0]}, "grid"),
        ({"n_grid": 1}, "n_grid"),
        ({"n_hermite": 0}, "n_hermite"),
        ({"n_hermite": 1000}, "n_hermite"),
        ({"tol": 0.5}, "tol"),
    ],
)
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chain_invariant(sg.Quadratic(1.0), sg.fsgld_sampler(0.1, 1.0, 0.1), **kwargs)

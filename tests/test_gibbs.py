"""Gibbs measures (docs/theory.md §2) against independent truth: closed forms, scipy quadrature
written here from the formulas (not the package's potentials), the Laplace expansion, and statistics
with tolerances of 5 standard errors."""

import math

import jax
import numpy as np
import pytest
from scipy import integrate, optimize, stats

import sgldsim as sg
from sgldsim.measures import (
    Gibbs,
    GridMeasure2D,
    MALADiagnostics,
    Measure,
    Measure1D,
    ProductMeasure,
    RadialMeasure,
    SampleMeasure,
    effective_sample_size,
    gibbs_1d,
    gibbs_2d,
    mala_samples,
    paper_measures,
)

KEY = jax.random.PRNGKey(20261128)
BETAS = [1.0, 10.0, 1e3, 1e6]
RESOLUTION_2D = 30.0  # gibbs_2d default: cells per local length


# ---- independent formulas ----------------------------------------------------------------------
def double_well(x):
    """sharp_flat_double_well() written out: (x + 1)^2 (x - 1)^2 ((x - 1)^2 + 4/9)."""
    return (x + 1) ** 2 * (x - 1) ** 2 * ((x - 1) ** 2 + 4 / 9)


def wells_1d(x):
    """GaussianWells(centers=[-2, 2], depths=[1, 1], widths=[0.25, 1], confinement=0.05)."""
    return 0.025 * x**2 - np.exp(-((x + 2) ** 2) / (2 * 0.25**2)) - np.exp(-((x - 2) ** 2) / 2)


CASES_1D = {
    "double-well": (sg.sharp_flat_double_well(), double_well, (-1.0, 1.0)),
    "wells": (sg.GaussianWells(centers=[[-2.0], [2.0]], depths=[1.0, 1.0], widths=[0.25, 1.0],
                               confinement=0.05), wells_1d, (-2.0, 2.0)),
}


def quad_truth(u, guesses, beta):
    """Z, mean, variance and the left basin's mass of exp(-beta (u - u_min)) by adaptive
    quadrature, with break points at the minima and at +-3, 10, 30 local widths around them
    (at beta = 1e6 the wells are spikes of width ~1e-4 that quad would otherwise step over)."""
    minima = [optimize.minimize_scalar(u, bracket=(g - 0.1, g + 0.1), tol=1e-12).x
              for g in guesses]
    u_min = min(u(m) for m in minima)
    saddle = optimize.minimize_scalar(lambda x: -u(x), bounds=tuple(minima), method="bounded",
                                      options={"xatol": 1e-12}).x
    h = 1e-4
    widths = [1 / math.sqrt(beta * (u(m + h) - 2 * u(m) + u(m - h)) / h**2) for m in minima]
    lo, hi = minima[0] - 60.0, minima[1] + 60.0

    def integral(k, a, b):
        points = sorted(m + j * w for m, w in zip(minima, widths, strict=True)
                        for j in (-30, -10, -3, 0, 3, 10, 30) if a < m + j * w < b)
        return integrate.quad(lambda x: x**k * np.exp(-beta * (u(x) - u_min)), a, b,
                              points=points, epsabs=0.0, epsrel=1e-13, limit=2000)[0]

    left, right = ([integral(k, a, b) for k in range(3)] for a, b in ((lo, saddle), (saddle, hi)))
    z = left[0] + right[0]
    mean = (left[1] + right[1]) / z
    return {"z": z, "mean": mean, "var": (left[2] + right[2]) / z - mean**2,
            "left": left[0] / z, "saddle": saddle, "u_min": u_min,
            "argmin": minima[int(np.argmin([u(m) for m in minima]))]}


# ---- Quadratic: closed form N(0, 1 / (beta a)) ------------------------------------------------
@pytest.mark.parametrize("beta", [0.5, 1e3])
def test_quadratic_is_gaussian(beta):
    a = 2.5
    mu = Gibbs(sg.Quadratic(a), beta)
    sd = 1 / math.sqrt(beta * a)
    assert isinstance(mu, Measure1D)
    assert abs(mu.mean) < 1e-12 * sd
    assert mu.var == pytest.approx(sd**2, rel=2e-8)
    x = sd * np.linspace(-4, 4, 17)
    np.testing.assert_allclose(mu.cdf(x), stats.norm.cdf(x / sd), rtol=0, atol=1e-8)
    # the cdf is linear inside a cell of width h ~ sd / 3000: quantile error <= h^2 |z| / 8
    q = np.linspace(0.01, 0.99, 21)
    z = stats.norm.ppf(q)
    np.testing.assert_allclose(mu.quantile(q) / sd, z, rtol=0, atol=2.33 / (8 * 3000**2))


def test_smoothed_and_regularized_quadratic_give_the_same_measure():
    u = sg.Quadratic(2.5)
    measures = paper_measures(u, 10.0, sigma=0.3)
    assert set(measures) == {"pi_beta", "pi_f", "pi_star"}
    x = np.linspace(-1, 1, 11)
    for mu in measures.values():
        assert mu.var == pytest.approx(measures["pi_beta"].var, rel=1e-12)
        np.testing.assert_allclose(mu.cdf(x), measures["pi_beta"].cdf(x), atol=1e-12)


# ---- 1-D: quadrature against scipy.integrate.quad ---------------------------------------------
@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("case", CASES_1D)
def test_1d_matches_quad(case, beta):
    potential, u, guesses = CASES_1D[case]
    truth = quad_truth(u, guesses, beta)
    mu = Gibbs(potential, beta)
    assert isinstance(mu, Measure1D)
    # normalisation: the density at the global minimiser is exp(0) / Z
    assert mu.pdf(truth["argmin"]) * truth["z"] == pytest.approx(1.0, rel=1e-7)
    assert mu.mean == pytest.approx(truth["mean"], rel=1e-7)
    assert mu.var == pytest.approx(truth["var"], rel=1e-7)
    assert mu.mass_of_box(-np.inf, truth["saddle"]) == pytest.approx(truth["left"], rel=1e-7,
                                                                      abs=1e-12)


def laplace_flat_mass(beta):
    """Flat-basin mass of the equal-depth double well to O(1/beta): basin integrals
    sqrt(2 pi / (beta k)) (1 + c / beta), c = 5 u'''^2 / (24 k^3) - u'''' / (8 k^2)."""
    u = np.polynomial.Polynomial([1, 0, -1]) ** 2 * np.polynomial.Polynomial([13 / 9, -2, 1])
    k, u3, u4 = (np.array([u.deriv(n)(-1.0), u.deriv(n)(1.0)]) for n in (2, 3, 4))
    c = 5 * u3**2 / (24 * k**3) - u4 / (8 * k**2)
    w = 1 / np.sqrt(k)
    limit = w[1] / w.sum()  # sqrt(k_sharp) / (sqrt(k_sharp) + sqrt(k_flat))
    return limit, limit * (1 - limit) * (c[1] - c[0]) / beta


@pytest.mark.parametrize("beta", [1e3, 1e6])
def test_flat_basin_mass_tends_to_laplace(beta):
    limit, first_order = laplace_flat_mass(beta)
    assert limit == pytest.approx(math.sqrt(10) / (1 + math.sqrt(10)))
    flat = Gibbs(sg.sharp_flat_double_well(), beta).mass_of_box(0.0, np.inf)
    assert abs(flat - limit) < 2 * abs(first_order)
    assert abs(flat - limit - first_order) < 0.05 * abs(first_order)  # remainder O(1/beta^2)


# ---- products ---------------------------------------------------------------------------------
def test_product_of_separable_has_the_1d_marginals():
    base = CASES_1D["wells"][0]
    mu = Gibbs(sg.Separable(base, 3), 10.0)
    one = gibbs_1d(base, 10.0)
    assert isinstance(mu, ProductMeasure) and mu.dim == 3 and len(mu.marginals) == 3
    np.testing.assert_allclose(mu.mean, one.mean, rtol=1e-14)
    np.testing.assert_allclose(mu.var, one.var, rtol=1e-14)
    assert mu.mass_of_box(-np.inf, 0.0) == pytest.approx(one.mass_of_box(-np.inf, 0.0) ** 3)
    n = 20000
    draws = mu.sample(KEY, n)
    assert draws.shape == (n, 3)
    se = math.sqrt(one.var / n)
    assert np.all(np.abs(draws.mean(axis=0) - one.mean) < 5 * se)


def test_product_of_quadratic_with_different_curvatures():
    a = np.array([1.0, 2.0, 4.0])
    mu = Gibbs(sg.Quadratic(a, dim=3), 2.0)
    assert isinstance(mu, ProductMeasure)
    np.testing.assert_allclose(mu.var, 1 / (2.0 * a), rtol=2e-8)
    np.testing.assert_allclose(mu.cov, np.diag(1 / (2.0 * a)), rtol=2e-8, atol=1e-15)


# ---- 2-D tensor grid --------------------------------------------------------------------------
@pytest.mark.parametrize("beta", [1.0, 1e3])
def test_grid_2d_of_separable_matches_1d(beta):
    base = sg.sharp_flat_double_well()
    grid = gibbs_2d(sg.Separable(base, 2), beta)
    one = gibbs_1d(base, beta)
    bias = 1 / (12 * RESOLUTION_2D**2)  # grouping bias h^2 / 12 at h = l / resolution
    assert isinstance(grid, GridMeasure2D)
    np.testing.assert_allclose(grid.mean, one.mean, atol=bias * one.std)
    np.testing.assert_allclose(np.diag(grid.cov), one.var, rtol=bias)
    assert abs(grid.cov[0, 1]) < 1e-12
    for axis in (0, 1):
        marginal = grid.marginal(axis)
        assert marginal.mass_of_box(0.0, np.inf) == pytest.approx(one.mass_of_box(0.0, np.inf),
                                                                  abs=bias)
    assert grid.mass_of_box([0, 0], [np.inf, np.inf]) == pytest.approx(
        one.mass_of_box(0.0, np.inf) ** 2, abs=bias)


def test_grid_2d_of_quadratic_is_gaussian():
    a = np.array([1.0, 4.0])
    grid = gibbs_2d(sg.Quadratic(a, dim=2), 2.0)
    bias = 1 / (12 * RESOLUTION_2D**2)
    np.testing.assert_allclose(grid.cov, np.diag(1 / (2.0 * a)), rtol=1.1 * bias, atol=1e-15)
    assert grid.pdf(np.zeros(2)) == pytest.approx(2.0 * math.sqrt(a.prod()) / (2 * math.pi),
                                                  rel=1e-4)


def test_grid_2d_matches_dblquad_and_its_samples():
    centers, depths, widths, m = [[-1.0, 0.5], [1.2, -0.3]], [1.5, 1.0], [0.4, 0.8], 0.3
    beta = 3.0
    potential = sg.GaussianWells(centers=centers, depths=depths, widths=widths, confinement=m)

    def u(y, x):
        r2 = [(x - c[0]) ** 2 + (y - c[1]) ** 2 for c in centers]
        return 0.5 * m * (x * x + y * y) - sum(
            a * math.exp(-r / (2 * s * s)) for a, r, s in zip(depths, r2, widths, strict=True))

    u_min = optimize.minimize(lambda z: u(z[1], z[0]), centers[0]).fun
    box = (-9.0, 9.0)

    def integral(weight):
        return integrate.dblquad(lambda y, x: weight(x, y) * math.exp(-beta * (u(y, x) - u_min)),
                                 *box, *box, epsabs=1e-10, epsrel=1e-9)[0]

    z = integral(lambda x, y: 1.0)
    mean = np.array([integral(lambda x, y: x), integral(lambda x, y: y)]) / z
    grid = Gibbs(potential, beta)
    assert isinstance(grid, GridMeasure2D)
    sd = np.sqrt(np.diag(grid.cov))
    np.testing.assert_allclose(grid.mean, mean, atol=1e-4 * sd.max())
    n = 20000
    draws = grid.sample(KEY, n)
    assert np.all(np.abs(draws.mean(axis=0) - grid.mean) < 5 * sd / math.sqrt(n))
    assert grid.mass_of_region(lambda p: p[:, 0] < 0) == pytest.approx(grid.marginal(0).cdf(0.0),
                                                                        abs=1e-3)


# ---- MALA reference samples -------------------------------------------------------------------
def assert_moments_within_5_se(measure: SampleMeasure, mean, var):
    """Sample mean and variance per coordinate within 5 standard errors, each SE from the
    effective sample size of the quantity averaged (x, and (x - mean)^2 for the variance)."""
    chains = measure.chains
    sq = (chains - measure.mean) ** 2
    se_mean = measure.standard_error
    se_var = np.sqrt(sq.reshape(-1, measure.dim).var(axis=0) / effective_sample_size(sq))
    assert np.all(np.abs(measure.mean - mean) < 5 * se_mean), (measure.mean, mean, se_mean)
    assert np.all(np.abs(measure.var - var) < 5 * se_var), (measure.var, var, se_var)
    diag = measure.diagnostics
    assert np.all(diag.r_hat < 1.05) and 0.4 < diag.acceptance_rate < 0.75


def test_mala_on_quadratic_matches_closed_form():
    a = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    beta = 2.0
    measure = mala_samples(KEY, sg.Quadratic(a, dim=5), beta, n_chains=16, n_steps=4000)
    assert measure.samples.shape == (16 * 4000, 5)
    assert_moments_within_5_se(measure, np.zeros(5), 1 / (beta * a))


def test_mala_on_separable_wells_matches_product_of_1d_quadrature():
    base = sg.GaussianWells(centers=[[-1.0], [1.0]], depths=[1.0, 1.0], widths=[0.5, 0.7],
                            confinement=0.5)
    potential, beta = sg.Separable(base, 5), 2.0
    one = gibbs_1d(base, beta)
    measure = Gibbs(potential, beta, method="mala", key=KEY, n_steps=4000)
    assert isinstance(measure, SampleMeasure) and measure.dim == 5
    assert_moments_within_5_se(measure, np.full(5, one.mean), np.full(5, one.var))


def test_gibbs_of_5d_wells_is_mala_and_matches_radial_quadrature():
    """A single isotropic well in 5-D is not a product, but its law is radial: mean 0 and
    E x_i^2 = E r^2 / 5 with r ∝ r^4 exp(-beta u(r))."""
    d, beta, a, s, m = 5, 1.5, 2.0, 0.8, 1.0
    potential = sg.GaussianWells(centers=np.zeros((1, d)), depths=[a], widths=[s], confinement=m)

    def radial(k):
        return integrate.quad(lambda r: r ** (d - 1 + k) * math.exp(
            -beta * (0.5 * m * r * r - a * math.exp(-r * r / (2 * s * s)))), 0, 30)[0]

    measure = Gibbs(potential, beta, key=KEY, n_steps=4000)
    assert isinstance(measure, SampleMeasure)
    assert_moments_within_5_se(measure, np.zeros(d), np.full(d, radial(2) / radial(0) / d))
    resampled = measure.sample(KEY, 10)
    assert resampled.shape == (10, d)


# ---- the paper's measures and errors ----------------------------------------------------------
def test_paper_measures_are_flatness_biased():
    measures = paper_measures(sg.sharp_flat_double_well(), 10.0, sigma=0.3)
    flat = {name: mu.mass_of_box(0.0, np.inf) for name, mu in measures.items()}
    assert flat["pi_star"] > flat["pi_beta"] and flat["pi_f"] > flat["pi_beta"]


@pytest.mark.parametrize("beta", [0.0, -1.0, math.inf, math.nan])
def test_bad_beta_raises_naming_the_value(beta):
    with pytest.raises(ValueError, match=f"beta={beta!r}"):
        Gibbs(sg.Quadratic(1.0), beta)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_non_confining_potential_raises(dim):
    wells = sg.GaussianWells(centers=np.zeros((1, dim)), depths=[1.0], widths=[1.0])
    with pytest.raises(ValueError, match="not confining"):
        Gibbs(wells, 1e3)


# ---- the Measure protocol ---------------------------------------------------------------------
def test_every_measure_class_is_a_measure_and_samples_in_its_dimension():
    """One instance of each representation satisfies ``sgldsim.Measure`` (dim and sample), and
    sample(key, n) returns (n, dim); particle arrays and potentials are not measures."""
    line = Measure1D(np.linspace(-1.0, 1.0, 5), np.ones(4))
    chains = np.asarray(jax.random.normal(KEY, (2, 10, 3)))
    instances = [
        line,
        ProductMeasure(line, dim=3),
        GridMeasure2D(np.linspace(0.0, 1.0, 3), np.linspace(0.0, 1.0, 4), np.ones((2, 3))),
        RadialMeasure(Measure1D(np.linspace(0.0, 2.0, 5), np.ones(4)), dim=4),
        SampleMeasure(chains, MALADiagnostics(0.5, 0.1, np.ones(3), np.ones(3), 2, 10)),
    ]
    assert sg.Measure is Measure
    for measure in instances:
        assert isinstance(measure, Measure), type(measure).__name__
        assert np.shape(measure.sample(KEY, 7)) == (7, measure.dim), type(measure).__name__
    assert not isinstance(np.zeros((7, 1)), Measure)
    assert not isinstance(sg.Quadratic(1.0), Measure)

"""Wasserstein distances against independent truth: closed forms, hand integrals, POT and scipy."""

import dataclasses

import jax
import numpy as np
import ot
import pytest
import scipy.stats

from sgldsim.distances import (
    particle_noise_floor,
    sliced_wasserstein,
    wasserstein,
    wasserstein_with_info,
)
from sgldsim.measures.grid1d import Measure1D

# the references (POT, SciPy) get the test's own jax.random draws: float64 ones, to 1e-10
pytestmark = pytest.mark.usefixtures("x64")
KEY = jax.random.PRNGKey(20261128)
H = 1e-3  # grid step in units of the standard deviation
GRID_TOL = 10 * H**2  # the piecewise-uniform representation is O(h^2) off the smooth density


def gaussian(mean, std, step=H, half_width=12.0):
    x = mean + std * np.arange(-half_width, half_width + step / 2, step)
    return Measure1D.from_log_density(x, -0.5 * ((x - mean) / std) ** 2)


def uniform(lo, hi, n_cells=1):
    return Measure1D(np.linspace(lo, hi, n_cells + 1), np.ones(n_cells))


def folded_normal_mean(mu, s):
    """E|Y| for Y ~ N(mu, s^2)."""
    return s * np.sqrt(2 / np.pi) * np.exp(-(mu**2) / (2 * s**2)) + mu * (
        1 - 2 * scipy.stats.norm.cdf(-mu / s)
    )


@dataclasses.dataclass
class Product:
    """Stand-in with the duck-typed interface of product.ProductMeasure."""

    marginals: list
    dim: int

    def sample(self, key, n):
        keys = jax.random.split(key, self.dim)
        margs = self.marginals * (self.dim // len(self.marginals))
        return np.concatenate([m.sample(k, n) for m, k in zip(margs, keys, strict=True)], axis=1)


@dataclasses.dataclass
class Cloud:
    """Stand-in for SampleMeasure: an empirical measure known by its samples."""

    samples: np.ndarray

    @property
    def dim(self):
        return self.samples.shape[1]


@dataclasses.dataclass
class StandardNormal2D:
    """Stand-in for GridMeasure2D: only dim and sample(key, n)."""

    dim: int = 2

    def sample(self, key, n):
        return np.asarray(jax.random.normal(key, (n, self.dim)))


# ---- exact 1-D measures -------------------------------------------------------------------------
@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), [(0.0, 1.0, 1.0, 2.0), (-0.5, 0.3, 2.0, 0.3),
                                                    (0.0, 1.0, 0.0, 3.0)])
def test_w2_gaussians_closed_form(m1, s1, m2, s2):
    truth = np.hypot(m1 - m2, s1 - s2)
    assert wasserstein(gaussian(m1, s1), gaussian(m2, s2)) == pytest.approx(truth, abs=GRID_TOL)


@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), [(0.0, 1.0, 1.5, 1.0), (0.0, 1.0, 0.0, 2.5),
                                                    (0.0, 1.0, 0.5, 2.0)])
def test_w1_gaussians_closed_form(m1, s1, m2, s2):
    """W1 = E|m2 - m1 + (s2 - s1) Z|: a shift gives |dm|, a scale |ds| sqrt(2/pi), and the
    mixed case has a sign change of Q_a - Q_b inside (0, 1)."""
    truth = folded_normal_mean(m2 - m1, abs(s2 - s1)) if s1 != s2 else abs(m2 - m1)
    assert wasserstein(gaussian(m1, s1), gaussian(m2, s2), p=1) == pytest.approx(
        truth, abs=GRID_TOL)


def test_hand_integrals_are_exact_for_the_representation():
    # Q_a = q, Q_b = 1/4 + q/2: |Q_a - Q_b| = |q - 1/2| / 2 changes sign at q = 1/2.
    a, b = uniform(0, 1, n_cells=3), uniform(0.25, 0.75, n_cells=7)
    assert wasserstein(a, b, p=1) == pytest.approx(1 / 8, abs=1e-15)
    assert wasserstein(a, b, p=2) == pytest.approx(np.sqrt(1 / 48), abs=1e-15)
    # Interior zero-mass cell: Q = 2q on (0, 1/2), 2q + 1 on (1/2, 1), against Q = 3q.
    gap = Measure1D(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.5, 0.0, 0.5]))
    assert wasserstein(gap, uniform(0, 3), p=1) == pytest.approx(1 / 4, abs=1e-15)
    assert wasserstein(gap, uniform(0, 3), p=2) == pytest.approx(np.sqrt(1 / 12), abs=1e-15)


def test_symmetric_and_zero_on_the_diagonal():
    a, b = gaussian(0.0, 1.0), gaussian(0.3, 0.7)
    for p in (1, 2):
        assert wasserstein(a, a, p) == 0.0
        assert wasserstein(a, b, p) == pytest.approx(wasserstein(b, a, p), rel=1e-12)


# ---- products ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [2, 5])
def test_product_w2_is_sqrt_d_times_marginal(dim):
    a, b = gaussian(0.0, 1.0), gaussian(1.0, 2.0)
    one_d = np.hypot(1.0, 1.0)
    value = wasserstein(Product([a], dim), Product([b], dim))
    assert value == pytest.approx(np.sqrt(dim) * one_d, abs=np.sqrt(dim) * GRID_TOL)


def test_product_w2_sums_squares_over_distinct_marginals():
    a = Product([gaussian(0.0, 1.0), gaussian(0.0, 1.0), uniform(0, 1)], 3)
    b = Product([gaussian(1.0, 1.0), gaussian(0.0, 2.0), uniform(0.25, 0.75)], 3)
    truth = np.sqrt(1.0 + 1.0 + 1 / 48)
    info = wasserstein_with_info(a, b)
    assert info.value == pytest.approx(truth, abs=GRID_TOL)
    assert (info.method, info.algorithm, info.sampled) == ("exact", "product-marginals", ())


def test_with_the_package_measure_types():
    from sgldsim.measures import GridMeasure2D, ProductMeasure

    a, b = gaussian(0.0, 1.0), gaussian(1.0, 2.0)
    assert wasserstein(ProductMeasure(a, dim=4), ProductMeasure(b, dim=4)) == pytest.approx(
        2 * np.hypot(1.0, 1.0), abs=2 * GRID_TOL)
    assert wasserstein(ProductMeasure([a]), b) == pytest.approx(np.hypot(1.0, 1.0), abs=GRID_TOL)
    grid = GridMeasure2D(np.linspace(0, 1, 5), np.linspace(0, 1, 4), np.ones((4, 3)))
    info = wasserstein_with_info(grid, np.full((50, 2), 0.5), n_samples=200)
    assert info.sampled == ("a",) and info.algorithm == "emd"


def test_product_w1_needs_l1_ground_cost():
    a, b = Product([gaussian(0.0, 1.0)], 3), Product([gaussian(1.5, 1.0)], 3)
    with pytest.raises(ValueError, match="no coordinate-wise formula"):
        wasserstein(a, b, p=1)
    assert wasserstein(a, b, p=1, ground_cost="l1") == pytest.approx(3 * 1.5, abs=GRID_TOL)


# ---- particles against a 1-D measure ------------------------------------------------------------
def test_uniform_particles_match_exact_expected_w2_squared():
    """E W2^2(empirical of N iid U(0,1), U(0,1)) = sum_i Var U_(i) / N + int (E U_(i) - q)^2,
    E U_(i) = i/(N+1), Var U_(i) = i(N+1-i)/((N+1)^2 (N+2)): mean over repeats within 5 SE."""
    n, repeats = 200, 400
    i = np.arange(1, n + 1)
    mu = i / (n + 1)
    var = i * (n + 1 - i) / ((n + 1) ** 2 * (n + 2))
    truth = np.sum(var / n + ((i / n - mu) ** 3 - ((i - 1) / n - mu) ** 3) / 3)
    target = uniform(0, 1, n_cells=5)
    w2sq = np.array([wasserstein(x, target) ** 2
                     for x in np.asarray(jax.random.uniform(KEY, (repeats, n)))])
    assert abs(w2sq.mean() - truth) < 5 * w2sq.std(ddof=1) / np.sqrt(repeats)


def test_particle_w2_decays_like_inverse_sqrt_n():
    """Slope of log E-log W2 against log N is -1/2 within 5 SE of the fitted slope. (For a
    Gaussian N W2^2 grows like log log N, Bobkov-Ledoux 2019: a drift of ~0.03 in the slope
    over these N, inside the tolerance.)"""
    target = gaussian(0.0, 1.0, half_width=10.0)
    sizes, repeats = np.array([100, 1_000, 10_000, 100_000]), 20
    keys = jax.random.split(KEY, sizes.size)
    logw = np.array([[np.log(wasserstein(x, target))
                      for x in np.asarray(jax.random.normal(k, (repeats, n)))]
                     for n, k in zip(sizes, keys, strict=True)])
    x = np.log(sizes) - np.log(sizes).mean()
    slope = x @ logw.mean(axis=1) / (x @ x)
    slope_se = np.sqrt(x**2 @ (logw.var(axis=1, ddof=1) / repeats)) / (x @ x)
    assert abs(slope + 0.5) < 5 * slope_se


@pytest.mark.parametrize("p", [1, 2])
def test_particles_vs_measure_match_pot_on_a_quantile_discretisation(p):
    """Triangle inequality: |W(P, mu) - W(P, mu_M)| <= W(mu, mu_M) <= (sum_i Delta_i^p / M)^(1/p)
    for mu_M = {Q((i - 1/2)/M)} and Delta_i = Q(i/M) - Q((i-1)/M)."""
    x = np.linspace(-3.0, 3.0, 6001)
    double_well = Measure1D.from_log_density(x, -2.0 * (x**2 - 1.0) ** 2)
    particles = np.asarray(jax.random.normal(KEY, (5_000,)))
    m = 200_000
    levels = double_well.quantile(np.arange(m + 1) / m)
    discretised = double_well.quantile((np.arange(m) + 0.5) / m)
    bound = np.mean(np.diff(levels) ** p) ** (1 / p)
    reference = ot.wasserstein_1d(particles, discretised, p=p) ** (1 / p)
    assert abs(wasserstein(particles, double_well, p) - reference) <= bound + 1e-12
    if p == 1:
        scipy_value = scipy.stats.wasserstein_distance(particles, discretised)
        assert abs(wasserstein(particles, double_well, p) - scipy_value) <= bound + 1e-12


# ---- particles against particles ---------------------------------------------------------------
def test_1d_clouds_match_scipy_and_pot():
    ka, kb = jax.random.split(KEY)
    a = np.round(np.asarray(jax.random.normal(ka, (1_000,))), 2)  # ties included
    b = np.asarray(1.3 * jax.random.normal(kb, (777, 1)) + 0.2)
    assert wasserstein(a, b, p=1) == pytest.approx(
        scipy.stats.wasserstein_distance(a, b[:, 0]), abs=1e-10)
    for p in (1, 2):
        assert wasserstein(a, b, p) == pytest.approx(
            ot.wasserstein_1d(a, b[:, 0], p=p) ** (1 / p), abs=1e-10)


@pytest.mark.parametrize("p", [1, 2])
def test_3d_clouds_match_pot_emd(p):
    ka, kb = jax.random.split(KEY)
    a = np.asarray(jax.random.normal(ka, (150, 3)))
    b = np.asarray(jax.random.normal(kb, (230, 3))) * np.array([1.0, 2.0, 0.5]) + 0.4
    cost = ot.dist(a, b, metric="sqeuclidean" if p == 2 else "euclidean")
    truth = ot.emd2(ot.unif(150), ot.unif(230), cost) ** (1 / p)
    info = wasserstein_with_info(a, b, p)
    assert info.value == pytest.approx(truth, rel=1e-9)
    assert (info.method, info.algorithm) == ("exact", "emd")


def test_sample_measure_is_used_through_its_samples():
    a = np.asarray(jax.random.normal(KEY, (100, 2)))
    info = wasserstein_with_info(Cloud(a), a)
    assert info.value == pytest.approx(0.0, abs=1e-12) and info.sampled == ()


def test_measures_without_exact_path_are_sampled_and_say_so():
    a = np.asarray(jax.random.normal(KEY, (300, 2)))
    info = wasserstein_with_info(a, StandardNormal2D(), n_samples=400)
    assert info.sampled == ("b",) and info.n_samples == 400 and "floor" in info.note
    assert 0.0 < info.value < 1.0
    product = wasserstein_with_info(Product([gaussian(0.0, 1.0)], 2), a, n_samples=400)
    assert product.sampled == ("a",) and product.algorithm == "emd"


# ---- sliced ------------------------------------------------------------------------------------
def test_sliced_of_identical_clouds_is_zero():
    a = np.asarray(jax.random.normal(KEY, (500, 3)))
    assert sliced_wasserstein(a, a, n_projections=64) == 0.0


@pytest.mark.parametrize("p", [1, 2])
def test_sliced_of_a_shift_is_shift_times_projection_moment(p):
    """Projections of a cloud and its shift by s e differ by the shift s<theta, e>, so
    SW_p^p = |s|^p mean|theta_1|^p; in d = 3, |theta_1| ~ U(0, 1) (Archimedes):
    E|theta_1|^p = 1/(p+1), Var|theta_1|^p = 1/(2p+1) - 1/(p+1)^2."""
    s, n_proj = 2.0, 2_000
    a = np.asarray(jax.random.normal(KEY, (400, 3)))
    shifted = a + s * np.array([1.0, 0.0, 0.0])
    se = s**p * np.sqrt((1 / (2 * p + 1) - 1 / (p + 1) ** 2) / n_proj)
    value = sliced_wasserstein(a, shifted, p, n_projections=n_proj, key=jax.random.key(3))
    assert abs(value**p - s**p / (p + 1)) < 5 * se


def test_sliced_lower_bounds_w_and_equals_it_in_1d():
    ka, kb = jax.random.split(KEY)
    a, b = np.asarray(jax.random.normal(ka, (200, 3))), np.asarray(jax.random.normal(kb, (200, 3)))
    for p in (1, 2):
        assert sliced_wasserstein(a, b, p, n_projections=50) <= wasserstein(a, b, p)
    assert sliced_wasserstein(a[:, :1], b[:, :1], n_projections=5) == pytest.approx(
        wasserstein(a[:, 0], b[:, 0]), rel=1e-12)


def test_size_guard_and_auto():
    ka, kb = jax.random.split(KEY)
    a, b = np.asarray(jax.random.normal(ka, (30, 2))), np.asarray(jax.random.normal(kb, (40, 2)))
    with pytest.raises(ValueError, match=r"1\.2e\+03-entry.*method='sliced'"):
        wasserstein(a, b, max_cost_entries=1_000)
    with pytest.warns(UserWarning, match="max_cost_entries"):
        info = wasserstein_with_info(a, b, method="auto", max_cost_entries=1_000)
    assert info.method == "sliced" and info.value <= wasserstein(a, b)


# ---- the particle floor ------------------------------------------------------------------------
def test_noise_floor_1d_matches_exact_expected_w2_squared():
    """E W2^2 = mean^2 + var (same exact uniform formula as above), within 5 SE of W2^2."""
    n, repeats = 100, 300
    i = np.arange(1, n + 1)
    mu = i / (n + 1)
    var = i * (n + 1 - i) / ((n + 1) ** 2 * (n + 2))
    truth = np.sum(var / n + ((i / n - mu) ** 3 - ((i - 1) / n - mu) ** 3) / 3)
    mean, std = particle_noise_floor(uniform(0, 1), n, key=KEY, n_repeats=repeats)
    mean_w2sq = mean**2 + std**2 * (repeats - 1) / repeats  # the repeats' mean of W2^2
    se = 2 * mean * std / np.sqrt(repeats)  # delta method: sd(W^2) ~ 2 E[W] sd(W)
    assert abs(mean_w2sq - truth) < 5 * se


def test_noise_floor_in_2d_compares_two_clouds_and_decreases():
    product = Product([gaussian(0.0, 1.0)], 2)
    small = particle_noise_floor(product, 100, key=KEY, n_repeats=5)
    large = particle_noise_floor(product, 400, key=KEY, n_repeats=5)
    assert large[0] < small[0] and small[1] > 0


# ---- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0, 3, 1.5, True])
def test_bad_p(p):
    with pytest.raises(ValueError, match=r"p=.* must be 1 or 2"):
        wasserstein(np.zeros(3), np.ones(3), p=p)


@pytest.mark.parametrize(("a", "b", "pattern"), [
    (np.zeros((10, 2)), gaussian(0, 1), r"shape \(10, 2\) in d=2 .* d=1"),
    (np.zeros((5, 2)), np.zeros((6, 3)), r"\(5, 2\) in d=2 .* \(6, 3\) in d=3"),
    (np.zeros(0), np.zeros(3), r"shape \(0,\)"),
    (np.zeros((4, 0)), np.zeros(3), r"shape \(4, 0\)"),
    (np.zeros((2, 2, 2)), np.zeros(3), r"shape \(2, 2, 2\)"),
    (np.array([0.0, np.nan, 1.0]), np.zeros(3), r"row 1 = \[nan\]"),
    ("not a measure", np.zeros(3), "neither a measure"),
])
def test_bad_inputs(a, b, pattern):
    with pytest.raises(ValueError, match=pattern):
        wasserstein(a, b)


def test_bad_options():
    with pytest.raises(ValueError, match="unknown method 'fast'"):
        wasserstein(np.zeros(3), np.ones(3), method="fast")
    with pytest.raises(ValueError, match="p=1 only"):
        wasserstein(np.zeros(3), np.ones(3), p=2, ground_cost="l1")
    with pytest.raises(ValueError, match="n_samples"):
        wasserstein(np.zeros(3), np.ones(3), n_samples=0)

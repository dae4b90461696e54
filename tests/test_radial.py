"""Radial wells, their exact rotation-invariant Gibbs measures and the radial W2, against
autodiff, Monte Carlo, independent quadrature, POT and the 1-D measures."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

import sgldsim as sg
from sgldsim._precision import enable_x64
from sgldsim.measures import gibbs_1d, radial_gibbs

RADII, DEPTHS, WIDTHS = [0.5, 2.0], [1.0, 0.6], [0.3, 0.7]


@pytest.fixture(autouse=True)
def _float64():
    """Closed forms are compared with autodiff and quadrature to ~1e-9: run in float64 whatever
    the process default."""
    with enable_x64(True):
        yield


def wells(dim: int, confinement: float = 1.0) -> sg.RadialWells:
    return sg.RadialWells(RADII, DEPTHS, WIDTHS, confinement, dim)


def profile_numpy(r, radii=RADII, depths=DEPTHS, widths=WIDTHS, m=1.0):
    """phi written out independently in numpy (the issue's formula)."""
    r = np.asarray(r, dtype=float)[..., None]
    c, a, s = (np.asarray(v, dtype=float) for v in (radii, depths, widths))
    bumps = np.exp(-(r - c) ** 2 / (2 * s**2)) + np.exp(-(r + c) ** 2 / (2 * s**2))
    return 0.5 * m * r[..., 0] ** 2 - np.sum(a * bumps, axis=-1)


def points(dim: int) -> np.ndarray:
    """Random directions at radii from near the origin to beyond the wells."""
    rng = np.random.default_rng(dim)
    z = rng.normal(size=(7, dim))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return z * np.array([1e-3, 1e-2, 0.3, 0.5, 1.1, 2.0, 3.5])[:, None]


@pytest.mark.parametrize("dim", [1, 3, 50])
def test_value_gradient_laplacian_equal_autodiff(dim):
    u, x = wells(dim), points(dim)
    value = jax.jit(jax.vmap(lambda y: u.value(y)))(x)
    grad = jax.jit(jax.vmap(jax.grad(lambda y: u.value(y))))(x)
    lap = jax.jit(jax.vmap(lambda y: jnp.trace(jax.hessian(lambda z: u.value(z))(y))))(x)
    np.testing.assert_allclose(value, profile_numpy(np.linalg.norm(x, axis=1)), rtol=1e-13)
    np.testing.assert_allclose(u.grad(x), grad, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(u.laplacian(x), lap, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("dim", [1, 3, 50])
def test_origin_limits(dim):
    """grad u(0) = 0 and Lap u(0) = d phi''(0), phi''(0) by central differences of phi."""
    u = wells(dim)
    h = 1e-4
    phi2 = (profile_numpy(h) - 2 * profile_numpy(0.0) + profile_numpy(-h)) / h**2
    origin = np.zeros((1, dim))
    assert np.all(np.asarray(u.grad(origin)) == 0.0)
    assert float(u.laplacian(origin)[0]) == pytest.approx(dim * phi2, rel=1e-6)


@pytest.mark.parametrize("dim", [50])
def test_regularized_is_u_plus_half_sigma2_laplacian(dim):
    u, x, sigma = wells(dim), points(dim), 0.3
    v = u.regularized(sigma)
    assert isinstance(v, sg.RadialPotential)

    def v_autodiff(y):
        return u.value(y) + 0.5 * sigma**2 * jnp.trace(jax.hessian(lambda z: u.value(z))(y))

    np.testing.assert_allclose(jax.jit(v.value)(x), jax.jit(jax.vmap(v_autodiff))(x),
                               rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(jax.jit(v.grad)(x[2:]),
                               jax.jit(jax.vmap(jax.grad(v_autodiff)))(x[2:]), rtol=1e-7,
                               atol=1e-7)


@pytest.mark.parametrize("dim", [1, 3, 50, 1000])
def test_smoothed_equals_monte_carlo_within_5_se(dim):
    u, sigma, n = wells(dim), 0.4, 20_000 if dim < 1000 else 4000
    g = u.smoothed(sigma)
    z = np.random.default_rng(7).normal(size=(n, dim))
    for radius in (0.2, 1.0, 2.5):
        x = np.zeros(dim)
        x[0] = radius
        samples = np.asarray(u.value(x + sigma * z))
        se = samples.std(ddof=1) / np.sqrt(n)
        assert abs(float(g.value(x)) - samples.mean()) < 5 * se, (dim, radius)


@pytest.mark.parametrize("dim", [3, 50])
def test_gibbs_radial_moments_equal_quadrature(dim):
    beta = 3.0
    measure = sg.Gibbs(wells(dim), beta)
    assert isinstance(measure, sg.RadialMeasure)

    def density(r):
        return np.exp((dim - 1) * np.log(r) - beta * profile_numpy(r) - offset)

    grid = np.linspace(1e-9, 20, 20001)
    offset = np.max((dim - 1) * np.log(grid) - beta * profile_numpy(grid))
    z = integrate.quad(density, 0, 20, limit=400, points=[0.5, 2.0, 5.0])[0]
    for k in (1, 2):
        moment = integrate.quad(lambda r, k=k: r**k * density(r), 0, 20, limit=400,
                                points=[0.5, 2.0, 5.0])[0] / z
        assert measure.radius_moment(k) == pytest.approx(moment, rel=1e-6)
    assert measure.mean_radius() == pytest.approx(measure.radius_moment(1))
    np.testing.assert_allclose(np.asarray(measure.score(points(dim))),
                               -beta * np.asarray(wells(dim).grad(points(dim))))


@pytest.mark.parametrize("dim", [2, 3])
def test_radial_w2_equals_emd_between_exact_samples(dim):
    """|W2(samples) - W2| <= W2(a_N, a) + W2(b_N, b) (triangle inequality); each term is bounded
    by the sample-vs-sample floor of its measure."""
    beta, n = 8.0, 600
    a = sg.Gibbs(wells(dim), beta)
    b = sg.Gibbs(sg.RadialWells([3.0, 5.0], DEPTHS, WIDTHS, 0.3, dim), beta)
    exact = sg.wasserstein(a, b, p=2)
    assert sg.wasserstein_with_info(a, b).algorithm == "radial-quantile"
    keys = jax.random.split(jax.random.key(dim), 4)
    xa, xb, xa2, xb2 = (m.sample(k, n) for m, k in zip((a, b, a, b), keys, strict=True))
    sampled = sg.wasserstein(xa, xb, p=2)
    floor = sg.wasserstein(xa, xa2, p=2) + sg.wasserstein(xb, xb2, p=2)
    assert exact > 2 * floor
    assert abs(sampled - exact) < floor
    # exact draws against their own measure: the radial distance sits at the radial floor
    floor_mean, floor_std = sg.radial_noise_floor(a, n, key=keys[3])
    assert sg.radial_wasserstein(xa, a) < floor_mean + 5 * floor_std


def test_dimension_one_reduces_to_the_one_dimensional_measures():
    u, v, beta = wells(1), wells(1, confinement=0.5), 4.0
    ra, rb = radial_gibbs(u, beta), radial_gibbs(v, beta)
    qa, qb = gibbs_1d(u, beta), gibbs_1d(v, beta)
    assert ra.mean_radius() == pytest.approx(qa.expect(np.abs), rel=1e-6)
    assert ra.radius_moment(2) == pytest.approx(qa.moment(2), rel=1e-6)
    assert sg.wasserstein(ra, rb) == pytest.approx(sg.wasserstein(qa, qb), rel=1e-5)
    assert isinstance(sg.Gibbs(u, beta), sg.Measure1D)


def test_smoothed_radial_at_dimension_one_equals_gauss_hermite():
    u = wells(1)
    x = np.array([[0.0], [0.7], [2.2]])
    generic = sg.potentials.Potential.smoothed(u, 0.3)  # base class: Gauss–Hermite in 1-D
    np.testing.assert_allclose(u.smoothed(0.3).value(x), generic.value(x), rtol=1e-10)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"dim": 0}, "dim=0"),
    ({"widths": [0.3, -0.1]}, "widths"),
    ({"widths": [0.3, 0.0]}, "widths"),
    ({"confinement": 0.0}, "confinement=0.0"),
    ({"confinement": -1.0}, "confinement=-1.0"),
    ({"radii": [-1.0, 2.0]}, "radii"),
    ({"depths": [1.0, 2.0, 3.0]}, "depths has shape"),
])
def test_bad_input_is_named(kwargs, match):
    args = {"radii": RADII, "depths": DEPTHS, "widths": WIDTHS, "confinement": 1.0, "dim": 3}
    with pytest.raises(ValueError, match=match):
        sg.RadialWells(**{**args, **kwargs})


def test_radial_gibbs_needs_a_radial_potential():
    with pytest.raises(ValueError, match="RadialPotential"):
        radial_gibbs(sg.Quadratic(1.0), 1.0)

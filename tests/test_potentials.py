"""Potentials against independent truth: autodiff, Monte Carlo / quadrature smoothing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sgldsim as sg
from sgldsim.potentials.base import Potential

# closed forms are checked to 1e-10 on float64 arrays built here: the tests need 64-bit inputs
pytestmark = pytest.mark.usefixtures("x64")

KEY = jax.random.PRNGKey(20261128)


def wells(dim):
    rng = np.random.default_rng(dim)
    return sg.GaussianWells(
        centers=rng.normal(size=(3, dim)), depths=[1.0, 0.7, 1.3], widths=[0.3, 0.8, 1.5],
        confinement=0.1,
    )


POTENTIALS = {
    "quadratic": sg.Quadratic(curvature=[1.0, 2.0, 3.0], dim=3),
    "double-well": sg.sharp_flat_double_well(),
    "tilted-double-well": sg.sharp_flat_double_well(depth_gap=0.2),
    "wells-1d": sg.GaussianWells(centers=[[-2.0], [2.0]], depths=[1.0, 1.0], widths=[0.25, 1.0],
                                 confinement=0.05),
    "wells-5d": wells(5),
    "separable": sg.Separable(sg.sharp_flat_double_well(), dim=4),
}


def points(pot, n=7, scale=1.5, key=KEY):
    return scale * jax.random.normal(key, (n, pot.dim))


@pytest.mark.parametrize("name", POTENTIALS)
def test_grad_and_laplacian_equal_autodiff(name):
    pot = POTENTIALS[name]
    x = points(pot)
    auto_grad = jax.vmap(jax.grad(lambda y: pot.value(y)))(x)
    auto_lap = jax.vmap(lambda y: jnp.trace(jax.hessian(lambda z: pot.value(z))(y)))(x)
    np.testing.assert_allclose(pot.grad(x), auto_grad, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pot.laplacian(x), auto_lap, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", POTENTIALS)
def test_shapes_follow_leading_axes(name):
    pot = POTENTIALS[name]
    x = jnp.zeros((2, 3, pot.dim))
    assert pot.value(x).shape == (2, 3)
    assert pot.grad(x).shape == (2, 3, pot.dim)
    assert pot.laplacian(x).shape == (2, 3)


@pytest.mark.parametrize("name", ["double-well", "wells-1d", "wells-5d", "separable", "quadratic"])
@pytest.mark.parametrize("sigma", [0.1, 0.5])
def test_smoothed_equals_monte_carlo_average(name, sigma):
    """g_sigma(x) = E u(x + sigma Z): closed form vs a plain Monte Carlo mean, within 5 SE."""
    pot = POTENTIALS[name]
    x = points(pot, n=5)
    z = jax.random.normal(jax.random.fold_in(KEY, 1), (200_000, pot.dim))
    samples = pot.value(x[:, None, :] + sigma * z)  # (5, M)
    mc_mean = samples.mean(axis=1)
    mc_se = samples.std(axis=1, ddof=1) / np.sqrt(z.shape[0])
    exact = pot.smoothed(sigma).value(x)
    assert np.all(np.abs(exact - mc_mean) <= 5 * mc_se + 1e-12), (exact, mc_mean, mc_se)


@pytest.mark.parametrize("name", ["double-well", "wells-1d"])
def test_smoothed_equals_gauss_hermite_in_1d(name):
    pot = POTENTIALS[name]
    x = points(pot)
    exact = pot.smoothed(0.4).value(x)
    numeric = Potential.smoothed(pot, 0.4).value(x)  # base-class Gauss–Hermite path
    np.testing.assert_allclose(exact, numeric, rtol=1e-9, atol=1e-9)


def test_polynomial_smoothing_of_monomials():
    """E (x + sigma Z)^4 = x^4 + 6 sigma^2 x^2 + 3 sigma^4."""
    quartic = sg.Polynomial1D([0.0, 0.0, 0.0, 0.0, 1.0])
    x = jnp.linspace(-2, 2, 9)[:, None]
    s = 0.7
    expected = x[:, 0] ** 4 + 6 * s**2 * x[:, 0] ** 2 + 3 * s**4
    np.testing.assert_allclose(quartic.smoothed(s).value(x), expected, rtol=1e-12)


def test_monte_carlo_smoothing_reports_its_error():
    pot = POTENTIALS["wells-5d"]
    mc = Potential.smoothed(pot, 0.3)
    x = points(pot, n=4)
    err = np.asarray(mc.standard_error(x))
    assert np.all(err > 0)
    assert np.all(np.abs(mc.value(x) - pot.smoothed(0.3).value(x)) <= 5 * err)


@pytest.mark.parametrize("name", POTENTIALS)
def test_regularized_is_u_plus_half_sigma2_laplacian(name):
    pot = POTENTIALS[name]
    x = points(pot)
    sigma = 0.3
    v = pot.regularized(sigma)
    np.testing.assert_allclose(
        v.value(x), pot.value(x) + 0.5 * sigma**2 * pot.laplacian(x), rtol=1e-10, atol=1e-10
    )
    auto = jax.vmap(jax.grad(lambda y: v.value(y)))(x)
    np.testing.assert_allclose(v.grad(x), auto, rtol=1e-9, atol=1e-9)


def test_smoothing_matches_heat_expansion_for_small_sigma():
    """g_sigma = u + sigma^2/2 Lap u + O(sigma^4) (docs/theory.md §2)."""
    pot = POTENTIALS["wells-1d"]
    x = points(pot)
    errs = []
    for sigma in (0.04, 0.02):
        diff = pot.smoothed(sigma).value(x) - pot.regularized(sigma).value(x)
        errs.append(float(np.max(np.abs(diff))))
    assert 12 < errs[0] / errs[1] < 20  # fourth order: ratio 16


def test_sharp_flat_double_well_geometry():
    dw = sg.sharp_flat_double_well()
    minima = jnp.array([[-1.0], [1.0]])
    np.testing.assert_allclose(dw.value(minima), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(dw.grad(minima)[:, 0], [0.0, 0.0], atol=1e-12)
    sharp, flat = np.asarray(dw.laplacian(minima))
    assert sharp / flat >= 10 - 1e-9
    tilted = sg.sharp_flat_double_well(depth_gap=0.1)
    grid = jnp.linspace(-1.5, 1.5, 30001)[:, None]
    vals = np.asarray(tilted.value(grid))
    left, right = vals[grid[:, 0] < 0].min(), vals[grid[:, 0] > 0].min()
    assert right - left == pytest.approx(0.1, abs=0.01)


def test_separable_is_sum_over_coordinates():
    base = sg.sharp_flat_double_well()
    sep = sg.Separable(base, dim=3)
    x = points(sep)
    np.testing.assert_allclose(sep.value(x), base.value(x[..., None]).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(
        sep.smoothed(0.3).value(x), base.smoothed(0.3).value(x[..., None]).sum(-1), rtol=1e-12
    )


@pytest.mark.parametrize("make_stochastic", ["additive", "empirical"])
def test_stochastic_gradient_is_unbiased(make_stochastic):
    base = POTENTIALS["wells-1d"]
    if make_stochastic == "additive":
        pot = sg.AdditiveGradientNoise(base, noise_scale=0.5)
    else:
        data = jax.random.normal(jax.random.fold_in(KEY, 7), (50, 1)) * 0.3
        pot = sg.EmpiricalRisk(base, data, batch_size=5)
    x = jnp.array([[-1.0], [0.5]])
    keys = jax.random.split(jax.random.fold_in(KEY, 3), 20_000)
    draws = jax.vmap(lambda k: pot.stochastic_grad(k, x))(keys)[..., 0]  # (M, 2)
    se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - pot.grad(x)[:, 0]) <= 5 * se)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: sg.Quadratic(curvature=-1.0), "curvature=-1.0"),
        (lambda: sg.Quadratic(curvature=1.0, dim=0), "dim=0"),
        (lambda: sg.GaussianWells(centers=[[0.0]], depths=[1.0], widths=[-0.5]), "widths"),
        (lambda: sg.GaussianWells(centers=[[0.0], [1.0]], depths=[1.0], widths=[1.0, 1.0]),
         "depths has shape"),
        (lambda: sg.sharp_flat_double_well().smoothed(-0.1), "sigma=-0.1"),
        (lambda: sg.Quadratic(1.0, dim=2).value(jnp.zeros((4, 3))), r"shape \(4, 3\)"),
        (lambda: sg.Separable(sg.Quadratic(1.0, dim=2), dim=3), "1-D base"),
    ],
)
def test_bad_input_names_the_value(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_potentials_pass_through_jit():
    pot = POTENTIALS["wells-5d"]
    x = points(pot)
    jitted = jax.jit(lambda p, y: p.grad(y))
    np.testing.assert_allclose(jitted(pot, x), pot.grad(x), rtol=1e-12)

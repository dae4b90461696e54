"""Gibbs at extreme beta (issue 24, reliability round 3): beyond what float64 quadrature resolves,
the measure is the Laplace limit at the global minimiser(s), or a one-line ValueError naming beta
and the largest beta resolved; never wrong moments, never an OverflowError.

The README's GaussianWells once gave variance 3.39e-15 for 9.65e-17 at beta = 1e16: the rounding
of u (about 2e-16 at u ~ -1) times beta swamped the exponent beta (u - u_min).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sgldsim as sg
from sgldsim._precision import enable_x64
from sgldsim.measures import Gibbs

GRID_RTOL = 1e-7  # the 1-D grid's own error (variance bias ~ 1 / (12 resolution^2) ~ 1e-8)
README_WELLS = sg.GaussianWells(centers=[[-2.0], [2.0]], depths=[1.0, 1.0], widths=[0.25, 1.0],
                                confinement=0.05)
BETAS = [1.0, 1e2, 1e4, 1e6, 1e8, 1e10, 1e12, 1e14, 1e15, 1e16, 1e18, 1e20]


def one_line_value_error(fn, *patterns) -> str:
    with pytest.raises(ValueError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message
    for pattern in patterns:
        assert pattern in message, (pattern, message)
    return message


# ---- quadratics: the closed form N(c, 1 / (beta a)) at every beta ---------------------------
QUADRATICS = {  # name: (potential, a, c)
    "offset": (sg.Quadratic(2.5, offset=3.0), 2.5, 0.0),  # u_min = 3: u rounds at 4.4e-16
    "off-centre": (sg.Polynomial1D(coeffs=[7.5, -6.0, 2.0]), 4.0, 1.5),  # 2 (x - 1.5)^2 + 3
}


@pytest.mark.parametrize("beta", BETAS + [1e300])
@pytest.mark.parametrize("name", sorted(QUADRATICS))
def test_quadratic_matches_closed_form_or_refuses(name, beta):
    potential, a, c = QUADRATICS[name]
    if name == "off-centre" and beta == 1e300:  # a well of width 5e-151 at x = 1.5
        one_line_value_error(lambda: Gibbs(potential, beta), "beta=1e+300", "largest beta=")
        return
    mu = Gibbs(potential, beta)
    assert mu.var == pytest.approx(1.0 / (beta * a), rel=GRID_RTOL)
    assert abs(mu.mean - c) <= 1e-6 / math.sqrt(beta * a) + 4 * np.spacing(c)


# ---- the README's wells: the Laplace variance, to its next correction -----------------------
def laplace_expansion(u, guess):
    """Minimiser m (Newton on u', float64), a = u''(m), and K with var = (1 + K / beta) /
    (beta a) + O(beta^-3): K = b^2 / a^3 - c / (2 a^2) with b, c the third and fourth
    derivatives at m; the mean is m - b / (2 a^2 beta) + O(beta^-2)."""
    with enable_x64(True):
        d1 = jax.grad(lambda t: u.value(t[None]))
        d2 = jax.grad(d1)
        d3 = jax.grad(d2)
        d4 = jax.grad(d3)
        derivatives = jax.jit(lambda t: jnp.stack([d1(t), d2(t), d3(t), d4(t)]))
        m = jnp.asarray(guess, dtype=jnp.float64)
        for _ in range(20):
            g, a, _, _ = derivatives(m)
            m = m - g / a
        _, a, b, c = (float(v) for v in derivatives(m))
    return float(m), a, b, b * b / a**3 - c / (2 * a * a)


@functools.cache
def readme_laplace():
    return laplace_expansion(README_WELLS, 1.9)


@pytest.mark.parametrize("beta", BETAS[3:])
def test_readme_wells_variance_tends_to_laplace(beta):
    m, a, b, k = readme_laplace()
    mu = Gibbs(README_WELLS, beta)
    laplace = 1.0 / (beta * a)
    # what the Laplace limit neglects, 2 |K| / beta, plus the grid's error
    assert mu.var == pytest.approx(laplace, rel=2 * abs(k) / beta + GRID_RTOL)
    sd = math.sqrt(laplace)
    assert abs(mu.mean - (m - b / (2 * a * a * beta))) <= 1e-4 * sd + 4 * np.spacing(m)


def test_readme_wells_reported_values():
    """The issue's values: 9.65e-17 at beta = 1e16, 9.65e-19 at 1e18 (were 3.39e-15, 7.9e-11)."""
    assert Gibbs(README_WELLS, 1e16).var == pytest.approx(9.649452e-17, rel=1e-6)
    assert Gibbs(README_WELLS, 1e18).var == pytest.approx(9.649452e-19, rel=1e-6)


@pytest.mark.parametrize("beta", [1e300, 1e24])
def test_readme_wells_beyond_the_float64_grid_is_one_line_error(beta):
    message = one_line_value_error(lambda: Gibbs(README_WELLS, beta), f"beta={beta:.4g}",
                                   "largest beta=", "GaussianWells")
    largest = float(message.split("largest beta=")[1].split()[0])
    # cells (width / 3000) reach 4 float64 steps (2.2e-16) at 1 / (u'' (4 * 3000 * 2.2e-16)^2)
    assert largest == pytest.approx(1 / (1.0363 * (4 * 3000 * np.spacing(1.9)) ** 2), rel=1e-3)
    Gibbs(README_WELLS, 0.999 * largest)  # and just below, beta is resolved


@pytest.mark.parametrize("beta", [math.inf, math.nan, -math.inf])
def test_non_finite_beta_is_one_line_error(beta):
    one_line_value_error(lambda: Gibbs(README_WELLS, beta), f"beta={beta!r}")


# ---- several global minima of equal depth: weights det(H_i)^(-1/2) --------------------------
# (x^2 - 1)^2 (x^2 + x + 2) + 5: minima at -1 and 1, both u = 5, u'' = 16 and 32
EQUAL_DEPTH = sg.Polynomial1D(coeffs=[7.0, 1.0, -3.0, -2.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("beta", [1e6, 1e10, 1e14, 1e18, 1e20])
def test_equal_depth_minima_weighted_by_inverse_sqrt_curvature(beta):
    left = 1 / math.sqrt(16.0)
    limit = left / (left + 1 / math.sqrt(32.0))  # 2 - sqrt(2)
    mu = Gibbs(EQUAL_DEPTH, beta)
    assert mu.mass_of_box(-np.inf, 0.0) == pytest.approx(limit, abs=10 / beta + 1e-7)
    assert mu.mean == pytest.approx(-limit + (1 - limit), abs=10 / beta + 1e-7)


# ---- where the Laplace limit does not apply: a one-line error -------------------------------
def test_degenerate_minimum_beyond_quadrature_is_one_line_error():
    """u = x^4 + 1: quadrature is right up to beta ~ 1e12 (var Gamma(3/4) / Gamma(1/4) /
    sqrt(beta)), then u's rounding (2.2e-16 at 1) dominates and H = 0 has no Laplace limit."""
    quartic = sg.Polynomial1D(coeffs=[1.0, 0.0, 0.0, 0.0, 1.0])
    exact = math.gamma(0.75) / math.gamma(0.25) / math.sqrt(1e10)
    assert Gibbs(quartic, 1e10).var == pytest.approx(exact, rel=1e-5)
    message = one_line_value_error(lambda: Gibbs(quartic, 1e16), "beta=1e+16",
                                   "the quadrature resolves", "not positive definite")
    largest = float(message.split("largest beta=")[1].split()[0])
    assert largest == pytest.approx(1 / (3000 * np.spacing(1.0)), rel=0.5)


# ---- the other representations ---------------------------------------------------------------
def test_product_and_2d_grid_follow_the_laplace_limit():
    m, a, _, _ = readme_laplace()
    product = Gibbs(sg.Separable(README_WELLS, 3), 1e18)
    np.testing.assert_allclose(product.var, 1 / (1e18 * a), rtol=GRID_RTOL)
    wells = sg.GaussianWells(centers=[[-2.0, 0.5], [2.0, -0.3]], depths=[1.0, 1.0],
                             widths=[0.25, 1.0], confinement=0.05)
    grid = Gibbs(wells, 1e16)
    with enable_x64(True):
        hessian = np.asarray(jax.hessian(wells.value)(jnp.asarray(grid.mean)))
    np.testing.assert_allclose(grid.cov * 1e16, np.linalg.inv(hessian), rtol=1e-3, atol=1e-6)
    one_line_value_error(lambda: Gibbs(wells, 1e300), "beta=1e+300", "largest beta=")


@pytest.mark.parametrize("beta", [1e10, 1e300])
def test_radial_beyond_its_grid_is_one_line_error(beta):
    wells = sg.RadialWells(radii=[1.0, 3.0], depths=[1.0, 1.0], widths=[0.25, 1.0],
                           confinement=0.1, dim=3)
    one_line_value_error(lambda: Gibbs(wells, beta), f"beta={beta:.4g}", "largest beta",
                         "n_cells")

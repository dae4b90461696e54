"""Viscous Burgers equation with its exact solution by the Cole-Hopf transform (no data file)."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._base import PinnProblem, box_domain, box_moments, grid, on_face, uniform

QUADRATURE_HALF_WIDTH = 12.0
"""The Cole-Hopf integral in z runs over [-12, 12]: e^{-z^2} < e^{-144} beyond, below the
largest ratio e^{1/(pi nu)} = e^{100} of the initial heat potential by e^{-44}."""


def cole_hopf(points: np.ndarray, nu: float, nodes: int = 2401) -> np.ndarray:
    """u(x, t) of u_t + u u_x = nu u_xx, u(x, 0) = -sin(pi x), u(+-1, t) = 0, float64.

    With phi_0(y) = exp(-cos(pi y) / (2 pi nu)) (the 2-periodic odd extension of the initial
    condition) and y = x - sqrt(4 nu t) z,

        u(x, t) = - int sin(pi y) phi_0(y) e^{-z^2} dz / int phi_0(y) e^{-z^2} dz,

    evaluated by the trapezoid rule on a uniform z grid (spectrally accurate for this smooth,
    rapidly decaying integrand) with the exponents shifted by their maximum (no overflow);
    u(x, 0) = -sin(pi x) exactly. Basdevant et al., Spectral and finite difference solutions of
    the Burgers equation, Comput. Fluids 1986, Eq. (6).
    """
    x, t = points[:, 0], points[:, 1]
    z = np.linspace(-QUADRATURE_HALF_WIDTH, QUADRATURE_HALF_WIDTH, nodes)
    out = -np.sin(np.pi * x)
    for start in range(0, len(x), 1024):
        s = slice(start, start + 1024)
        y = x[s, None] - np.sqrt(4 * nu * t[s, None]) * z
        exponent = -np.cos(np.pi * y) / (2 * np.pi * nu) - z**2
        w = np.exp(exponent - exponent.max(axis=1, keepdims=True))
        value = -(np.sin(np.pi * y) * w).sum(1) / w.sum(1)
        out[s] = np.where(t[s] > 0, value, out[s])
    return out


@dataclass(frozen=True)
class Burgers(PinnProblem):
    """u_t + u u_x - nu u_xx = 0 on (x, t) in [-1, 1] x [0, 1], nu = 0.01/pi,
    u(x, 0) = -sin(pi x), u(-1, t) = u(1, t) = 0 (Raissi, Perdikaris, Karniadakis 2019).

    Columns: x, t. Residual r = du_theta/dt + u_theta du_theta/dx - nu d^2u_theta/dx^2.
    Boundary parts: ``"initial"`` (x, 0), ``n_boundary`` points, misfit u_theta + sin(pi x),
    and ``"sides"``, ``n_boundary`` points on each of x = -1 and x = +1, misfit u_theta, one
    mean over both sides (the DCGD code's two terms). Raw inputs (``standardise=False``, as in
    the DCGD code for Burgers). The reference is :func:`cole_hopf` (test grid 201 x 101).
    """

    nu: float = 0.01 / np.pi
    test_size: tuple[int, int] = (201, 101)

    def second_order_weights(self):
        return (1.0, 0.0)                         # u_xx

    def pde_residual(self, x, jet):
        return jet.du[:, 1] + jet.u * jet.du[:, 0] - self.nu * jet.d2u

    def boundary_misfits(self, field, boundary):
        y0, ys = boundary["initial"], boundary["sides"]
        return [field(y0, 0).u + jnp.sin(np.pi * y0[:, 0]), field(ys, 0).u]

    def sample(self, key, n_residual, n_boundary):
        k_r, k_0, k_left, k_right = jax.random.split(key, 4)
        sides = jnp.concatenate([
            on_face(uniform(k, n_boundary, [-1.0, 0.0], [1.0, 1.0]), 0, side)
            for k, side in ((k_left, -1.0), (k_right, 1.0))])
        return {"residual": uniform(k_r, n_residual, [-1.0, 0.0], [1.0, 1.0]),
                "boundary": {"initial": uniform(k_0, n_boundary, [-1.0, 0.0], [1.0, 0.0]),
                             "sides": sides}}

    def domain(self):
        return box_domain([-1.0, 0.0], [1.0, 1.0])

    def input_moments(self):
        return box_moments([-1.0, 0.0], [1.0, 1.0])

    def test_points(self):
        return grid([-1.0, 0.0], [1.0, 1.0], list(self.test_size))

    def _exact(self, points):
        return cole_hopf(points, self.nu)

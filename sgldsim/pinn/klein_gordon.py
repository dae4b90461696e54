"""Nonlinear Klein-Gordon equation in 1-D space and time with a manufactured solution."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._base import PinnProblem, grid, uniform
from .operators import derivative, second_derivatives


@dataclass(frozen=True)
class KleinGordon(PinnProblem):
    """u_tt - u_xx + u^3 = f on (x, t) in [0, 1]^2 with u = x cos(5 pi t) + (x t)^3, so
    f = -25 pi^2 x cos(5 pi t) + 6 x^3 t - 6 x t^3 + u^3.

    Columns: x, t. Residual r = d^2u_theta/dt^2 - d^2u_theta/dx^2 + u_theta^3 - f. Boundary
    parts: ``"initial"`` (x, 0) with misfits u_theta - x and du_theta/dt (u(x,0) = x,
    u_t(x,0) = 0) and ``"sides"`` (0 or 1, t) with misfit u_theta - u. As in Wang, Teng,
    Perdikaris 2021, Sec. 5 (alpha = -1, beta = 0, gamma = 1, k = 3), the DCGD paper's setting.
    """

    test_size: int = 101

    def solution(self, x, xp=jnp):
        s, t = x[..., 0], x[..., 1]
        return s * xp.cos(5 * np.pi * t) + (s * t) ** 3

    def forcing(self, x, xp=jnp):
        s, t = x[..., 0], x[..., 1]
        return (-25 * np.pi**2 * s * xp.cos(5 * np.pi * t) + 6 * s**3 * t - 6 * s * t**3
                + self.solution(x, xp) ** 3)

    def residual(self, u, x):
        u_xx, u_tt = second_derivatives(u, x, (0, 1), self.operator)
        return u_tt - u_xx + u(x) ** 3 - self.forcing(x)

    def boundary_misfits(self, u, boundary):
        y0, ys = boundary["initial"], boundary["sides"]
        return [jax.vmap(u)(y0) - y0[:, 0],
                jax.vmap(lambda y: derivative(u, y, 1))(y0),
                jax.vmap(u)(ys) - self.solution(ys)]

    def sample(self, key, n_residual, n_boundary):
        k_r, k_0, k_s, k_side = jax.random.split(key, 4)
        initial = uniform(k_0, n_boundary, [0.0, 0.0], [1.0, 0.0])
        sides = uniform(k_s, n_boundary, [0.0, 0.0], [1.0, 1.0])
        side = jax.random.bernoulli(k_side, 0.5, (n_boundary,)).astype(jnp.float32)
        sides = sides.at[:, 0].set(side)
        return {"residual": uniform(k_r, n_residual, [0.0, 0.0], [1.0, 1.0]),
                "boundary": {"initial": initial, "sides": sides}}

    def test_points(self):
        return grid([0.0, 0.0], [1.0, 1.0], [self.test_size] * 2)

    def _exact(self, points):
        return self.solution(points, np)

"""Nonlinear Klein-Gordon equation in 1-D space and time with a manufactured solution."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._base import PinnProblem, box_domain, box_moments, grid, on_face, uniform


@dataclass(frozen=True)
class KleinGordon(PinnProblem):
    """u_tt - u_xx + u^3 = f on (x, t) in [0, 1]^2 with u = x cos(5 pi t) + (x t)^3, so
    f = -25 pi^2 x cos(5 pi t) + 6 x^3 t - 6 x t^3 + u^3.

    Columns: x, t. Residual r = d^2u_theta/dt^2 - d^2u_theta/dx^2 + u_theta^3 - f. Boundary
    parts, ``n_boundary`` points each: ``"initial"`` (x, 0) with misfits u_theta - x and
    du_theta/dt (u(x,0) = x, u_t(x,0) = 0), ``"x=0"`` and ``"x=1"`` (the sides) with misfit
    u_theta - u; L_b sums the four means, as the DCGD code does. As in Wang, Teng, Perdikaris
    2021, Sec. 5 (alpha = -1, beta = 0, gamma = 1, k = 3), the DCGD paper's setting.
    """

    test_size: int = 101

    def solution(self, x, xp=jnp):
        s, t = x[..., 0], x[..., 1]
        return s * xp.cos(5 * np.pi * t) + (s * t) ** 3

    def forcing(self, x, xp=jnp):
        s, t = x[..., 0], x[..., 1]
        return (-25 * np.pi**2 * s * xp.cos(5 * np.pi * t) + 6 * s**3 * t - 6 * s * t**3
                + self.solution(x, xp) ** 3)

    def second_order_weights(self):
        return (-1.0, 1.0)                        # u_tt - u_xx

    def pde_residual(self, x, jet):
        return jet.d2u + jet.u**3 - self.forcing(x)

    def boundary_misfits(self, field, boundary):
        y0 = boundary["initial"]
        initial = field(y0, 1)
        return [initial.u - y0[:, 0], initial.du[:, 1],
                *(field(boundary[side], 0).u - self.solution(boundary[side])
                  for side in ("x=0", "x=1"))]

    def sample(self, key, n_residual, n_boundary):
        k_r, k_0, k_left, k_right = jax.random.split(key, 4)
        return {"residual": uniform(k_r, n_residual, [0.0, 0.0], [1.0, 1.0]),
                "boundary": {"initial": uniform(k_0, n_boundary, [0.0, 0.0], [1.0, 0.0]),
                             "x=0": on_face(uniform(k_left, n_boundary, [0.0, 0.0],
                                                    [1.0, 1.0]), 0, 0.0),
                             "x=1": on_face(uniform(k_right, n_boundary, [0.0, 0.0],
                                                    [1.0, 1.0]), 0, 1.0)}}

    def domain(self):
        return box_domain([0.0, 0.0], [1.0, 1.0])

    def input_moments(self):
        return box_moments([0.0, 0.0], [1.0, 1.0])

    def test_points(self):
        return grid([0.0, 0.0], [1.0, 1.0], [self.test_size] * 2)

    def _exact(self, points):
        return self.solution(points, np)

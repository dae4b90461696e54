"""Helmholtz equation on [-1, 1]^d with a manufactured solution (2-D and 3-D)."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._base import PinnProblem, grid, uniform
from .operators import laplacian


@dataclass(frozen=True)
class Helmholtz(PinnProblem):
    """Lap u + k^2 u = f on [-1, 1]^d, u = g on the boundary, with
    u(x) = prod_i sin(a_i pi x_i) and f = (k^2 - pi^2 sum_i a_i^2) u (so g = 0).

    Columns: x, y (, z). Residual r = Lap u_theta + k^2 u_theta - f at uniform points of the
    square (cube); one boundary part, ``"faces"``: uniform points on a uniformly chosen face,
    misfit u_theta - u. ``helmholtz2d``: a = (1, 4), k = 1 (Wang, Teng, Perdikaris 2021, Sec.
    2.3; the DCGD paper's Helmholtz); ``helmholtz3d``: a = (4, 4, 3), k = 1.
    """

    wave_numbers: tuple[float, ...] = (1.0, 4.0)
    k: float = 1.0
    test_size: int = 101

    def solution(self, x, xp=jnp):
        out = 1.0
        for i, a in enumerate(self.wave_numbers):
            out = out * xp.sin(a * np.pi * x[..., i])
        return out

    def forcing(self, x, xp=jnp):
        return (self.k**2 - np.pi**2 * sum(a**2 for a in self.wave_numbers)) * self.solution(
            x, xp)

    def residual(self, u, x):
        return (laplacian(u, x, range(self.spatial_dim), self.operator) + self.k**2 * u(x)
                - self.forcing(x))

    def boundary_misfits(self, u, boundary):
        y = boundary["faces"]
        return [jax.vmap(u)(y) - self.solution(y)]

    def sample(self, key, n_residual, n_boundary):
        d = self.spatial_dim
        k_r, k_b, k_axis, k_side = jax.random.split(key, 4)
        faces = uniform(k_b, n_boundary, [-1.0] * d, [1.0] * d)
        axis = jax.random.randint(k_axis, (n_boundary,), 0, d)
        side = jnp.where(jax.random.bernoulli(k_side, 0.5, (n_boundary,)), 1.0, -1.0)
        faces = jnp.where(jnp.arange(d) == axis[:, None], side[:, None], faces)
        return {"residual": uniform(k_r, n_residual, [-1.0] * d, [1.0] * d),
                "boundary": {"faces": faces.astype(jnp.float32)}}

    def test_points(self):
        d = self.spatial_dim
        return grid([-1.0] * d, [1.0] * d, [self.test_size] * d)

    def _exact(self, points):
        return self.solution(points, np)

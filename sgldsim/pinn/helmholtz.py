"""Helmholtz equation on [-1, 1]^d with a manufactured solution (2-D and 3-D)."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._base import PinnProblem, box_domain, box_moments, grid, on_face, uniform


@dataclass(frozen=True)
class Helmholtz(PinnProblem):
    """Lap u + k^2 u = f on [-1, 1]^d, u = g on the boundary, with
    u(x) = prod_i sin(a_i pi x_i) and f = (k^2 - pi^2 sum_i a_i^2) u (so g = 0).

    Columns: x, y (, z). Residual r = Lap u_theta + k^2 u_theta - f at uniform points of the
    square (cube). Boundary: one part per face (``"x=-1"``, ``"x=+1"``, ``"y=-1"``, ...),
    ``n_boundary`` uniform points on each, misfit u_theta - u; L_b sums the faces' means, as
    the DCGD code does for the four edges of the square. ``helmholtz2d``: a = (1, 4), k = 1
    (Wang, Teng, Perdikaris 2021, Sec. 2.3; the DCGD paper's Helmholtz); ``helmholtz3d``:
    a = (4, 4, 3), k = 1.
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

    def second_order_weights(self):
        return (1.0,) * self.spatial_dim          # the Laplacian

    def pde_residual(self, x, jet):
        return jet.d2u + self.k**2 * jet.u - self.forcing(x)

    def boundary_misfits(self, field, boundary):
        return [field(y, 0).u - self.solution(y) for y in boundary.values()]

    def faces(self) -> list[tuple[str, int, float]]:
        """(part name, axis, value) of each face of [-1, 1]^d."""
        return [(f"{self.columns[i]}={side:+.0f}", i, side) for i in range(self.spatial_dim)
                for side in (-1.0, 1.0)]

    def sample(self, key, n_residual, n_boundary):
        d = self.spatial_dim
        k_r, k_b = jax.random.split(key)
        faces = self.faces()
        keys = jax.random.split(k_b, len(faces))
        return {"residual": uniform(k_r, n_residual, [-1.0] * d, [1.0] * d),
                "boundary": {name: on_face(uniform(k, n_boundary, [-1.0] * d, [1.0] * d),
                                           axis, side)
                             for k, (name, axis, side) in zip(keys, faces, strict=True)}}

    def domain(self):
        return box_domain([-1.0] * self.spatial_dim, [1.0] * self.spatial_dim)

    def input_moments(self):
        return box_moments([-1.0] * self.spatial_dim, [1.0] * self.spatial_dim)

    def test_points(self):
        d = self.spatial_dim
        return grid([-1.0] * d, [1.0] * d, [self.test_size] * d)

    def _exact(self, points):
        return self.solution(points, np)

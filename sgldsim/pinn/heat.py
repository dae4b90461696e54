"""Heat equation on the unit ball in d dimensions with a manufactured solution."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ._base import DOMAIN_TOLERANCE, PinnProblem


def _ball(key, n, d, surface=False):
    """Uniform points in (or on) the unit ball of R^d, float32[n, d]."""
    k_dir, k_r = jax.random.split(key)
    direction = jax.random.normal(k_dir, (n, d), jnp.float32)
    direction = direction / jnp.linalg.norm(direction, axis=1, keepdims=True)
    if surface:
        return direction
    return direction * jax.random.uniform(k_r, (n, 1), jnp.float32) ** (1.0 / d)


@dataclass(frozen=True)
class Heat(PinnProblem):
    """u_t - Lap u = f on {|x| <= 1} x [0, 1] with u = exp(|x|^2/2 + t), so
    f = u_t - Lap u = (1 - d - |x|^2) u.

    Columns: x1..xd, t. Residual r = du_theta/dt - Lap u_theta - f. Boundary parts:
    ``"initial"`` (x, 0) in the ball and ``"sphere"`` (|x| = 1, t), misfit u_theta - u.
    The test set is ``test_size`` uniform points of the ball x [0, 1] drawn with a fixed seed
    (a tensor grid is impractical in d + 1 = 6 dimensions).
    """

    test_size: int = 10000

    def solution(self, x, xp=jnp):
        r2 = (x[..., :self.spatial_dim] ** 2).sum(-1)
        return xp.exp(r2 / 2 + x[..., self.spatial_dim])

    def forcing(self, x, xp=jnp):
        r2 = (x[..., :self.spatial_dim] ** 2).sum(-1)
        return (1 - self.spatial_dim - r2) * self.solution(x, xp)

    def second_order_weights(self):
        return (1.0,) * self.spatial_dim + (0.0,)  # the spatial Laplacian

    def pde_residual(self, x, jet):
        return jet.du[:, self.spatial_dim] - jet.d2u - self.forcing(x)

    def boundary_misfits(self, field, boundary):
        return [field(y, 0).u - self.solution(y) for y in boundary.values()]

    def domain(self):
        d = self.spatial_dim

        def inside(p):
            return ((np.linalg.norm(p[:, :d], axis=1) <= 1 + DOMAIN_TOLERANCE)
                    & (p[:, d] >= -DOMAIN_TOLERANCE) & (p[:, d] <= 1 + DOMAIN_TOLERANCE))

        return f"{{|x| <= 1 in R^{d}}} x [0, 1]", inside

    def input_moments(self):
        """Uniform in the unit ball: mean 0, E x_i^2 = E|x|^2 / d = 1 / (d + 2); t uniform on
        [0, 1]."""
        d = self.spatial_dim
        return (np.r_[np.zeros(d), 0.5],
                np.r_[np.full(d, np.sqrt(1.0 / (d + 2))), np.sqrt(1.0 / 12.0)])

    def _points(self, key, n, surface=False, initial=False):
        k_x, k_t = jax.random.split(key)
        t = (jnp.zeros((n, 1), jnp.float32) if initial
             else jax.random.uniform(k_t, (n, 1), jnp.float32))
        return jnp.concatenate([_ball(k_x, n, self.spatial_dim, surface), t], axis=1)

    def sample(self, key, n_residual, n_boundary):
        k_r, k_0, k_s = jax.random.split(key, 3)
        return {"residual": self._points(k_r, n_residual),
                "boundary": {"initial": self._points(k_0, n_boundary, initial=True),
                             "sphere": self._points(k_s, n_boundary, surface=True)}}

    def test_points(self):
        return np.asarray(self._points(jax.random.key(0), self.test_size), np.float64)

    def _exact(self, points):
        return self.solution(points, np)

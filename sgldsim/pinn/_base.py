"""What every PINN problem provides (the interface its siblings share)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

Field = Callable[[jax.Array], jax.Array]


@dataclass(frozen=True)
class PinnProblem:
    """A PDE on a domain with an exact solution, as a two-term PINN loss.

    Points are float32 arrays of shape (n, d_in): the spatial coordinates in order, then time
    for time-dependent problems. With u_theta the network and one batch from :meth:`sample`,

        L_r = mean_i r(u_theta, x_i)^2            over the collocation points x_i,
        L_b = sum_parts mean_j m(u_theta, y_j)^2  over each boundary/initial part's points,

    where r is the PDE residual and m the misfit of each boundary or initial condition (all
    non-PDE terms are summed into L_b, as in the DCGD paper). :meth:`loss` returns
    ``{"residual": L_r, "boundary": L_b}``, the two named terms the two-term gradient rules
    (:func:`sgldsim.optim.dual_cone`, ``pcgrad``, ``mgda``) take.

    Attributes:
      name: the problem's name in :data:`sgldsim.pinn.PROBLEMS`.
      spatial_dim: number of spatial coordinates.
      time_dependent: whether the last column is time.
      operator: ``"forward"`` or ``"hessian"``, how second derivatives are taken
        (:mod:`sgldsim.pinn.operators`).
    """

    name: str
    spatial_dim: int
    time_dependent: bool
    operator: str = "forward"

    @property
    def d_in(self) -> int:
        return self.spatial_dim + int(self.time_dependent)

    @property
    def columns(self) -> tuple[str, ...]:
        names = ("x", "y", "z") if self.spatial_dim <= 3 else tuple(
            f"x{i + 1}" for i in range(self.spatial_dim))
        return names[:self.spatial_dim] + (("t",) if self.time_dependent else ())

    # -- to implement --------------------------------------------------------------------
    def residual(self, u: Field, x: jax.Array) -> jax.Array:
        """The PDE residual r(u, x) at one point x (float32[d_in])."""
        raise NotImplementedError

    def boundary_misfits(self, u: Field, boundary: dict) -> list[jax.Array]:
        """Misfits of each boundary/initial condition at the batch's boundary points."""
        raise NotImplementedError

    def sample(self, key: jax.Array, n_residual: int, n_boundary: int) -> dict:
        """``{"residual": float32[n_residual, d_in], "boundary": {part: float32[n, d_in]}}``,
        uniform random points (``n_boundary`` per boundary part), fresh for each key."""
        raise NotImplementedError

    def test_points(self) -> np.ndarray:
        """The test grid, float64[n, d_in]."""
        raise NotImplementedError

    def _exact(self, points: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    def reference(self, points) -> np.ndarray:
        """The exact solution at ``points`` (shape (n, d_in)), float64[n], computed offline in
        NumPy (closed form, or the Cole-Hopf quadrature for Burgers).

        Raises:
          ValueError: wrong shape, or non-finite points.
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != self.d_in:
            raise ValueError(f"points has shape {points.shape}; {self.name} needs shape "
                             f"(n, {self.d_in}) with columns {', '.join(self.columns)}")
        bad = ~np.isfinite(points)
        if bad.any():
            row = int(np.argwhere(bad)[0, 0])
            raise ValueError(f"points[{row}] = {points[row].tolist()} is not finite; reference "
                             "points must be finite numbers")
        return self._exact(points)

    def loss(self, apply: Callable[[jax.Array, jax.Array], jax.Array]):
        """``loss(theta, batch) -> {"residual": L_r, "boundary": L_b}`` for a network
        ``apply(theta, x)`` of one point (see the class docstring)."""

        def loss_fn(theta, batch):
            def u(x):
                return apply(theta, x)

            r = jax.vmap(lambda x: self.residual(u, x))(batch["residual"])
            misfits = self.boundary_misfits(u, batch["boundary"])
            return {"residual": jnp.mean(r**2),
                    "boundary": sum(jnp.mean(m**2) for m in misfits)}

        return loss_fn


def uniform(key, n: int, lower, upper) -> jax.Array:
    """float32[n, len(lower)] uniform in the box [lower, upper]."""
    lower = jnp.asarray(lower, jnp.float32)
    upper = jnp.asarray(upper, jnp.float32)
    return lower + (upper - lower) * jax.random.uniform(key, (n, lower.shape[0]), jnp.float32)


def grid(lower, upper, sizes) -> np.ndarray:
    """The tensor grid with ``sizes[i]`` points from ``lower[i]`` to ``upper[i]``, float64[n, d]
    (first column slowest)."""
    axes = [np.linspace(a, b, n) for a, b, n in zip(lower, upper, sizes, strict=True)]
    return np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)

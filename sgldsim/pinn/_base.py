"""What every PINN problem provides (the interface its siblings share)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .network import Jet, Network, tanh_mlp
from .operators import field_jet


class PaperSetup(NamedTuple):
    """The DCGD paper's training setup for one problem (Hwang and Lim, NeurIPS 2024, Sec. 5 and
    its official code; docs/dcgd.md says where the two differ and which is followed).

    Attributes:
      n_residual: collocation points per step.
      n_boundary: points per boundary set (edge, face, initial line, side) per step.
      learning_rate: Adam's initial rate (decayed by 0.9 every 1000 steps).
    """

    n_residual: int
    n_boundary: int
    learning_rate: float


PAPER_SETUP = {
    "helmholtz2d": PaperSetup(1280, 128, 1e-3),   # code: 10 x batch 128, 128 per edge
    "klein-gordon": PaperSetup(1280, 128, 1e-3),  # the paper's 1280 (the code uses 128)
    "burgers": PaperSetup(1280, 42, 1e-3),        # code: 42 per initial line and side
    "heat5d": PaperSetup(1280, 128, 1e-3),        # paper (no code for it)
    "helmholtz3d": PaperSetup(1280, 128, 1e-3),   # paper (no code for it)
}
"""Per problem, :class:`PaperSetup`."""


@dataclass(frozen=True)
class PinnProblem:
    """A PDE on a domain with an exact solution, as a two-term PINN loss.

    Points are float32 arrays of shape (n, d_in): the spatial coordinates in order, then time
    for time-dependent problems. With u_theta the network and one batch from :meth:`sample`,

        L_r = mean_i r(u_theta, x_i)^2            over the collocation points x_i,
        L_b = sum_parts mean_j m(u_theta, y_j)^2  over each boundary/initial part's points,

    where r is the PDE residual and m the misfit of each boundary or initial condition (all
    non-PDE terms are summed into L_b, one mean per part, as in the DCGD code).
    :meth:`loss` returns ``{"residual": L_r, "boundary": L_b}``, the two named terms the
    two-term gradient rules (:func:`sgldsim.optim.dual_cone`, ``pcgrad``, ``mgda``) take.

    Residuals and misfits read the field through a *jet*: ``field(points, order) ->``
    :class:`sgldsim.pinn.Jet` (values, gradient, Hessian diagonal at a batch of points), from
    the network's forward propagation (:meth:`sgldsim.pinn.Network.jet`) or, for any per-point
    function, from automatic differentiation (:func:`sgldsim.pinn.field_jet`).

    Attributes:
      name: the problem's name in :data:`sgldsim.pinn.PROBLEMS`.
      spatial_dim: number of spatial coordinates.
      time_dependent: whether the last column is time.
      operator: ``"forward"`` or ``"hessian"``, how :meth:`loss` takes second derivatives when
        given a per-point ``apply`` instead of a :class:`~sgldsim.pinn.Network`
        (:mod:`sgldsim.pinn.operators`).
      standardise: whether the network sees standardised inputs (x - mean) / std of the
        collocation distribution (:meth:`input_moments`), as the DCGD code does for this problem.
    """

    name: str
    spatial_dim: int
    time_dependent: bool
    operator: str = "forward"
    standardise: bool = True

    @property
    def d_in(self) -> int:
        return self.spatial_dim + int(self.time_dependent)

    @property
    def columns(self) -> tuple[str, ...]:
        names = ("x", "y", "z") if self.spatial_dim <= 3 else tuple(
            f"x{i + 1}" for i in range(self.spatial_dim))
        return names[:self.spatial_dim] + (("t",) if self.time_dependent else ())

    # -- to implement --------------------------------------------------------------------
    def second_order_weights(self) -> tuple[float, ...]:
        """c such that the residual needs only sum_i c_i d^2u/dx_i^2 (its jet's ``d2u``)."""
        raise NotImplementedError

    def pde_residual(self, x: jax.Array, jet: Jet) -> jax.Array:
        """The PDE residual r at points x (n, d_in) from the field's jet there: order 2, with
        ``jet.d2u`` the combination of :meth:`second_order_weights`."""
        raise NotImplementedError

    def boundary_misfits(self, field: Callable[..., Jet], boundary: dict) -> list[jax.Array]:
        """Misfits of each boundary/initial condition at the batch's boundary points, one
        array per term; ``field(points, order)`` gives the jet (order 0 unless a condition
        needs a derivative)."""
        raise NotImplementedError

    def sample(self, key: jax.Array, n_residual: int, n_boundary: int) -> dict:
        """``{"residual": float32[n_residual, d_in], "boundary": {part: float32[n, d_in]}}``,
        uniform random points (``n_boundary`` per boundary set: edge, face, initial line),
        fresh for each key."""
        raise NotImplementedError

    def input_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each input column under the collocation
        distribution (exact; the DCGD code estimates them from 1e5 samples)."""
        raise NotImplementedError

    def test_points(self) -> np.ndarray:
        """The test grid, float64[n, d_in]."""
        raise NotImplementedError

    def _exact(self, points: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def domain(self) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
        """(description, ``inside(points) -> bool[n]``) of the closed domain the PDE and its
        reference live on."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    def reference(self, points) -> np.ndarray:
        """The exact solution at ``points`` (shape (n, d_in)), float64[n], computed offline in
        NumPy (closed form, or the Cole-Hopf quadrature for Burgers).

        Raises:
          ValueError: wrong shape, or non-finite points.
        """
        if np.iscomplexobj(points):
            raise ValueError(f"points are complex ({np.asarray(points).dtype}); reference "
                             "points must be real")
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != self.d_in:
            raise ValueError(f"points has shape {points.shape}; {self.name} needs shape "
                             f"(n, {self.d_in}) with columns {', '.join(self.columns)}")
        bad = ~np.isfinite(points)
        if bad.any():
            row = int(np.argwhere(bad)[0, 0])
            raise ValueError(f"points[{row}] = {points[row].tolist()} is not finite; reference "
                             "points must be finite numbers")
        description, inside = self.domain()
        outside = ~inside(points)
        if outside.any():
            row = int(np.argmax(outside))
            raise ValueError(f"points[{row}] = {points[row].tolist()} is outside {self.name}'s "
                             f"domain {description} (columns {', '.join(self.columns)})")
        return self._exact(points)

    def input_scaling(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) the network standardises its inputs with: :meth:`input_moments` when
        :attr:`standardise`, else (0, 1)."""
        if self.standardise:
            return self.input_moments()
        return np.zeros(self.d_in), np.ones(self.d_in)

    def network(self, hidden) -> Network:
        """The tanh network of ``hidden`` widths for this problem (inputs standardised when
        :attr:`standardise`)."""
        return tanh_mlp(self.d_in, hidden, *self.input_scaling())

    def residuals(self, field: Callable[..., Jet], x: jax.Array) -> jax.Array:
        """r at the points x (n, d_in) for the field ``field(points, order) -> Jet``."""
        return self.pde_residual(x, field(x, 2, self.second_order_weights()))

    def residual_loss(self, field: Callable[..., Jet], batch: dict) -> jax.Array:
        """L_r = mean r^2 over the batch's collocation points."""
        return jnp.mean(self.residuals(field, batch["residual"]) ** 2)

    def boundary_loss(self, field: Callable[..., Jet], batch: dict) -> jax.Array:
        """L_b = the sum over boundary terms of the mean squared misfit."""
        return sum(jnp.mean(m**2) for m in self.boundary_misfits(field, batch["boundary"]))

    def loss(self, network: Network | Callable[[jax.Array, jax.Array], jax.Array]):
        """``loss(theta, batch) -> {"residual": L_r, "boundary": L_b}`` for a
        :class:`~sgldsim.pinn.Network` (derivatives by its forward propagation) or a per-point
        ``apply(theta, x)`` (derivatives by :func:`~sgldsim.pinn.field_jet` with
        :attr:`operator`)."""
        if isinstance(network, Network):
            def field_of(theta):
                return lambda points, order=2, weights=None: network.jet(theta, points, order,
                                                                         weights)
        else:
            def field_of(theta):
                return field_jet(lambda x: network(theta, x), self.operator)

        def loss_fn(theta, batch):
            field = field_of(theta)
            return {"residual": self.residual_loss(field, batch),
                    "boundary": self.boundary_loss(field, batch)}

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


DOMAIN_TOLERANCE = 1e-6
"""How far (absolute) outside its domain a reference point may lie: float32 rounding."""


def box_domain(lower, upper) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """The closed box [lower, upper] as :meth:`PinnProblem.domain` returns it."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    text = " x ".join(f"[{a:g}, {b:g}]" for a, b in zip(lower, upper, strict=True))
    return text, lambda p: np.all((p >= lower - DOMAIN_TOLERANCE)
                                  & (p <= upper + DOMAIN_TOLERANCE), axis=1)


def box_moments(lower, upper) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each coordinate of the uniform distribution on the box
    [lower, upper]: (a + b) / 2 and (b - a) / sqrt(12)."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    return (lower + upper) / 2, (upper - lower) / np.sqrt(12.0)


def on_face(points: jax.Array, axis: int, value: float) -> jax.Array:
    """``points`` with column ``axis`` set to ``value`` (a face of a box)."""
    return points.at[:, axis].set(jnp.float32(value))

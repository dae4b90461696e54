"""Measures on R^2 held as piecewise-uniform densities on a tensor grid, and the 2-D Gibbs measure
by an adaptive tensor grid (docs/theory.md §2).

A :class:`GridMeasure2D` has cell edges along each axis and cell masses summing to one, uniform
inside each cell, so its marginals are exact 1-D measures
(:class:`~sgldsim.measures.grid1d.Measure1D`).
:func:`gibbs_2d` meshes the sublevel set {beta (u - u_min) < cutoff} with cells graded to the
density's local length scale (:mod:`sgldsim.measures._sublevel_grid`: adaptivity and accuracy).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import numpy as np
from scipy import ndimage

from .._precision import float64
from .._validation import check_choice
from ..potentials.base import Potential
from ._sublevel_grid import (
    PotentialFields,
    check_float_cells,
    confining_box,
    graded_mesh,
    interval_union,
    laplace_boxes,
    laplace_regime,
    local_inverse_length,
    potential_fields,
    weighty_minima,
)
from .base import GIBBS_CUTOFF, checked_beta
from .grid1d import Measure1D


@dataclasses.dataclass(frozen=True, eq=False)
class GridMeasure2D:
    """A measure on R^2, uniform on each cell of a tensor grid.

    Attributes:
      x_edges: (nx + 1,) increasing edges along x_1.
      y_edges: (ny + 1,) increasing edges along x_2.
      masses: (nx, ny) nonnegative cell masses summing to 1.
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    masses: np.ndarray
    dim: int = 2

    def __post_init__(self):
        x, y = (np.asarray(e, dtype=float) for e in (self.x_edges, self.y_edges))
        m = np.asarray(self.masses, dtype=float)
        if x.ndim != 1 or y.ndim != 1 or m.shape != (x.size - 1, y.size - 1):
            raise ValueError(f"edges {x.shape}, {y.shape} and masses {m.shape}: need shapes "
                             f"(nx + 1,), (ny + 1,) and (nx, ny)")
        if np.any(np.diff(x) <= 0) or np.any(np.diff(y) <= 0):
            raise ValueError("edges must be strictly increasing")
        if np.any(m < 0) or not np.isfinite(m.sum()) or m.sum() <= 0:
            raise ValueError("masses must be nonnegative with a positive finite total")
        object.__setattr__(self, "x_edges", x)
        object.__setattr__(self, "y_edges", y)
        object.__setattr__(self, "masses", m / m.sum())

    @property
    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x_edges, self.y_edges

    def marginal(self, axis: int) -> Measure1D:
        """The law of x_{axis+1}, exact for the cell representation."""
        check_choice("axis", axis, (0, 1))
        return Measure1D(self.edges[axis], self.masses.sum(axis=1 - axis))

    @property
    def mean(self) -> np.ndarray:
        return np.array([self.marginal(i).mean for i in (0, 1)])

    @property
    def cov(self) -> np.ndarray:
        """Covariance; the diagonal includes each cell's h^2 / 12 (as the marginals' var)."""
        centres = [0.5 * (e[1:] + e[:-1]) - mu for e, mu in zip(self.edges, self.mean, strict=True)]
        off = float(centres[0] @ self.masses @ centres[1])
        var = [self.marginal(i).var for i in (0, 1)]
        return np.array([[var[0], off], [off, var[1]]])

    def pdf(self, points) -> np.ndarray:
        """Density at points (..., 2); 0 outside the grid."""
        points = np.asarray(points, dtype=float)
        idx, inside = [], np.ones(points.shape[:-1], dtype=bool)
        for i, e in enumerate(self.edges):
            j = np.searchsorted(e, points[..., i], side="right") - 1
            inside &= (j >= 0) & (j < e.size - 1)
            idx.append(np.clip(j, 0, e.size - 2))
        area = np.diff(self.x_edges)[idx[0]] * np.diff(self.y_edges)[idx[1]]
        return np.where(inside, self.masses[idx[0], idx[1]] / area, 0.0)

    def mass_of_box(self, lo, hi) -> float:
        """pi([lo_1, hi_1] x [lo_2, hi_2]), exact for the cell representation."""
        lo, hi = (np.broadcast_to(np.asarray(b, dtype=float), (2,)) for b in (lo, hi))
        frac = [np.clip((np.minimum(e[1:], b) - np.maximum(e[:-1], a)) / np.diff(e), 0.0, 1.0)
                for e, a, b in zip(self.edges, lo, hi, strict=True)]
        return float(frac[0] @ self.masses @ frac[1])

    def mass_of_region(self, region: Callable) -> float:
        """pi(region) for ``region``: points (n, 2) -> bool (n,), judged at cell centres."""
        i, j = np.nonzero(self.masses)
        centres = np.stack([0.5 * (e[k + 1] + e[k]) for e, k in zip(self.edges, (i, j),
                                                                      strict=True)], axis=1)
        return float(np.sum(self.masses[i, j] * np.asarray(region(centres), dtype=bool)))

    @float64
    def sample(self, key, n: int) -> np.ndarray:
        """n iid draws, (n, 2): a cell by its mass, then uniform inside it."""
        k_cell, k_offset = jax.random.split(key)
        u = np.asarray(jax.random.uniform(k_cell, (n,), dtype=float))
        cum = np.cumsum(self.masses.reshape(-1))
        flat = np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), cum.size - 1)
        i, j = np.unravel_index(flat, self.masses.shape)
        offset = np.asarray(jax.random.uniform(k_offset, (n, 2), dtype=float))
        lo = np.stack([self.x_edges[i], self.y_edges[j]], axis=1)
        width = np.stack([np.diff(self.x_edges)[i], np.diff(self.y_edges)[j]], axis=1)
        return lo + offset * width


@float64
def gibbs_2d(potential: Potential, beta: float, *, cutoff: float = GIBBS_CUTOFF,
             resolution: float = 30.0, bracket=(-10.0, 10.0), n_coarse: int = 201,
             min_cells: int = 100, max_cells: int = 4_000_000) -> GridMeasure2D:
    """pi ∝ exp(-beta u) on R^2 as a :class:`GridMeasure2D` (docs/theory.md §2), adapted to beta.

    1. Coarse n_coarse^2 grid on a box that doubles until its sides are in the tail; refine the
       grid's local minima (with Hessians H).
    2. The mass sits in the union of: the coarse components of {beta (u - u_min) < cutoff},
       padded by one coarse cell, and the boxes around each retained minimum holding 1.5 times
       its Laplace ellipse {beta (x - m)^T H (x - m) / 2 < cutoff} (those resolve spikes the
       coarse grid misses). Their projections give the intervals of each axis.
    3. Each axis is meshed like :func:`~sgldsim.measures.grid1d.gibbs_1d` with the local length
       l_i = (beta |d_ii u| + beta^2 (d_i u)^2 / (2 cutoff))^(-1/2), profiled (minimum l over
       the other axis inside the sublevel set); cell masses by the midpoint rule.
    4. At extreme beta, the Laplace limit replaces u as in
       :func:`~sgldsim.measures.grid1d.gibbs_1d` (step 4), or a ValueError names beta and the
       largest beta resolved.

    Args:
      potential: a 2-D potential.
      beta: inverse temperature, positive and finite.
      cutoff, resolution, bracket, min_cells: as in :func:`~sgldsim.measures.grid1d.gibbs_1d`
        (per axis).
      n_coarse: coarse points per axis (a well narrower than a few coarse cells may be missed).
      max_cells: cap on the tensor grid's cells (nx * ny).
    """
    beta = checked_beta(beta)
    if potential.dim != 2:
        raise ValueError(f"gibbs_2d needs a 2-D potential, got dim={potential.dim}")
    f = potential_fields(potential)
    axes, u = confining_box(f, beta, bracket, n_coarse, cutoff)
    minima, u_min = weighty_minima(f, axes, u, beta, cutoff)
    check_float_cells(f.name, beta, minima, resolution)
    model = laplace_regime(potential, f, beta, minima, u_min, resolution)
    if model is None:
        laplace = laplace_boxes(beta, minima, cutoff)
        boxes = _component_boxes(axes, beta * (u - u_min) < cutoff) + laplace
    else:  # the wells are beyond float64 quadrature: their Gaussian (Laplace) limit
        (f, minima), u_min = model, 0.0
        laplace = laplace_boxes(beta, minima, cutoff)
        boxes = list(laplace)
    profiles = _length_profiles(f, beta, u_min, cutoff, boxes)
    edges, covered = [], []
    for i in (0, 1):
        windows = [(lo[i], hi[i]) for lo, hi in laplace]

        def inverse_length(t, i=i):
            return np.max([np.interp(t, s, r, left=0.0, right=0.0) for s, r in profiles[i]], 0)

        e, c = graded_mesh(interval_union([(b[0][i], b[1][i]) for b in boxes]),
                            inverse_length, windows, resolution, min_cells,
                            int(math.sqrt(max_cells)))
        edges.append(e)
        covered.append(c)
    centres = [0.5 * (e[1:] + e[:-1]) for e in edges]
    mask = covered[0][:, None] & covered[1][None, :]
    grid = np.stack(np.meshgrid(*centres, indexing="ij"), axis=-1)
    log_density = np.full(mask.shape, -np.inf)
    log_density[mask] = -beta * (f.value(grid[mask]) - u_min)
    area = np.outer(np.diff(edges[0]), np.diff(edges[1]))
    return GridMeasure2D(edges[0], edges[1], area * np.exp(log_density))


def _component_boxes(axes, mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bounding boxes (lo (d,), hi (d,)) of the connected components of a coarse-grid mask,
    padded by one grid cell (the true set reaches at most about one cell beyond its samples)."""
    labels, _ = ndimage.label(mask, structure=np.ones((3,) * mask.ndim))
    boxes = []
    for slices in ndimage.find_objects(labels):
        lo = [a[max(s.start - 1, 0)] for a, s in zip(axes, slices, strict=True)]
        hi = [a[min(s.stop, a.size - 1)] for a, s in zip(axes, slices, strict=True)]
        boxes.append((np.array(lo), np.array(hi)))
    return boxes


def _length_profiles(f: PotentialFields, beta: float, u_min: float, cutoff: float, boxes,
                     n: int = 129):
    """Per axis and box: (t, 1 / l_i(t)) with 1 / l_i maximised over the other coordinate on an
    n x n grid of the box, inside the sublevel set {beta (u - u_min) < cutoff}."""
    profiles: list[list] = [[], []]
    for lo, hi in boxes:
        axes = [np.linspace(lo[i], hi[i], n) for i in (0, 1)]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        inside = (beta * (f.value(pts) - u_min) < cutoff).reshape(n, n, 1)
        rate = np.where(inside, local_inverse_length(f, beta, pts, cutoff).reshape(n, n, 2), 0.0)
        for i in (0, 1):
            profiles[i].append((axes[i], rate[..., i].max(axis=1 - i)))
    return profiles


"""One-dimensional measures as piecewise-uniform densities on a fine grid, and the 1-D Gibbs
measure by adaptive quadrature (docs/theory.md §2).

A :class:`Measure1D` is given by cell edges e_0 < ... < e_n and cell masses m_i summing to one;
inside a cell the density is uniform. Its cdf is then piecewise linear and its quantile function
is the exact piecewise-linear inverse, so every functional below (moments, interval masses,
partial moments, Wasserstein distances in :mod:`sgldsim.distances`) is computed exactly for the
representation; the only error is the grid's, O(h^2) for a smooth density.
Exact Gibbs measures (:func:`gibbs_1d`, on the adaptive grids of
:mod:`sgldsim.measures._sublevel_grid`) and the discrete chain's invariant law
(:func:`sgldsim.measures.chain.chain_invariant`) are both returned in this form.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import numpy as np
from scipy import optimize

from .._precision import float64
from ..potentials.base import Potential
from ._sublevel_grid import (
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


@dataclasses.dataclass(frozen=True, eq=False)
class Measure1D:
    """A probability measure on R with uniform density on each grid cell.

    Attributes:
      edges: (n + 1,) increasing cell edges.
      masses: (n,) nonnegative cell masses summing to 1.
    """

    edges: np.ndarray
    masses: np.ndarray
    dim: int = 1

    def __post_init__(self):
        e = np.asarray(self.edges, dtype=float)
        m = np.asarray(self.masses, dtype=float)
        if e.ndim != 1 or m.ndim != 1 or e.shape[0] != m.shape[0] + 1:
            raise ValueError(f"edges {e.shape} and masses {m.shape}: need shapes (n + 1,) and (n,)")
        if np.any(np.diff(e) <= 0):
            raise ValueError("edges must be strictly increasing")
        if np.any(m < 0) or not np.isfinite(m.sum()) or m.sum() <= 0:
            raise ValueError("masses must be nonnegative with a positive finite total")
        object.__setattr__(self, "edges", e)
        object.__setattr__(self, "masses", m / m.sum())
        object.__setattr__(self, "_cum", np.concatenate([[0.0], np.cumsum(self.masses)]))

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def from_log_density(cls, grid, log_density) -> Measure1D:
        """Measure with density ∝ exp(log_density) at the grid nodes; cell masses by the
        trapezoid rule on (grid_i, grid_{i+1})."""
        x = np.asarray(grid, dtype=float)
        lp = np.asarray(log_density, dtype=float)
        p = np.exp(lp - np.max(lp))
        return cls(x, 0.5 * (p[1:] + p[:-1]) * np.diff(x))

    @classmethod
    def from_node_weights(cls, nodes, weights) -> Measure1D:
        """Measure putting weight w_i uniformly on the cell around node x_i (midpoint edges)."""
        x = np.asarray(nodes, dtype=float)
        mid = 0.5 * (x[1:] + x[:-1])
        edges = np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])
        return cls(edges, np.asarray(weights, dtype=float))

    # ---- the distribution ------------------------------------------------------------------
    @property
    def cumulative(self) -> np.ndarray:
        """cdf at the edges, (n + 1,), from 0 to 1."""
        return self._cum

    @property
    def support(self) -> tuple[float, float]:
        return float(self.edges[0]), float(self.edges[-1])

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        i = np.searchsorted(self.edges, x, side="right") - 1
        inside = (i >= 0) & (i < self.masses.shape[0])
        widths = np.diff(self.edges)
        j = np.clip(i, 0, self.masses.shape[0] - 1)
        return np.where(inside, self.masses[j] / widths[j], 0.0)

    def cdf(self, x):
        return np.interp(np.asarray(x, dtype=float), self.edges, self._cum, left=0.0, right=1.0)

    def quantile(self, q):
        """Inverse of the piecewise-linear cdf; across an empty stretch (zero-mass cells) the
        quantile jumps from the stretch's first edge to its last."""
        q = np.asarray(q, dtype=float)
        if np.any((q < 0) | (q > 1)):
            raise ValueError("quantile levels q must lie in [0, 1]")
        keep = np.concatenate([np.diff(self._cum) > 0, [True]])  # last edge of each flat run
        return np.interp(q, self._cum[keep], self.edges[keep])

    def mass_of_box(self, lo, hi) -> float:
        """mu([lo, hi]) (the 1-D box: an interval)."""
        if hi < lo:
            raise ValueError(f"mass_of_box(lo={lo}, hi={hi}) needs lo <= hi")
        return float(self.cdf(hi) - self.cdf(lo))

    def partial_moment(self, k: int, t):
        """int_{-inf}^t y^k mu(dy), exact for the piecewise-uniform density (k >= 0)."""
        t = np.asarray(t, dtype=float)
        a, b = self.edges[:-1], self.edges[1:]
        dens = self.masses / (b - a)
        upper = np.clip(t[..., None], a, b)
        return np.sum(dens * (upper ** (k + 1) - a ** (k + 1)) / (k + 1), axis=-1)

    def moment(self, k: int) -> float:
        a, b = self.edges[:-1], self.edges[1:]
        dens = self.masses / (b - a)
        return float(np.sum(dens * (b ** (k + 1) - a ** (k + 1)) / (k + 1)))

    @property
    def mean(self) -> float:
        """sum_i m_i (a_i + b_i) / 2: exact for the cells, and without the cancellation of
        b^2 - a^2 in cells narrow against their distance from 0."""
        return float(np.sum(self.masses * 0.5 * (self.edges[:-1] + self.edges[1:])))

    @property
    def var(self) -> float:
        m = self.mean
        a, b = self.edges[:-1] - m, self.edges[1:] - m  # central, for accuracy
        return float(np.sum(self.masses * (a * a + a * b + b * b) / 3.0))

    @property
    def std(self) -> float:
        return float(np.sqrt(self.var))

    def expect(self, fn, n_sub: int = 4) -> float:
        """E f(X) by Gauss–Legendre with ``n_sub`` nodes inside each cell."""
        z, w = np.polynomial.legendre.leggauss(n_sub)
        a, b = self.edges[:-1], self.edges[1:]
        x = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * z
        vals = np.asarray(fn(x.reshape(-1)), dtype=float).reshape(x.shape)
        return float(np.sum(self.masses * (vals @ (w / 2.0))))

    @float64
    def sample(self, key, n: int) -> np.ndarray:
        """n iid draws (inverse-cdf), shape (n, 1)."""
        u = np.asarray(jax.random.uniform(key, (n,), dtype=float))
        return self.quantile(u)[:, None]


@float64
def gibbs_1d(potential: Potential, beta: float, *, cutoff: float = GIBBS_CUTOFF,
             resolution: float = 3000.0, bracket=(-10.0, 10.0), n_scan: int = 20001,
             min_cells: int = 2000, max_cells: int = 4_000_000) -> Measure1D:
    """pi ∝ exp(-beta u) on R as a :class:`Measure1D` (docs/theory.md §2), adapted to beta.

    1. Scan u on ``n_scan`` points of a bracket that doubles until both ends are in the tail
       (beta (u - u_min) > cutoff and still growing); refine the scan's local minima.
    2. Keep every minimum m with beta (u(m) - u_min) < cutoff; around each, root-find the edges
       of its component of {beta (u - u_min) < cutoff}; merge overlapping components.
    3. Mesh each component with ``resolution`` cells per local length
       l = (beta |u''| + beta^2 u'^2 / (2 cutoff))^(-1/2); gaps between components are single
       empty cells. Cell masses h exp(-beta (u(centre) - u_min)).
    4. At extreme beta, where the rounding of u near its minimum (times beta) exceeds the grid's
       own error and the Laplace limit's is smaller, step 3 meshes the Laplace limit instead (a
       Gaussian per global minimum, weights det(H)^(-1/2));
       :func:`~sgldsim.measures._sublevel_grid.laplace_regime` has the criterion. Where neither
       resolves the wells, or the cells would span fewer than 4 float64 steps
       (:func:`~sgldsim.measures._sublevel_grid.check_float_cells`), a ValueError names beta
       and the largest beta resolved.

    Args:
      potential: a 1-D potential.
      beta: inverse temperature, positive and finite.
      cutoff: neglected density ratio e^-cutoff.
      resolution: cells per local length (variance bias ~ 1 / (12 resolution^2) relative).
      bracket: starting (lo, hi) of the scan; it only grows.
      n_scan: scan points (a well narrower than a few scan spacings may be missed).
      min_cells, max_cells: per component and in all.

    Returns:
      The measure, accurate to ~1e-8 relative in mean, variance and basin masses at the
      defaults, for any beta up to the float64 limit (e.g. 1e6: two spikes of width 1e-3 for
      the double well; the README's wells to about 1e23).
    """
    beta = checked_beta(beta)
    if potential.dim != 1:
        raise ValueError(f"gibbs_1d needs a 1-D potential, got dim={potential.dim}")
    f = potential_fields(potential)
    (x,), u = confining_box(f, beta, bracket, n_scan, cutoff)
    minima, u_min = weighty_minima(f, [x], u, beta, cutoff)
    check_float_cells(f.name, beta, minima, resolution)
    laplace = laplace_regime(potential, f, beta, minima, u_min, resolution)
    if laplace is None:
        level = u_min + cutoff / beta

        def excess(t):
            return float(f.value([[t]])[0]) - level

        components = [_sublevel_component(excess, x, u - level, float(m[0]), h[0, 0] * beta, cutoff)
                      for m, h in zip(minima.points, minima.hessians, strict=True)]
    else:  # the wells are beyond float64 quadrature: their Gaussian (Laplace) limit
        f, minima = laplace
        u_min = 0.0
        half = np.sqrt(2.0 * (cutoff - beta * minima.values) / (beta * minima.hessians[:, 0, 0]))
        components = [(m - r, m + r) for m, r in zip(minima.points[:, 0], half, strict=True)]
    windows = [(lo[0], hi[0]) for lo, hi in laplace_boxes(beta, minima, cutoff)]
    edges, covered = graded_mesh(
        interval_union(components),
        lambda t: local_inverse_length(f, beta, t[:, None], cutoff)[:, 0],
        windows, resolution, min_cells, max_cells)
    centres = 0.5 * (edges[1:] + edges[:-1])
    log_density = np.full(centres.shape, -np.inf)
    log_density[covered] = -beta * (f.value(centres[covered, None]) - u_min)
    return Measure1D(edges, np.diff(edges) * np.exp(log_density))


def _sublevel_component(excess: Callable, x: np.ndarray, scan_excess: np.ndarray, m: float,
                        stiffness: float, cutoff: float):
    """[a, b]: the connected component of {excess < 0} around the minimiser m, from the first
    scan points outward of m with excess >= 0 and Brent's method inside that scan cell, to
    1e-15 or a millionth of the well's width w = (beta u''(m))^(-1/2) if that is finer. Where
    the well is far narrower than the scan cell, the bracket first shrinks to m +- 4 w
    sqrt(cutoff) when the excess there is already >= 0 (twice the Laplace estimate of the
    edge), so that Brent's method starts at the well's scale."""
    width = 1.0 / math.sqrt(stiffness) if stiffness > 0 else math.inf
    xtol = min(1e-15, 1e-6 * width)
    i = int(np.searchsorted(x, m))  # x[i - 1] < m <= x[i]
    right = i + int(np.argmax(scan_excess[i:] >= 0))
    left = i - 1 - int(np.argmax(scan_excess[:i][::-1] >= 0))
    inner_right = x[right - 1] if right - 1 >= i else m
    inner_left = x[left + 1] if left + 1 <= i - 1 else m
    outer_right, outer_left = x[right], x[left]
    reach = 4.0 * width * math.sqrt(cutoff)
    if inner_right < m + reach < outer_right and excess(m + reach) >= 0:
        outer_right = m + reach
    if outer_left < m - reach < inner_left and excess(m - reach) >= 0:
        outer_left = m - reach
    b = optimize.brentq(excess, inner_right, outer_right, xtol=xtol, rtol=4 * np.finfo(float).eps)
    a = optimize.brentq(excess, outer_left, inner_left, xtol=xtol, rtol=4 * np.finfo(float).eps)
    return a, b


"""Exact Gibbs measures pi ∝ exp(-beta u) (docs/theory.md §2): the paper's three measures.

pi_beta = Gibbs(u, beta) is SGLD's target, pi^f = Gibbs(g_sigma, beta) fSGLD's small-step
invariant law and pi* = Gibbs(v, beta) the flatness-biased target (:func:`paper_measures`).
:func:`Gibbs` picks the most exact representation the potential allows:

| potential                            | measure          | method                            |
|--------------------------------------|------------------|-----------------------------------|
| d = 1                                | Measure1D        | adaptive quadrature, gibbs_1d     |
| Separable or Quadratic, d > 1        | ProductMeasure   | 1-D quadrature per marginal (§3)  |
| d = 2                                | GridMeasure2D    | adaptive tensor grid, gibbs_2d    |
| RadialPotential, d > 1               | RadialMeasure    | 1-D radial law, radial_gibbs      |
| any d                                | SampleMeasure    | MALA reference samples            |

Adaptivity. Only the sublevel set {beta (u - u_min) < cutoff} carries mass (the rest has density
below e^-cutoff relative to the mode), so the grids cover exactly that set, found from the
minima of u: a coarse scan over a bracket that grows until u confines, minima refined by
L-BFGS-B, and the set's edges by root finding (1-D) or by the coarse set plus the Laplace
ellipse of each minimum (2-D). Inside it, cells are graded to the local length scale of the
density, l(x)^-2 = beta |u''(x)| + beta^2 u'(x)^2 / (2 cutoff) (1 / sqrt(beta u'') at a minimum),
with ``resolution`` cells per l. At beta = 1e6 the double well's two spikes of width ~1e-3 get
their own fine windows, separated by one empty cell.

Accuracy. Cell masses are midpoint values h exp(-beta (u(c) - u_min)); the measure is
piecewise uniform on the cells, so the variance carries the grouping bias sum_i m_i h_i^2 / 12,
about 1 / (12 resolution^2) relative for a near-Gaussian well (9e-9 at the 1-D default, 9e-5 at
the 2-D one), and the cdf at the edges has error h^2 |p'| / 24; the truncation error is e^-cutoff.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage, optimize

from .._precision import float64
from .._validation import check_choice, check_positive, check_positive_int
from .._warnings import warn_caller
from ..potentials import Quadratic, Separable
from ..potentials.base import Potential
from ..potentials.radial import RadialPotential
from .grid1d import Measure1D
from .radial import radial_gibbs

GIBBS_CUTOFF = 60.0  # grids cover beta (u - u_min) < 60: neglected density ratio e^-60 ~ 1e-26
"""Default ``cutoff`` of the Gibbs grids: they cover beta (u - u_min) < GIBBS_CUTOFF."""
TARGET_ACCEPTANCE = 0.574  # optimal MALA acceptance rate (Roberts & Rosenthal 1998)
_EVAL_CHUNK = 4096  # points per potential call: bounds memory, and JAX compiles few shapes
_MAX_DOUBLINGS = 20  # bracket growth: 10 * 2^20 ~ 1e7 before "not confining"
_AUX_NODES = 4096  # nodes on which the local length scale is sampled, per interval or window
_METHODS = ("auto", "quadrature", "product", "grid", "mala", "radial")


# ================================================================================================
# The dispatcher and the paper's three measures
# ================================================================================================
@float64
def Gibbs(potential: Potential, beta: float, *, method: str = "auto", **options):  # noqa: N802
    """The Gibbs measure pi ∝ exp(-beta u) of ``potential`` (docs/theory.md §2).

    Args:
      potential: u: R^d -> R, confining (exp(-beta u) must be integrable).
      beta: inverse temperature, positive and finite.
      method: "auto" (the table in the module docstring), or force "quadrature" (d = 1),
        "product" (``Separable`` or ``Quadratic``), "grid" (d = 2), "mala" (any d) or "radial"
        (``RadialPotential``, any d: :func:`~sgldsim.measures.radial.radial_gibbs`).
      **options: passed on to :func:`gibbs_1d`, :func:`gibbs_2d` or :func:`mala_samples`
        (``key`` defaults to ``PRNGKey(0)`` for MALA).

    Returns:
      A ``Measure1D``, ``ProductMeasure``, ``GridMeasure2D`` or ``SampleMeasure``.
    """
    beta = _checked_beta(beta)
    check_choice("method", method, _METHODS)
    marginal_potentials = _marginal_potentials(potential)
    if method == "auto" and isinstance(potential, RadialPotential) and potential.dim > 1:
        method = "radial"
    if method == "radial":
        return radial_gibbs(potential, beta, **options)
    if method == "auto":
        method = ("product" if marginal_potentials is not None and potential.dim > 1
                  else {1: "quadrature", 2: "grid"}.get(potential.dim, "mala"))
    if method == "product":
        if marginal_potentials is None:
            raise ValueError(f"method='product' needs a Separable or Quadratic potential, "
                             f"got {type(potential).__name__}")
        return _product_gibbs(marginal_potentials, beta, options)
    if method == "quadrature":
        return gibbs_1d(potential, beta, **options)
    if method == "grid":
        return gibbs_2d(potential, beta, **options)
    key = options.pop("key", jax.random.PRNGKey(0))
    return mala_samples(key, potential, beta, **options)


@float64
def paper_measures(potential: Potential, beta: float, sigma: float, **options) -> dict:
    """The three measures of docs/theory.md §2 for one (beta, sigma).

    Returns:
      ``dict(pi_beta=Gibbs(u), pi_f=Gibbs(g_sigma), pi_star=Gibbs(v))`` with
      g_sigma = E u(. + sigma Z) and v = u + (sigma^2 / 2) Lap u.
    """
    return {
        "pi_beta": Gibbs(potential, beta, **options),
        "pi_f": Gibbs(potential.smoothed(sigma), beta, **options),
        "pi_star": Gibbs(potential.regularized(sigma), beta, **options),
    }


def _checked_beta(beta) -> float:
    if np.ndim(beta) != 0:
        raise ValueError(f"beta has shape {np.shape(beta)}; allowed: a positive finite scalar")
    check_positive("beta", beta)
    return float(beta)


def _marginal_potentials(potential: Potential) -> list[Potential] | None:
    """The d one-dimensional potentials u_i with u(x) = sum_i u_i(x_i), when u is a product."""
    if isinstance(potential, Separable):
        return [potential.base] * potential.dim
    if isinstance(potential, Quadratic):
        return [Quadratic(float(a)) for a in np.asarray(potential.curvature)]
    return None


def _product_gibbs(marginal_potentials: list[Potential], beta: float, options) -> ProductMeasure:
    """Product of the 1-D Gibbs measures, one quadrature per distinct marginal potential."""
    cache: dict = {}
    marginals = []
    for u1 in marginal_potentials:
        same = float(u1.curvature[0]) if isinstance(u1, Quadratic) else id(u1)
        if same not in cache:
            cache[same] = gibbs_1d(u1, beta, **options)
        marginals.append(cache[same])
    return ProductMeasure(marginals)


# ================================================================================================
# Shared machinery: evaluation, bracket growth, minima, graded meshes
# ================================================================================================
def _evaluate(fn: Callable, points) -> np.ndarray:
    """``fn`` on (n, d) points as a float64 numpy array, in chunks of one fixed size (padded),
    so that JAX compiles for two shapes only (single points and chunks)."""
    points = np.asarray(points, dtype=float)
    n = len(points)
    size = 1 if n == 1 else _EVAL_CHUNK
    padded = np.concatenate([points, np.repeat(points[-1:], -n % size, axis=0)])
    out = [np.asarray(fn(padded[s:s + size])) for s in range(0, len(padded), size)]
    return np.concatenate(out)[:n]


def _hessian(potential: Potential, x):
    return jax.vmap(jax.hessian(potential.value))(x)


_TRACED = {  # the potential is a traced argument: one compilation per potential structure
    "value": jax.jit(lambda potential, x: potential.value(x)),
    "grad": jax.jit(lambda potential, x: potential.grad(x)),
    "hessian": jax.jit(_hessian),
}


class _Fields(NamedTuple):
    """u, grad u and Hess u of one potential as numpy functions of (n, d) points."""

    name: str
    dim: int
    value: Callable  # (n, d) -> (n,)
    grad: Callable  # (n, d) -> (n, d)
    hessian: Callable  # (n, d) -> (n, d, d)


def _fields(potential: Potential) -> _Fields:
    """Jitted with the potential as an argument where its methods trace, eager otherwise (a method
    that converts a field with numpy, e.g. ``Polynomial1D.grad``, needs concrete fields)."""
    eager = {"value": potential.value, "grad": potential.grad,
             "hessian": lambda x: _hessian(potential, jnp.asarray(x))}
    probe = np.zeros((1, potential.dim))
    fns = {}
    for name, traced in _TRACED.items():
        try:
            traced(potential, probe)
            fn = functools.partial(traced, potential)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            fn = eager[name]
        fns[name] = functools.partial(_evaluate, fn)
    return _Fields(type(potential).__name__, potential.dim, **fns)


def _is_tail(beta: float, rise, growth, u_edge, cutoff: float) -> bool:
    """True when points are in the negligible tail: beta (u - u_min) > cutoff there, and u keeps
    growing outward (beta (u(2 x) - u(x)) > cutoff about the bracket centre), so exp(-beta u)
    decays at least as exp(-cutoff) per doubling beyond them."""
    grows = (beta * growth > cutoff) | np.isposinf(u_edge)
    return bool(np.all((beta * rise > cutoff) & grows))


def _not_confining(f: _Fields, beta: float, cutoff: float, where) -> ValueError:
    return ValueError(
        f"{f.name} is not confining at beta={beta!r}: beta * (u - u_min) does "
        f"not exceed cutoff={cutoff} and keep growing by that much per doubling of the distance, "
        f"even at {np.round(np.asarray(where), 3).tolist()}; exp(-beta u) is not normalisable on "
        f"a bounded grid (allowed: potentials growing at infinity, e.g. confinement > 0)"
    )


def _confining_box(f: _Fields, beta: float, bracket, n: int, cutoff: float):
    """Grow the box ``bracket`` side by side (doubling its distance from the centre) until every
    side lies in the tail (:func:`_is_tail`), evaluating u on an n^d coarse grid.

    Returns:
      (axes, u): d coordinate arrays (n,) and the values u on their tensor grid, shape (n,)*d.
    """
    d = f.dim
    lo, hi = (np.broadcast_to(np.asarray(b, dtype=float), (d,)).copy() for b in bracket)
    if np.any(hi <= lo):
        raise ValueError(f"bracket={bracket!r} is not allowed: need lo < hi")
    for _ in range(_MAX_DOUBLINGS):
        axes = [np.linspace(lo[i], hi[i], n) for i in range(d)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
        u = f.value(grid.reshape(-1, d)).reshape((n,) * d)
        if np.any(np.isnan(u)) or np.any(np.isneginf(u)):
            raise ValueError(f"{f.name} is nan or -inf inside the bracket "
                             f"[{lo.tolist()}, {hi.tolist()}]")
        centre, u_low, settled = 0.5 * (lo + hi), u.min(), True
        for i in range(d):
            for end, bound in ((0, lo), (-1, hi)):
                face = np.take(grid, end, axis=i).reshape(-1, d)
                u_face = np.take(u, end, axis=i).reshape(-1)
                u_far = f.value(centre + 2.0 * (face - centre))
                if not _is_tail(beta, u_face - u_low, u_far - u_face, u_face, cutoff):
                    bound[i] = centre[i] + 2.0 * (bound[i] - centre[i])
                    settled = False
        if settled:
            return axes, u
    raise _not_confining(f, beta, cutoff, [lo.tolist(), hi.tolist()])


def _check_confining_rays(f: _Fields, beta: float, cutoff: float, radius: float = 10.0):
    """The tail test of :func:`_confining_box` along the 2d + 2 rays ±e_i, ±(1,...,1)/sqrt(d)
    from the origin: a cheap confinement check in any dimension."""
    d = f.dim
    directions = np.concatenate([np.eye(d), -np.eye(d), np.full((2, d), 1.0 / math.sqrt(d))])
    directions[-1] *= -1.0
    u_low = float(f.value(np.zeros((1, d)))[0])
    for _ in range(_MAX_DOUBLINGS):
        u_near = f.value(radius * directions)
        u_far = f.value(2.0 * radius * directions)
        u_low = min(u_low, float(np.min(u_near)))
        if _is_tail(beta, u_near - u_low, u_far - u_near, u_near, cutoff):
            return
        radius *= 2.0
    raise _not_confining(f, beta, cutoff, radius * directions[:2])


class _Minima(NamedTuple):
    points: np.ndarray  # (k, d) local minimisers, by increasing u
    values: np.ndarray  # (k,) u at them
    hessians: np.ndarray  # (k, d, d) Hess u at them


def _weighty_minima(f: _Fields, axes: list[np.ndarray], u: np.ndarray, beta: float,
                    cutoff: float) -> tuple[_Minima, float]:
    """The local minima whose weight can matter, beta (u(m) - u_min) < cutoff, and u_min.

    Local minima of the coarse grid values (3^d neighbourhoods), each refined by L-BFGS-B inside
    its neighbouring grid cells; duplicates within half a grid cell are merged."""
    d = f.dim
    spacing = np.array([a[1] - a[0] for a in axes])
    candidates = np.argwhere(u == ndimage.minimum_filter(u, size=3, mode="nearest"))

    def value_and_grad(x):
        return float(f.value(x[None, :])[0]), f.grad(x[None, :])[0]

    found = []
    for idx in candidates:
        x0 = np.array([axes[i][j] for i, j in enumerate(idx)])
        bounds = [(x0[i] - spacing[i], x0[i] + spacing[i]) for i in range(d)]
        res = optimize.minimize(value_and_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 500})
        found.append((float(res.fun), res.x))
    found.sort(key=lambda item: item[0])
    points: list[np.ndarray] = []
    values: list[float] = []
    for value, x in found:
        if all(np.any(np.abs(x - p) > 0.5 * spacing) for p in points):
            points.append(x)
            values.append(value)
    u_min = min(values[0], float(u.min()))
    keep = beta * (np.array(values) - u_min) < cutoff
    points = np.array(points)[keep]
    return _Minima(points, np.array(values)[keep], f.hessian(points)), u_min


def _interval_union(intervals) -> list[tuple[float, float]]:
    """Union of closed intervals as a sorted list of disjoint ones."""
    merged: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def _graded_mesh(intervals, inverse_length: Callable, windows, resolution: float,
                 min_cells: int, max_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell edges covering disjoint sorted ``intervals`` with ``resolution`` cells per local
    length l(x) = 1 / inverse_length(x) (equidistribution: the cell count up to x is
    resolution * int 1/l), at least ``min_cells`` per interval and ``max_cells`` in all.

    l is sampled on a uniform grid of each interval refined inside ``windows`` ((lo, hi) pairs
    around minima), so narrow wells in wide intervals are seen. A gap between two intervals is
    one cell, flagged empty.

    Returns:
      (edges (n + 1,), covered (n,) bool: False for gap cells).
    """
    meshes = []
    for lo, hi in intervals:
        t = [np.linspace(lo, hi, _AUX_NODES + 1)]
        t += [np.linspace(max(a, lo), min(b, hi), 257) for a, b in windows if a < hi and b > lo]
        t = np.unique(np.concatenate(t))
        rate = np.maximum(resolution * np.asarray(inverse_length(t)), min_cells / (hi - lo))
        count = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t))])
        meshes.append((t, count))
    total = sum(count[-1] for _, count in meshes)
    shrink = min(1.0, max_cells / total)
    if shrink < 1.0:
        warn_caller(f"the mesh would need {total:.3g} cells; capped at max_cells={max_cells}, "
                    f"so the resolution drops to {resolution * shrink:.3g} cells per local "
                    f"length")
    edges, covered = [], []
    for t, count in meshes:
        n = max(1, math.ceil(count[-1] * shrink))
        edges.append(np.interp(np.linspace(0.0, count[-1], n + 1), count, t))
        covered.append(np.ones(n, dtype=bool))
        covered.append(np.zeros(1, dtype=bool))  # the gap to the next interval
    return np.concatenate(edges), np.concatenate(covered)[:-1]


def _inverse_length(f: _Fields, beta: float, x, cutoff: float) -> np.ndarray:
    """(n, d): 1 / l_i(x) with l_i^-2 = beta |d_ii u| + beta^2 (d_i u)^2 / (2 cutoff), the scale on
    which the density changes along axis i (the gradient term keeps l finite at inflection
    points and resolves the tails)."""
    hess_diag = np.diagonal(f.hessian(x), axis1=-2, axis2=-1)
    return np.sqrt(beta * np.abs(hess_diag) + beta**2 * f.grad(x) ** 2 / (2.0 * cutoff))


def _laplace_boxes(beta: float, minima: _Minima, cutoff: float, scale: float = 1.5):
    """[(lo (d,), hi (d,))]: around each minimum with a positive definite Hessian H, the box
    holding ``scale`` times its Laplace ellipse {beta (x - m)^T H (x - m) / 2 < cutoff}."""
    boxes = []
    for m, h in zip(minima.points, minima.hessians, strict=True):
        if np.linalg.eigvalsh(h)[0] > 0:
            half = scale * np.sqrt(2.0 * cutoff * np.diag(np.linalg.inv(h)) / beta)
            boxes.append((m - half, m + half))
    return boxes


# ================================================================================================
# d = 1: adaptive quadrature
# ================================================================================================
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
      defaults, for any beta (e.g. 1e6: two spikes of width 1e-3 for the double well).
    """
    beta = _checked_beta(beta)
    if potential.dim != 1:
        raise ValueError(f"gibbs_1d needs a 1-D potential, got dim={potential.dim}")
    f = _fields(potential)
    (x,), u = _confining_box(f, beta, bracket, n_scan, cutoff)
    minima, u_min = _weighty_minima(f, [x], u, beta, cutoff)
    level = u_min + cutoff / beta

    def excess(t):
        return float(f.value([[t]])[0]) - level

    components = [_sublevel_component(excess, x, u - level, float(m[0])) for m in minima.points]
    windows = [(lo[0], hi[0]) for lo, hi in _laplace_boxes(beta, minima, cutoff)]
    edges, covered = _graded_mesh(
        _interval_union(components), lambda t: _inverse_length(f, beta, t[:, None], cutoff)[:, 0],
        windows, resolution, min_cells, max_cells)
    centres = 0.5 * (edges[1:] + edges[:-1])
    log_density = np.full(centres.shape, -np.inf)
    log_density[covered] = -beta * (f.value(centres[covered, None]) - u_min)
    return Measure1D(edges, np.diff(edges) * np.exp(log_density))


def _sublevel_component(excess: Callable, x: np.ndarray, scan_excess: np.ndarray, m: float):
    """[a, b]: the connected component of {excess < 0} around the minimiser m, from the first
    scan points outward of m with excess >= 0 and Brent's method inside that scan cell."""
    i = int(np.searchsorted(x, m))  # x[i - 1] < m <= x[i]
    right = i + int(np.argmax(scan_excess[i:] >= 0))
    left = i - 1 - int(np.argmax(scan_excess[:i][::-1] >= 0))
    inner_right = x[right - 1] if right - 1 >= i else m
    inner_left = x[left + 1] if left + 1 <= i - 1 else m
    b = optimize.brentq(excess, inner_right, x[right], xtol=1e-15, rtol=4 * np.finfo(float).eps)
    a = optimize.brentq(excess, x[left], inner_left, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return a, b


# ================================================================================================
# Products: Separable potentials (docs/theory.md §5)
# ================================================================================================
@dataclasses.dataclass(frozen=True, eq=False)
class ProductMeasure:
    """pi = ⊗_i mu_i on R^d: independent coordinates (Gibbs of a ``Separable`` potential, §3).

    Args:
      marginal: one ``Measure1D`` shared by all d coordinates (iid), or a sequence of d of them.
      dim: d; needed for a shared marginal, inferred from a sequence.
    """

    marginal: Measure1D | Sequence[Measure1D]
    dim: int | None = None

    def __post_init__(self):
        given = (self.marginal,) if isinstance(self.marginal, Measure1D) else tuple(self.marginal)
        if not given or not all(isinstance(m, Measure1D) for m in given):
            raise ValueError("marginal must be a Measure1D or a non-empty sequence of them")
        dim = len(given) if self.dim is None else self.dim
        check_positive_int("dim", dim)
        if len(given) not in (1, dim):
            raise ValueError(f"{len(given)} marginals for dim={dim}: need 1 or {dim}")
        object.__setattr__(self, "dim", dim)
        object.__setattr__(self, "_marginals", given * dim if len(given) == 1 else given)

    @property
    def marginals(self) -> tuple[Measure1D, ...]:
        """The d marginals mu_i."""
        return self._marginals

    @property
    def mean(self) -> np.ndarray:
        return np.array([m.mean for m in self.marginals])

    @property
    def var(self) -> np.ndarray:
        return np.array([m.var for m in self.marginals])

    @property
    def cov(self) -> np.ndarray:
        return np.diag(self.var)

    def mass_of_box(self, lo, hi) -> float:
        """pi(prod_i [lo_i, hi_i]) = prod_i mu_i([lo_i, hi_i]); lo, hi scalars or (d,)."""
        lo, hi = (np.broadcast_to(np.asarray(b, dtype=float), (self.dim,)) for b in (lo, hi))
        masses = [m.mass(a, b) for m, a, b in zip(self.marginals, lo, hi, strict=True)]
        return float(np.prod(masses))

    @float64
    def sample(self, key, n: int) -> np.ndarray:
        """n iid draws, (n, d), by the inverse cdf of each marginal."""
        q = np.asarray(jax.random.uniform(key, (n, self.dim), dtype=float))
        return np.stack([m.quantile(q[:, i]) for i, m in enumerate(self.marginals)], axis=1)


# ================================================================================================
# d = 2: adaptive tensor grid
# ================================================================================================
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

    def mass(self, region: Callable) -> float:
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
    3. Each axis is meshed like :func:`gibbs_1d` with the local length
       l_i = (beta |d_ii u| + beta^2 (d_i u)^2 / (2 cutoff))^(-1/2), profiled (minimum l over
       the other axis inside the sublevel set); cell masses by the midpoint rule.

    Args:
      potential: a 2-D potential.
      beta: inverse temperature, positive and finite.
      cutoff, resolution, bracket, min_cells: as in :func:`gibbs_1d` (per axis).
      n_coarse: coarse points per axis (a well narrower than a few coarse cells may be missed).
      max_cells: cap on the tensor grid's cells (nx * ny).
    """
    beta = _checked_beta(beta)
    if potential.dim != 2:
        raise ValueError(f"gibbs_2d needs a 2-D potential, got dim={potential.dim}")
    f = _fields(potential)
    axes, u = _confining_box(f, beta, bracket, n_coarse, cutoff)
    minima, u_min = _weighty_minima(f, axes, u, beta, cutoff)
    laplace = _laplace_boxes(beta, minima, cutoff)
    boxes = _component_boxes(axes, beta * (u - u_min) < cutoff) + laplace
    profiles = _length_profiles(f, beta, u_min, cutoff, boxes)
    edges, covered = [], []
    for i in (0, 1):
        windows = [(lo[i], hi[i]) for lo, hi in laplace]

        def inverse_length(t, i=i):
            return np.max([np.interp(t, s, r, left=0.0, right=0.0) for s, r in profiles[i]], 0)

        e, c = _graded_mesh(_interval_union([(b[0][i], b[1][i]) for b in boxes]),
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


def _length_profiles(f: _Fields, beta: float, u_min: float, cutoff: float, boxes, n: int = 129):
    """Per axis and box: (t, 1 / l_i(t)) with 1 / l_i maximised over the other coordinate on an
    n x n grid of the box, inside the sublevel set {beta (u - u_min) < cutoff}."""
    profiles: list[list] = [[], []]
    for lo, hi in boxes:
        axes = [np.linspace(lo[i], hi[i], n) for i in (0, 1)]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        inside = (beta * (f.value(pts) - u_min) < cutoff).reshape(n, n, 1)
        rate = np.where(inside, _inverse_length(f, beta, pts, cutoff).reshape(n, n, 2), 0.0)
        for i in (0, 1):
            profiles[i].append((axes[i], rate[..., i].max(axis=1 - i)))
    return profiles


# ================================================================================================
# Any d: Metropolis-adjusted Langevin reference samples
# ================================================================================================
class MALAState(NamedTuple):
    """One chain of MALA: position x (d,), log pi(x) and grad log pi(x) (d,)."""

    position: jax.Array
    log_density: jax.Array
    grad_log_density: jax.Array


class MALAInfo(NamedTuple):
    """Per step: acceptance probability min(1, r) and whether the proposal was accepted."""

    acceptance_prob: jax.Array
    is_accepted: jax.Array


class MALA(NamedTuple):
    """Pure MALA kernel: ``init(position) -> state``, ``step(key, state, step_size) ->
    (state, info)``."""

    init: Callable
    step: Callable


def mala(log_density: Callable) -> MALA:
    """Metropolis-adjusted Langevin algorithm for pi ∝ exp(log_density).

    Proposal y = x + h grad log pi(x) + sqrt(2 h) xi, xi ~ N(0, I), accepted with probability
    min(1, pi(y) q(x | y) / (pi(x) q(y | x))), q(y | x) = N(y; x + h grad log pi(x), 2 h I).
    The unadjusted version of this proposal is the SGLD step with lam = h / beta
    (docs/theory.md §1).

    References:
      Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their
      discrete approximations. Bernoulli 2(4).
    """
    value_and_grad = jax.value_and_grad(log_density)

    def init(position) -> MALAState:
        return MALAState(position, *value_and_grad(position))

    def log_proposal(to, origin: MALAState, h):
        mean = origin.position + h * origin.grad_log_density
        return -jnp.sum((to - mean) ** 2) / (4.0 * h)

    def step(key, state: MALAState, step_size) -> tuple[MALAState, MALAInfo]:
        k_noise, k_accept = jax.random.split(key)
        noise = jax.random.normal(k_noise, state.position.shape, state.position.dtype)
        proposal = init(state.position + step_size * state.grad_log_density
                        + jnp.sqrt(2.0 * step_size) * noise)
        log_ratio = (proposal.log_density - state.log_density
                     + log_proposal(state.position, proposal, step_size)
                     - log_proposal(proposal.position, state, step_size))
        prob = jnp.where(jnp.isnan(log_ratio), 0.0, jnp.exp(jnp.minimum(log_ratio, 0.0)))
        accepted = jax.random.uniform(k_accept) < prob
        new = jax.tree.map(lambda a, b: jnp.where(accepted, a, b), proposal, state)
        return new, MALAInfo(prob, accepted)

    return MALA(init, step)


class MALADiagnostics(NamedTuple):
    """Attributes:
    acceptance_rate: mean acceptance after warm-up (target 0.574).
    step_size: the frozen step size h.
    ess: (d,) effective sample size per coordinate (all chains).
    r_hat: (d,) split R-hat per coordinate (about 1 when the chains agree).
    n_chains, n_draws: kept draws per chain.
    """

    acceptance_rate: float
    step_size: float
    ess: np.ndarray
    r_hat: np.ndarray
    n_chains: int
    n_draws: int


@dataclasses.dataclass(frozen=True, eq=False)
class SampleMeasure:
    """A measure known by reference samples: the pooled MALA chains.

    Attributes:
      chains: (n_chains, n_draws, d) draws.
      diagnostics: acceptance, step size, ESS and R-hat of the run.
    """

    chains: np.ndarray
    diagnostics: MALADiagnostics

    @property
    def samples(self) -> np.ndarray:
        """All draws pooled, (n_chains * n_draws, d)."""
        return self.chains.reshape(-1, self.chains.shape[-1])

    @property
    def dim(self) -> int:
        return int(self.chains.shape[-1])

    @property
    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    @property
    def var(self) -> np.ndarray:
        return self.samples.var(axis=0)

    @property
    def cov(self) -> np.ndarray:
        return np.atleast_2d(np.cov(self.samples, rowvar=False, ddof=0))

    @property
    def standard_error(self) -> np.ndarray:
        """(d,) Monte Carlo standard error of ``mean``: sqrt(var / ESS)."""
        return np.sqrt(self.var / self.diagnostics.ess)

    def mass_of_box(self, lo, hi) -> float:
        """Fraction of the samples in prod_i [lo_i, hi_i]."""
        inside = (self.samples >= np.asarray(lo)) & (self.samples <= np.asarray(hi))
        return float(np.mean(np.all(inside, axis=1)))

    @float64
    def sample(self, key, n: int) -> np.ndarray:
        """n draws, (n, d), resampled with replacement from the reference samples."""
        idx = np.asarray(jax.random.randint(key, (n,), 0, self.samples.shape[0]))
        return self.samples[idx]


@float64
def mala_samples(key, potential: Potential, beta: float, n_chains: int = 16,
                 n_steps: int = 5000, *, n_warmup: int = 1000,
                 initial_positions=None, initial_step_size: float | None = None,
                 target_acceptance: float = TARGET_ACCEPTANCE,
                 cutoff: float = GIBBS_CUTOFF) -> SampleMeasure:
    """Reference samples of pi ∝ exp(-beta u) by MALA (vmap over chains, lax.scan over time).

    Warm-up: ``n_warmup`` steps adapting one shared step size by Robbins–Monro on its log,
    log h <- log h + (mean acceptance - target) / (t + 1)^0.6; then h is frozen and ``n_steps``
    steps are kept.

    Args:
      key: PRNG key.
      potential: u, confining (checked along the axes and diagonals; ValueError if not).
      beta: inverse temperature, positive and finite.
      n_chains: independent chains (R-hat needs several).
      n_steps: steps after warm-up per chain.
      n_warmup: adaptation steps (discarded).
      initial_positions: (n_chains, d); default N(0, I) draws.
      initial_step_size: default 0.1 / beta.
      target_acceptance: the adaptation's target (0.574 is optimal for smooth targets).
      cutoff: tail level of the confinement check (as in :func:`gibbs_1d`).

    Returns:
      A :class:`SampleMeasure` with the chains and their diagnostics.
    """
    beta = _checked_beta(beta)
    for name, value in (("n_chains", n_chains), ("n_steps", n_steps)):
        check_positive_int(name, value)
    if n_warmup < 0:
        raise ValueError(f"n_warmup={n_warmup!r} is not allowed: need an integer >= 0")
    _check_confining_rays(_fields(potential), beta, cutoff)
    d = potential.dim
    k_init, k_run = jax.random.split(key)
    if initial_positions is None:
        initial_positions = jax.random.normal(k_init, (n_chains, d), dtype=float)
    initial_positions = jnp.asarray(initial_positions, dtype=float)
    if initial_positions.shape != (n_chains, d):
        raise ValueError(f"initial_positions has shape {initial_positions.shape}; "
                         f"allowed: ({n_chains}, {d})")
    h0 = 0.1 / beta if initial_step_size is None else initial_step_size
    check_positive("initial_step_size", h0)
    positions, accepted, log_h = _run_mala(potential, beta, k_run, initial_positions,
                                           math.log(h0), n_warmup, n_steps, target_acceptance)
    chains = np.asarray(positions)
    diagnostics = MALADiagnostics(
        acceptance_rate=float(np.mean(accepted)), step_size=float(np.exp(log_h)),
        ess=effective_sample_size(chains), r_hat=split_r_hat(chains),
        n_chains=n_chains, n_draws=chains.shape[1])
    return SampleMeasure(chains, diagnostics)


@functools.partial(jax.jit, static_argnames=("n_warmup", "n_steps", "target"))
def _run_mala(potential: Potential, beta, key, positions, log_h, n_warmup: int, n_steps: int,
              target: float):
    """One scan of n_warmup + n_steps steps (one step in the compiled program): the shared step
    size adapts while t < n_warmup, then is frozen. Returns (positions (n_chains, n_steps, d),
    accepted flags (n_steps, n_chains), final log step size). The potential is a traced
    argument, so runs on potentials of one structure share the compilation."""
    kernel = mala(lambda x: -beta * potential.value(x))
    n_chains = positions.shape[0]
    step_all = jax.vmap(kernel.step, in_axes=(0, 0, None))

    def one(carry, xs):
        states, log_h = carry
        key, t = xs
        states, info = step_all(jax.random.split(key, n_chains), states, jnp.exp(log_h))
        gain = jnp.where(t < n_warmup, (t + 1.0) ** -0.6, 0.0)
        log_h = log_h + gain * (jnp.mean(info.acceptance_prob) - target)
        return (states, log_h), (states.position, info.is_accepted)

    n_total = n_warmup + n_steps
    carry = (jax.vmap(kernel.init)(positions), log_h)
    (_, log_h), (trace, accepted) = jax.lax.scan(
        one, carry, (jax.random.split(key, n_total), jnp.arange(n_total, dtype=float)))
    return jnp.swapaxes(trace[n_warmup:], 0, 1), accepted[n_warmup:], log_h


@float64
def effective_sample_size(chains) -> np.ndarray:
    """Multi-chain effective sample size per coordinate (Geyer's initial monotone sequence).

    rho_t = 1 - (W - mean_c acov_c(t)) / var+, with W the mean within-chain variance and var+
    the pooled variance estimate; tau = -1 + 2 sum_k P_k over the positive, monotonised pair
    sums P_k = rho_2k + rho_2k+1; ESS = chains * draws / tau.

    Args:
      chains: (n_chains, n_draws, d) or (n_chains, n_draws).

    Returns:
      (d,) ESS (a scalar array for 2-D input).

    References:
      Vehtari et al. (2021), Rank-normalization, folding, and localization: an improved R-hat.
      Bayesian Analysis 16(2). Geyer (1992), Practical Markov chain Monte Carlo. Stat. Sci. 7(4).
    """
    x = np.asarray(chains, dtype=float)
    squeeze = x.ndim == 2
    x = x[..., None] if squeeze else x
    c, n, _ = x.shape
    centred = x - x.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * n, axis=1)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :n] / n  # (c, n, d)
    within = acov[:, 0].mean(axis=0) * n / (n - 1)
    between = x.mean(axis=1).var(axis=0, ddof=1) if c > 1 else 0.0
    var_plus = within * (n - 1) / n + between
    rho = 1.0 - (within - acov.mean(axis=0)) / var_plus  # (n, d)
    m = n // 2
    pairs = rho[0:2 * m:2] + rho[1:2 * m:2]
    positive = np.cumprod(pairs > 0, axis=0).astype(bool)
    pairs = np.minimum.accumulate(np.where(positive, pairs, 0.0), axis=0)
    tau = np.maximum(-1.0 + 2.0 * pairs.sum(axis=0), 1.0 / np.log10(c * n))
    ess = c * n / tau
    return ess[0] if squeeze else ess


@float64
def split_r_hat(chains) -> np.ndarray:
    """Split R-hat per coordinate: each chain halved, R = sqrt(var+ / W) (Gelman–Rubin).

    Args:
      chains: (n_chains, n_draws, d) or (n_chains, n_draws).
    """
    x = np.asarray(chains, dtype=float)
    squeeze = x.ndim == 2
    x = x[..., None] if squeeze else x
    half = x.shape[1] // 2
    x = np.concatenate([x[:, :half], x[:, half:2 * half]], axis=0)
    within = x.var(axis=1, ddof=1).mean(axis=0)
    var_plus = within * (half - 1) / half + x.mean(axis=1).var(axis=0, ddof=1)
    r = np.sqrt(var_plus / within)
    return r[0] if squeeze else r

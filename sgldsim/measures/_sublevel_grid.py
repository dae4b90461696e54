"""Adaptive grids on the sublevel set of a Gibbs density (docs/theory.md §2): the machinery that
:func:`~sgldsim.measures.grid1d.gibbs_1d` and :func:`~sgldsim.measures.grid2d.gibbs_2d` share,
and the confinement check of :func:`~sgldsim.measures.mala.mala_samples`.

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

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage, optimize

from .._warnings import warn_caller
from ..potentials.base import Potential

_EVAL_CHUNK = 4096  # points per potential call: bounds memory, and JAX compiles few shapes
_MAX_DOUBLINGS = 20  # bracket growth: 10 * 2^20 ~ 1e7 before "not confining"
_AUX_NODES = 4096  # nodes on which the local length scale is sampled, per interval or window


def evaluate(fn: Callable, points) -> np.ndarray:
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


class PotentialFields(NamedTuple):
    """u, grad u and Hess u of one potential as numpy functions of (n, d) points."""

    name: str
    dim: int
    value: Callable  # (n, d) -> (n,)
    grad: Callable  # (n, d) -> (n, d)
    hessian: Callable  # (n, d) -> (n, d, d)


def potential_fields(potential: Potential) -> PotentialFields:
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
        fns[name] = functools.partial(evaluate, fn)
    return PotentialFields(type(potential).__name__, potential.dim, **fns)


def _is_tail(beta: float, rise, growth, u_edge, cutoff: float) -> bool:
    """True when points are in the negligible tail: beta (u - u_min) > cutoff there, and u keeps
    growing outward (beta (u(2 x) - u(x)) > cutoff about the bracket centre), so exp(-beta u)
    decays at least as exp(-cutoff) per doubling beyond them."""
    grows = (beta * growth > cutoff) | np.isposinf(u_edge)
    return bool(np.all((beta * rise > cutoff) & grows))


def _not_confining(f: PotentialFields, beta: float, cutoff: float, where) -> ValueError:
    return ValueError(
        f"{f.name} is not confining at beta={beta!r}: beta * (u - u_min) does "
        f"not exceed cutoff={cutoff} and keep growing by that much per doubling of the distance, "
        f"even at {np.round(np.asarray(where), 3).tolist()}; exp(-beta u) is not normalisable on "
        f"a bounded grid (allowed: potentials growing at infinity, e.g. confinement > 0)"
    )


def confining_box(f: PotentialFields, beta: float, bracket, n: int, cutoff: float):
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


def check_confining_rays(f: PotentialFields, beta: float, cutoff: float, radius: float = 10.0):
    """The tail test of :func:`confining_box` along the 2d + 2 rays ±e_i, ±(1,...,1)/sqrt(d)
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


class Minima(NamedTuple):
    points: np.ndarray  # (k, d) local minimisers, by increasing u
    values: np.ndarray  # (k,) u at them
    hessians: np.ndarray  # (k, d, d) Hess u at them
    rounding: float = 0.0  # delta u: the resolution of the computed u at the global minimiser


def weighty_minima(f: PotentialFields, axes: list[np.ndarray], u: np.ndarray, beta: float,
                    cutoff: float) -> tuple[Minima, float]:
    """The local minima whose weight can matter, beta (u(m) - u_min) < cutoff, and u_min.

    Local minima of the coarse grid values (3^d neighbourhoods), each refined by L-BFGS-B inside
    its neighbouring grid cells and then by Newton steps where the Hessian is positive definite
    (so that the minimiser is found to the float64 resolution, not to L-BFGS-B's tolerance);
    duplicates within half a grid cell are merged. Depths closer to u_min than the rounding
    level of u there (:func:`rounding_level`) count as equal to it."""
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
        x = _newton_polish(f, res.x)
        found.append((float(f.value(x[None, :])[0]), x))
    found.sort(key=lambda item: item[0])
    points: list[np.ndarray] = []
    values: list[float] = []
    for value, x in found:
        if all(np.any(np.abs(x - p) > 0.5 * spacing) for p in points):
            points.append(x)
            values.append(value)
    u_min = min(values[0], float(u.min()))
    rounding = rounding_level(f, points[0], f.hessian(points[0][None, :])[0], u_min)
    depth = np.array(values) - u_min
    keep = beta * np.where(depth <= rounding, 0.0, depth) < cutoff
    points = np.array(points)[keep]
    return Minima(points, np.array(values)[keep], f.hessian(points), rounding), u_min


def _newton_polish(f: PotentialFields, x: np.ndarray, max_steps: int = 8) -> np.ndarray:
    """Newton steps from x while Hess u is positive definite and |grad u| falls."""
    g = f.grad(x[None, :])[0]
    for _ in range(max_steps):
        h = f.hessian(x[None, :])[0]
        if not np.all(np.isfinite(h)) or np.linalg.eigvalsh(h)[0] <= 0:
            break
        trial = x - np.linalg.solve(h, g)
        g_trial = f.grad(trial[None, :])[0]
        if not np.linalg.norm(g_trial) < np.linalg.norm(g):
            break
        x, g = trial, g_trial
    return x


_ROUNDING_PROBES = 16  # float64 neighbours per side and axis on which u's rounding is read


def rounding_level(f: PotentialFields, point: np.ndarray, hessian: np.ndarray,
                   u_min: float) -> float:
    """delta u: the resolution of the computed u near its minimiser ``point``.

    The spread of u, less its quadratic model, over the float64 neighbours point +- j ulp e_i
    (j <= 16, every axis i; their true spread is O(ulp^2)), and at least the float64 spacing
    of u_min. Differences u - u_min below delta u are rounding, so beta * delta u is the
    relative rounding error of the cell masses exp(-beta (u - u_min)) of a quadrature."""
    d = f.dim
    j = np.arange(-_ROUNDING_PROBES, _ROUNDING_PROBES + 1, dtype=float)
    steps = np.spacing(np.abs(point))
    offsets = (j[:, None, None] * (steps[:, None] * np.eye(d))[None]).reshape(-1, d)
    model = 0.5 * np.einsum("ni,ij,nj->n", offsets, hessian, offsets)
    spread = np.ptp(f.value(point[None, :] + offsets) - model)
    return max(float(spread), float(np.spacing(abs(u_min))))


def interval_union(intervals) -> list[tuple[float, float]]:
    """Union of closed intervals as a sorted list of disjoint ones."""
    merged: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def graded_mesh(intervals, inverse_length: Callable, windows, resolution: float,
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


def local_inverse_length(f: PotentialFields, beta: float, x, cutoff: float) -> np.ndarray:
    """(n, d): 1 / l_i(x) with l_i^-2 = beta |d_ii u| + beta^2 (d_i u)^2 / (2 cutoff), the scale on
    which the density changes along axis i (the gradient term keeps l finite at inflection
    points and resolves the tails)."""
    hess_diag = np.diagonal(f.hessian(x), axis1=-2, axis2=-1)
    return np.sqrt(beta * np.abs(hess_diag) + (beta * f.grad(x)) ** 2 / (2.0 * cutoff))


def laplace_boxes(beta: float, minima: Minima, cutoff: float, scale: float = 1.5):
    """[(lo (d,), hi (d,))]: around each minimum with a positive definite Hessian H, the box
    holding ``scale`` times its Laplace ellipse {beta (x - m)^T H (x - m) / 2 < cutoff}."""
    boxes = []
    for m, h in zip(minima.points, minima.hessians, strict=True):
        if np.linalg.eigvalsh(h)[0] > 0:
            half = scale * np.sqrt(2.0 * cutoff * np.diag(np.linalg.inv(h)) / beta)
            boxes.append((m - half, m + half))
    return boxes



# ---- beyond float64: the Laplace limit, and the largest beta a grid resolves ---------------------
def _third_and_fourth(potential: Potential, x):
    third = jax.jacfwd(jax.hessian(potential.value))
    fourth, third_x = jax.jacfwd(lambda y: (third(y), third(y)), has_aux=True)(x)
    return third_x, fourth


_THIRD_AND_FOURTH = jax.jit(_third_and_fourth)


def _derivatives(potential: Potential, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The third and fourth derivative tensors of u at ``point``, (d,) * 3 and (d,) * 4 (jitted
    with the potential as an argument where it traces, as :func:`potential_fields`)."""
    x = jnp.asarray(point, dtype=float)
    try:
        out = _THIRD_AND_FOURTH(potential, x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError,
            TypeError):  # not traceable as an argument (or not a pytree): eagerly
        out = _third_and_fourth(potential, x)
    return np.asarray(out[0]), np.asarray(out[1])


def laplace_terms(potential: Potential, point: np.ndarray,
                  hessian: np.ndarray) -> tuple[float, np.ndarray]:
    """(kappa, c) of the Laplace expansion of exp(-beta u) about a minimiser m with Hessian H.

    In the coordinates y = sqrt(beta) H^(1/2) (x - m), beta (u - u(m)) = |y|^2 / 2
    + T3[y]^3 / (6 sqrt(beta)) + T4[y]^4 / (24 beta) + ..., with T3, T4 the third and fourth
    derivatives of u whitened by H^(-1/2). The mean is m - c / beta + O(beta^-2) with
    c = H^-1 (u'''_ijk (H^-1)_jk) / 2, and the relative corrections to the covariance and the
    weights are O(kappa / beta) with kappa = |T3|^2 + |T4| / 2 (Frobenius norms; in 1-D the
    variance's is (T3^2 - T4 / 2) / beta). kappa is inf where H is not positive definite."""
    evals, evecs = np.linalg.eigh(hessian)
    if not evals[0] > 0:
        return math.inf, np.zeros_like(point)
    third, fourth = _derivatives(potential, point)
    w = evecs @ np.diag(evals ** -0.5) @ evecs.T
    t3 = np.einsum("abc,ai,bj,ck->ijk", third, w, w, w)
    t4 = np.einsum("abcd,ai,bj,ck,dl->ijkl", fourth, w, w, w, w)
    kappa = float(np.sum(t3**2) + 0.5 * np.sqrt(np.sum(t4**2)))
    inverse = np.linalg.inv(hessian)
    return kappa, 0.5 * inverse @ np.einsum("ijk,jk->i", third, inverse)


_CELL_STEPS = 4  # float64 steps per cell at a minimum, l / resolution (see check_float_cells)


def check_float_cells(name: str, beta: float, minima: Minima, resolution: float) -> None:
    """ValueError where the cells at a minimum with a positive definite Hessian, l_i / resolution
    with l_i = (beta H_ii)^(-1/2), would span fewer than 4 float64 steps of x there: the graded
    mesh's cells shrink to about l_i / (1.8 resolution) at the edge of the Laplace window, and
    need two float64 steps to keep distinct edges and a midpoint inside. Names beta and the
    largest beta the grid resolves."""
    limit, worst = math.inf, None
    for m, h in zip(minima.points, minima.hessians, strict=True):
        if not np.linalg.eigvalsh(h)[0] > 0:
            continue
        step = _CELL_STEPS * np.spacing(np.abs(m))
        with np.errstate(divide="ignore", over="ignore"):  # near 0 the limit is inf
            largest = np.min(1.0 / (np.diag(h) * (resolution * step) ** 2))
        if largest < limit:
            limit, worst, curvature = float(largest), m, np.diag(h)
    if beta > limit:
        width = float(np.min(1.0 / np.sqrt(beta * curvature)))
        raise ValueError(
            f"beta={beta:.4g} is beyond the largest beta={limit:.4g} a float64 grid resolves "
            f"for {name} at resolution={resolution:g}: its well at x={np.round(worst, 6).tolist()} "
            f"(width ~{width:.2g}) would get cells narrower than {_CELL_STEPS} float64 steps "
            f"({float(np.max(np.spacing(np.abs(worst)))):.2g} each) there (allowed: beta <= "
            f"{limit:.4g})")


def laplace_regime(potential: Potential, f: PotentialFields, beta: float, minima: Minima,
                   u_min: float, resolution: float) -> tuple[PotentialFields, Minima] | None:
    """Whether a grid quadrature of exp(-beta (u - u_min)) resolves the wells, and if not, the
    Laplace limit to put on the grid instead.

    The quadrature's cell masses carry the relative rounding error beta * delta u
    (:func:`rounding_level`); its discretisation error is 1 / (12 resolution^2). The Laplace
    limit (a Gaussian at each retained minimum, mean m - c / beta, covariance H^-1 / beta, weight
    exp(-beta (u(m) - u_min)) det(H)^(-1/2)) has relative error kappa / beta
    (:func:`laplace_terms`). The limit replaces the quadrature where the rounding error exceeds
    the discretisation error and the limit's error is smaller; where both errors exceed
    1 / resolution (the change of beta u across one cell one standard deviation from a minimum),
    neither resolves the wells and a ValueError names beta and the largest beta the quadrature
    resolves, 1 / (resolution * delta u).

    Returns:
      None (use the quadrature), or the fields and the minima of the Laplace model
      min_i [d_i + (x - mu_i)^T H_i (x - mu_i) / 2] (d_i = u(m_i) - u_min, zero within delta u),
      whose minimum is 0 and whose values near each mu_i are exact to rounding of x - mu_i.
    """
    rounding_error = beta * minima.rounding
    if rounding_error <= 1.0 / (12.0 * resolution**2):
        return None
    terms = [laplace_terms(potential, m, h) for m, h in zip(minima.points, minima.hessians,
                                                            strict=True)]
    kappa = max(t[0] for t in terms)
    laplace_error = kappa / beta
    if min(rounding_error, laplace_error) > 1.0 / resolution:
        largest = 1.0 / (resolution * minima.rounding)
        why = ("the Hessian at a minimum is not positive definite" if math.isinf(kappa) else
               f"its next correction, kappa/beta = {laplace_error:.2g}, exceeds "
               f"1/resolution; it resolves beta >= {resolution * kappa:.4g}")
        raise ValueError(
            f"beta={beta:.4g} is beyond the largest beta={largest:.4g} the quadrature resolves "
            f"for {f.name} at resolution={resolution:g} (the rounding of beta * u, "
            f"beta * {minima.rounding:.2g}, exceeds 1/resolution) and the Laplace limit does "
            f"not apply ({why}) (allowed: beta <= {largest:.4g})")
    if laplace_error >= rounding_error:
        return None
    depth = minima.values - u_min
    depth = np.where(depth <= minima.rounding, 0.0, depth)
    centres = np.array([m - c / beta for m, (_, c) in zip(minima.points, terms, strict=True)])
    model = Minima(centres, depth, minima.hessians, 0.0)
    return _quadratic_fields(f.name, f.dim, model), model


def _quadratic_fields(name: str, dim: int, model: Minima) -> PotentialFields:
    """Fields of min_i [d_i + (x - mu_i)^T H_i (x - mu_i) / 2] (the Laplace model)."""
    centres, depths, hessians = model.points, model.values, model.hessians

    def nearest(x):
        diff = np.asarray(x, dtype=float)[None, :, :] - centres[:, None, :]  # (k, n, d)
        q = depths[:, None] + 0.5 * np.einsum("kni,kij,knj->kn", diff, hessians, diff)
        k = np.argmin(q, axis=0)
        n = np.arange(q.shape[1])
        return q[k, n], diff[k, n], k

    def grad(x):
        _, diff, k = nearest(x)
        return np.einsum("nij,nj->ni", hessians[k], diff)

    return PotentialFields(f"{name} (Laplace limit)", dim,
                           functools.partial(evaluate, lambda x: nearest(x)[0]),
                           functools.partial(evaluate, grad),
                           functools.partial(evaluate, lambda x: hessians[nearest(x)[2]]))

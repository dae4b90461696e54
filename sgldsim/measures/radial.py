"""Rotation-invariant measures on R^d held exactly by their radial laws (docs/theory.md §10).

For a radial potential u(x) = phi(|x|), pi ∝ exp(-beta u) is rotation invariant: X = R Theta
with Theta uniform on the sphere S^(d-1), independent of the radius R, whose density is

    p_R(r) ∝ r^(d-1) exp(-beta phi(r)),   r >= 0

(polar coordinates: dx = r^(d-1) dr dTheta). :func:`radial_gibbs` computes p_R on a graded 1-D
grid in float64 and returns a :class:`RadialMeasure`; every functional of the radius (moments,
W_p to another rotation-invariant measure, see :func:`sgldsim.distances.radial_wasserstein`)
is then a 1-D computation, exact up to the grid's O(h^2), in any d.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .._precision import enable_x64
from .._validation import check_positive_int
from .base import GIBBS_CUTOFF, checked_beta
from .grid1d import Measure1D

_MAX_DOUBLINGS = 30
_SCAN_POINTS = 1001
_CHUNK = 2048  # radii per compiled profile call (padded): one compilation per potential type
_PROFILE = jax.jit(lambda potential, r: potential.profile(r))


def _profile_values(potential, r) -> np.ndarray:
    """phi(r) in float64 as numpy, in padded chunks of one shape."""
    r = np.asarray(r, dtype=float)
    padded = np.concatenate([r, np.zeros(-r.size % _CHUNK)])
    with enable_x64(True):
        out = [np.asarray(_PROFILE(potential, jnp.asarray(padded[i:i + _CHUNK])))
               for i in range(0, padded.size, _CHUNK)]
    return np.concatenate(out)[:r.size]


@dataclasses.dataclass(frozen=True, eq=False)
class RadialMeasure:
    """A rotation-invariant measure on R^d: X = R Theta, Theta uniform on S^(d-1), R ~ radial_law.

    Attributes:
      radial_law: the law of |X| on [0, inf), a :class:`Measure1D`.
      dim: d.
      potential: the radial potential u (for ``score``), or None.
      beta: the inverse temperature of pi ∝ exp(-beta u), or None.
    """

    radial_law: Measure1D
    dim: int
    potential: object = None
    beta: float | None = None

    def mean_radius(self) -> float:
        """E|X|."""
        return self.radial_law.mean

    def radius_moment(self, k: int) -> float:
        """E|X|^k."""
        return self.radial_law.moment(k)

    @property
    def mean(self) -> np.ndarray:
        """E X = 0 (rotation invariance)."""
        return np.zeros(self.dim)

    @property
    def cov(self) -> np.ndarray:
        """Cov X = (E|X|^2 / d) I."""
        return np.eye(self.dim) * self.radius_moment(2) / self.dim

    def sample(self, key, n: int) -> np.ndarray:
        """n iid draws, (n, d): radii by inverse cdf times uniform directions (normalised
        Gaussians; in d = 1 a random sign)."""
        k_radius, k_direction = jax.random.split(key)
        radius = self.radial_law.sample(k_radius, n)[:, 0]
        z = np.asarray(jax.random.normal(k_direction, (n, self.dim)), dtype=float)
        norm = np.linalg.norm(z, axis=1, keepdims=True)
        return radius[:, None] * z / np.where(norm > 0, norm, 1.0)

    def score(self, x):
        """grad log pi(x) = -beta grad u(x), shape (..., d)."""
        if self.potential is None:
            raise ValueError("score needs the measure's potential: build it with radial_gibbs")
        return -self.beta * self.potential.grad(x)


def radial_gibbs(potential, beta: float, *, n_cells: int = 8000,
                 cutoff: float = GIBBS_CUTOFF) -> RadialMeasure:
    """pi ∝ exp(-beta phi(|x|)) on R^d as a :class:`RadialMeasure`.

    The radial log density l(r) = (d-1) log r - beta phi(r) is scanned on [0, R] with R doubling
    until l(R) < max l - cutoff and l keeps falling; the set {l > max l - cutoff} (one interval
    per connected piece, padded by one scan cell) is meshed with ``n_cells`` cells shared in
    proportion to the pieces' lengths, and cell masses are midpoint values.

    Args:
      potential: a :class:`~sgldsim.potentials.RadialPotential` (confining).
      beta: inverse temperature, positive and finite.
      n_cells: cells of the fine radial grid (error O(h^2), h its spacing).
      cutoff: neglected density ratio e^-cutoff (the grid covers l(r) > max l - cutoff).
    """
    from ..potentials.radial import RadialPotential

    if not isinstance(potential, RadialPotential):
        raise ValueError(f"radial_gibbs needs a RadialPotential, got {type(potential).__name__}")
    beta = checked_beta(beta)
    check_positive_int("n_cells", n_cells)
    d = potential.dim

    def log_density(r):
        phi = _profile_values(potential, r)
        with np.errstate(divide="ignore"):
            return (d - 1) * np.log(r) - beta * phi if d > 1 else -beta * phi

    scan_n = _SCAN_POINTS
    top = 1.0
    for _ in range(_MAX_DOUBLINGS):
        r = np.linspace(0.0, top, scan_n)
        lr = log_density(r)
        peak = np.max(lr)
        tail = lr[-scan_n // 4:]
        if lr[-1] < peak - cutoff and np.all(np.diff(tail) < 0):
            break
        top *= 2.0
    else:
        raise ValueError(f"{type(potential).__name__} is not confining at beta={beta!r}: the "
                         f"radial density does not decay by e^-{cutoff} within r = {top:g}")
    keep = lr > peak - cutoff
    if not np.isfinite(peak) or not np.any(keep):  # beta * phi beyond float64 resolution
        mode = float(r[np.nanargmax(np.where(np.isfinite(lr), lr, -np.inf))])
        raise _unresolved(potential, beta, n_cells, mode, step=2.0 * (r[1] - r[0]) / n_cells,
                          detail="the radial log density is not resolved on the scan")
    idx = np.flatnonzero(keep)
    pieces = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    step = r[1] - r[0]
    intervals: list[list[float]] = []
    for piece in pieces:
        lo, hi = max(r[piece[0]] - step, 0.0), r[piece[-1]] + step
        if intervals and lo <= intervals[-1][1]:
            intervals[-1][1] = hi
        else:
            intervals.append([lo, hi])
    total = sum(hi - lo for lo, hi in intervals)
    edges, logs = [], []
    for lo, hi in intervals:
        n = max(int(round(n_cells * (hi - lo) / total)), 16)
        e = np.linspace(lo, hi, n + 1)
        edges.append(e)
        logs.append(log_density(0.5 * (e[1:] + e[:-1])))
    top_log = max(float(np.max(lg)) for lg in logs)  # the fine grid can exceed the scan's peak
    _check_radial_resolution(potential, beta, n_cells, edges, logs, top_log)
    masses = [np.diff(e) * np.exp(lg - top_log) for e, lg in zip(edges, logs, strict=True)]
    if len(edges) == 1:
        law = Measure1D(edges[0], masses[0])
    else:  # gaps between pieces are empty cells
        all_edges = np.concatenate(edges)
        gap_masses = [np.concatenate([m, [0.0]]) for m in masses[:-1]] + [masses[-1]]
        law = Measure1D(all_edges, np.concatenate(gap_masses))
    return RadialMeasure(law, d, potential, beta)


_CORE_CELLS = 20  # cells within one standard deviation of the radial mode (variance bias < 1e-3)


def _check_radial_resolution(potential, beta, n_cells, edges, logs, top_log) -> None:
    """ValueError unless the uniform radial grid resolves the peak of the radial law: at least
    20 cells where the log density is within 1/2 of its maximum (one standard deviation of a
    Gaussian peak: cell width h <= sd / 10, variance bias (h / sd)^2 / 12 < 1e-3), and the
    rounding of beta * phi at the mode below the change of the log density across one cell
    there (1 / count)."""
    core = sum(int(np.sum(lg > top_log - 0.5)) for lg in logs)
    i = int(np.argmax([np.max(lg) for lg in logs]))
    j = int(np.argmax(logs[i]))
    mode = 0.5 * (edges[i][j] + edges[i][j + 1])
    rounding = beta * float(np.spacing(abs(_profile_values(potential, np.array([mode]))[0])))
    if core >= _CORE_CELLS and rounding <= 1.0 / core:
        return
    raise _unresolved(potential, beta, n_cells, mode, step=edges[i][j + 1] - edges[i][j],
                      detail=f"its peak gets {core} cells within one standard deviation (at "
                             f"least {_CORE_CELLS} needed) and the rounding of beta * phi there "
                             f"is {rounding:.2g}")


def _unresolved(potential, beta, n_cells, mode: float, step: float, detail: str) -> ValueError:
    """The error for a radial law the grid cannot resolve, with the largest beta it resolves:
    cells of width ``step`` hold 20 per standard deviation (beta phi''(mode))^(-1/2) up to
    beta = 1 / (400 step^2 phi''), and the rounding of beta * phi stays below 1/20 up to
    beta = 1 / (20 spacing(phi(mode)))."""
    ds = 1e-4 * max(abs(mode), 1.0)
    centre = max(mode, ds)
    phi = _profile_values(potential, np.array([centre - ds, centre, centre + ds]))
    curvature = abs(phi[0] - 2.0 * phi[1] + phi[2]) / ds**2
    largest = 1.0 / (_CORE_CELLS * float(np.spacing(abs(phi[1]))))
    if curvature > 0:
        largest = min(largest, 1.0 / ((_CORE_CELLS * step) ** 2 * curvature))
    return ValueError(
        f"beta={beta:.4g} is beyond what radial_gibbs resolves for {type(potential).__name__} "
        f"with n_cells={n_cells}: {detail} at r={mode:.6g}; the largest beta it resolves is "
        f"about {largest:.3g} (allowed: beta <= {largest:.3g}, or a larger n_cells)")

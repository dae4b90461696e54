"""The invariant law of the discrete-time perturbed Langevin chain in 1-D, with no particle noise.

The chain of docs/theory.md §1 (SGLD for sigma = 0, fSGLD for sigma > 0) with the exact gradient,

    x' = x - lam u'(x + sigma eps) + sqrt(2 lam / beta) xi,        eps, xi ~ N(0, 1),

has the transition density (docs/theory.md §5, "Discrete chain, exactly, in 1-D")

    p(y | x) = E_eps N(y; x - lam u'(x + sigma eps), s^2),          s^2 = 2 lam / beta,

with E_eps done by probabilists' Gauss–Hermite quadrature. Its invariant density solves
pi(y) = int pi(x) p(y | x) dx.

Solve (Nyström). On an equally spaced grid x_i (spacing h) the trapezoid rule turns this into
the finite chain M_ij = h p(x_j | x_i) with stationary vector pi_i = h pi(x_i). The integrand
pi(x) p(y | x) is an entire function of x whose narrowest feature is the kernel width seen by x,
w = s / sqrt(1 + max|1 - lam u''|^2), so the trapezoid rule is exponentially accurate,
error ~ exp(-2 pi^2 w^2 / h^2): the solve grid only has to resolve the Langevin kernel.

Stationary vector (GTH). pi M = pi is solved by Grassmann–Taksar–Heyman state reduction on the
band of M: subtraction-free, so it keeps relative accuracy for metastable multi-well chains.

Output (cell-integrated). The returned :class:`~sgldsim.measures.grid1d.Measure1D` gets exact
cell masses from the law's exact cdf F(e) = sum_i pi_i sum_k w_k Phi((e - m_ik) / s), one more
application of the kernel (m_ik the kernel means). Its only error is then Measure1D's own: mass
spread uniformly over each cell, which adds h^2 / 6 to the variance (Sheppard's h^2 / 12 for
grouping plus h^2 / 12 for the spreading), so the default output cells are fine.

Why not solve with cell-integrated kernels (P_ij = mass of cell j under p(. | x_i))? That chain
restarts every step at a node, i.e. rounds the state to the grid each step; the rounding adds
variance h^2 / 12 per step, which the contraction 1 - (1 - lam u'')^2 ~ 2 lam u'' amplifies to a
relative error h^2 / (12 s^2) in the stationary variance, large for small steps.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.special import erfc

from .._memory import check_memory
from .._precision import float64
from .._validation import check_positive, check_positive_int
from .._warnings import warn_caller
from .grid1d import Measure1D

# The solve range starts as the hull of {beta_eff (u - u_min) < 40} (density ratio e^-40 ~ 4e-18
# at the heated beta_eff) and is then widened until the law's mass at its ends is below tol.
SOLVE_RANGE_CUTOFF = 40.0
BULK_CUTOFF = 20.0  # curvature scales come from beta (u - u_min) < 20: density ratio e^-20
MAX_HERMITE = 256  # hermegauss overflows beyond about 300 nodes
MAX_OUTPUT_CELLS = 20_000
OUTPUT_CELLS_PER_WIDTH = 150  # cell l / 150: variance bias h^2 / 6 <= 7.4e-6 l^2
MAX_WIDENINGS = 4
LEAK_WARNING = 1e-6
UNDERFLOW = 1e-290  # pi below this inside the Gibbs bulk: float64 lost the barrier crossing
GTH_BUDGET = 3e8  # n (lower + 1) (upper + 1) flops of banded GTH; beyond it, sparse LU
GTH = "GTH state reduction on the band"
PINNED_LU = "sparse LU with the node at min u pinned"


class ChainInfo(NamedTuple):
    """Diagnostics of :func:`chain_invariant_with_info`.

    Attributes:
      solve_grid: (n,) equally spaced nodes of the Nyström discretisation.
      solve_density: (n,) invariant density pi(x_i) at those nodes.
      residual: |pi M - pi|_1 of the stationary vector for the row-normalised matrix M.
      leak: sum_i pi_i (1 - sum_j h p(x_j | x_i)), the chain's mass per step that the grid loses
        (tails beyond the grid, plus the trapezoid error); row normalisation returns it to the grid
        (a node whose whole kernel lands off the grid restarts at the minimum of u). A warning is
        raised above 1e-6.
      edge_mass: largest invariant mass within one kernel width of an end of the solve grid.
      mass_outside: invariant mass outside the output grid (dropped from the measure).
      n_hermite: Gauss–Hermite nodes used for E_eps (1 when sigma = 0).
      hermite_ratio: r = lam sigma max|u''| / s, how far the perturbation moves the kernel
        compared to its width; the nodes needed grow like 1 + r^2.
      solver: the linear solver used for pi (M - I) = 0.
    """

    solve_grid: np.ndarray
    solve_density: np.ndarray
    residual: float
    leak: float
    edge_mass: float
    mass_outside: float
    n_hermite: int
    hermite_ratio: float
    solver: str


class _Chain(NamedTuple):
    """A validated chain: the potential and the three numbers, with numpy views of u, u', u''."""

    potential: object
    step_size: float
    beta: float
    sigma: float

    @property
    def kernel_width(self) -> float:
        """s = sqrt(2 lam / beta), the standard deviation of the Langevin noise per step."""
        return math.sqrt(2.0 * self.step_size / self.beta)

    def value(self, x: np.ndarray) -> np.ndarray:
        return _bucketed(lambda y: self.potential.value(y[:, None]), x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return _bucketed(lambda y: self.potential.grad(y[:, None])[:, 0], x)

    def curvature(self, x: np.ndarray) -> np.ndarray:
        return _bucketed(lambda y: self.potential.laplacian(y[:, None]), x)


def _bucketed(fn, x: np.ndarray) -> np.ndarray:
    """fn on the flattened x, padded to a power-of-two length: JAX compiles each new shape, so a
    few shape buckets keep repeated calls (a sweep over step sizes) from recompiling."""
    x = np.asarray(x, dtype=float)
    flat = x.ravel()
    size = max(1024, 1 << (flat.size - 1).bit_length())
    padded = np.concatenate([flat, np.full(size - flat.size, flat[0])])
    return np.asarray(fn(padded))[:flat.size].reshape(x.shape)


def chain_invariant(potential, sampler, grid=None, n_grid: int | None = None,
                    n_hermite: int | None = None, tol: float = 1e-12) -> Measure1D:
    """Invariant law of the discrete SGLD/fSGLD chain on a 1-D potential (docs/theory.md §5).

    Same arguments as :func:`chain_invariant_with_info`, which also returns diagnostics.
    """
    return chain_invariant_with_info(potential, sampler, grid, n_grid, n_hermite, tol)[0]


@float64
def chain_invariant_with_info(potential, sampler, grid=None, n_grid: int | None = None,
                              n_hermite: int | None = None, tol: float = 1e-12
                              ) -> tuple[Measure1D, ChainInfo]:
    """Invariant law of x' = x - lam u'(x + sigma eps) + sqrt(2 lam / beta) xi, and diagnostics.

    The transition density p(y | x) = E_eps N(y; x - lam u'(x + sigma eps), 2 lam / beta)
    (Gauss–Hermite over eps) is discretised by the Nyström method on an equally spaced solve grid,
    M_ij = h p(x_j | x_i) (rows normalised to 1), and pi M = pi is solved directly by GTH state
    reduction on M's band (O(n b^2)). GTH never subtracts, so basin masses stay accurate for
    metastable chains whose barrier crossings are far rarer than machine epsilon, where a plain
    LU solve of (M^T - I) pi = 0 puts all mass in one well and power iteration would need about
    1 / (spectral gap) sweeps. The measure's cell masses are differences of the exact cdf
    F(e) = sum_i pi_i P(x_i, (-inf, e]) (module docstring).

    Automatic choices:
      * range: the hull of {x : beta_eff (u(x) - u_min) < 40} with the chain's heat factor
        beta / beta_eff = (1 + beta lam sigma^2 c^2 / 2) / (1 - lam c / 2), c = max|u''| there
        (exact for a quadratic: chain variance (lam a^2 sigma^2 + 2/beta) / (a (2 - lam a))),
        widened by z_tol (s + lam sigma c), z_tol = sqrt(2 ln(1/tol)); widened again while the
        law has mass > tol within a kernel width of an end.
      * solve spacing: h = pi w sqrt(2 / ln(2/tol)), which sets the trapezoid error
        exp(-2 pi^2 w^2 / h^2) to tol, with w = s / sqrt(1 + max|1 - lam u''|^2).
      * Gauss–Hermite nodes: ln(1/tol) (1 + r^2) / 2, r = lam sigma max|u''| / s (measured: the
        rule's error on the kernel is about exp(-2 n / (1 + r^2))), between 8 and 256.
      * output cells: width l / 150 with l = 1 / sqrt(beta max|u''|) the narrowest Gibbs width,
        at most 20000 cells. The Measure1D variance then exceeds the law's by h^2 / 6, i.e. by at
        most 7.4e-6 relative: the dominant error.

    The gradient is the exact u' (``potential.grad``): a stochastic potential's gradient noise is
    not part of this chain. Potentials whose drift grows faster than linearly (polynomials of
    degree > 2) make the explicit chain transient far out; the law returned is the one on the
    grid, i.e. the quasi-stationary law that simulations see, and ``info.leak`` says how much mass
    per step the truncation returns.

    Args:
      potential: a 1-D potential (``dim == 1``).
      sampler: a :class:`~sgldsim.dynamics.samplers.Sampler` with a fixed positive step size,
        finite beta and sigma >= 0 (``sgld_sampler(lam, beta)`` or
        ``fsgld_sampler(lam, beta, sigma)``).
      grid: increasing cell edges of the output measure (as in ``Measure1D.from_log_density``);
        default automatic (above). The law's mass outside is dropped (``info.mass_outside``).
      n_grid: number of edges over the automatic range (ignored if ``grid`` is given).
      n_hermite: Gauss–Hermite nodes for E_eps; default automatic (above).
      tol: target accuracy of the discretisation (kernel truncation, solve spacing, quadrature).

    Returns:
      (measure, info): the invariant law as a Measure1D and a :class:`ChainInfo`.

    Raises:
      ValueError: for a schedule or non-positive step size, beta not finite and positive, a
        potential that is not 1-D or not confining, bad grid / n_grid / n_hermite / tol, or a
        chain so metastable that its density between wells underflows float64 (beta too large).

    References:
      docs/theory.md §1 (the update), §5 (discrete chain in 1-D; the quadratic's variance),
      §6 (when the chain is close to pi^f).
    """
    chain = _validated_chain(potential, sampler)
    grid = _validated_options(grid, n_grid, n_hermite, tol)
    lo, hi, scales = _covering_range(chain, tol)
    _check_stable(chain, scales["bulk"])
    z, w, ratio = _hermite_rule(chain, scales["curvature"], n_hermite, tol)
    nodes, pi, residual, leak, edge, solver = _solve_covering(chain, lo, hi, scales, z, w, tol)
    if grid is None:
        cells = n_grid - 1 if n_grid else int(min(MAX_OUTPUT_CELLS, max(
            nodes.size, math.ceil(np.ptp(nodes) * OUTPUT_CELLS_PER_WIDTH / scales["gibbs_width"]))))
        grid = np.linspace(nodes[0], nodes[-1], cells + 1)
    cdf = _pushed_cdf(chain, nodes, pi, grid, z, w, tol)
    measure = Measure1D(grid, np.clip(np.diff(cdf), 0.0, None))
    info = ChainInfo(solve_grid=nodes, solve_density=pi / (nodes[1] - nodes[0]),
                     residual=residual, leak=leak, edge_mass=edge,
                     mass_outside=float(cdf[0] + 1.0 - cdf[-1]), n_hermite=int(z.size),
                     hermite_ratio=ratio, solver=solver)
    return measure, info


def _solve_covering(chain: _Chain, lo: float, hi: float, scales: dict, z: np.ndarray,
                    w: np.ndarray, tol: float):
    """Stationary vector on [lo, hi], widening a side while the law has mass > tol near its end.

    Returns (nodes, pi, residual, leak, edge mass, solver name); warns when the grid still cuts
    the law or the chain leaks more than LEAK_WARNING per step. Raises ValueError when the
    density underflows inside the Gibbs bulk (a barrier too high for float64).
    """
    for _ in range(MAX_WIDENINGS + 1):
        nodes = _solve_grid(lo, hi, scales["spacing"])
        _check_operator_size(chain, nodes, z.size, tol)
        kernel = _transition_density(chain, nodes, nodes, z, w, tol)
        pi, residual, leak, solver = _stationary_vector(kernel, nodes, chain)
        bulk = (nodes >= scales["bulk"][0]) & (nodes <= scales["bulk"][1])
        if np.min(pi[bulk]) < UNDERFLOW:
            raise ValueError(
                f"the chain's invariant density inside the Gibbs bulk falls below {UNDERFLOW:g}: "
                "too metastable for float64 (barrier crossings rarer than that; lower beta, now "
                f"{chain.beta:g}) or a well where the step is unstable (lam u'' > 2)")
        edge = _edge_mass(pi, nodes, chain.kernel_width)
        if max(edge) <= tol:
            break
        width = hi - lo
        lo, hi = lo - 0.5 * width * (edge[0] > tol), hi + 0.5 * width * (edge[1] > tol)
    else:
        warn_caller(f"chain_invariant: the law still has mass {max(edge):.2e} at the grid's "
                    f"ends after {MAX_WIDENINGS} widenings", RuntimeWarning)
    if solver == PINNED_LU:
        warn_caller("chain_invariant: the transition band is too wide for GTH state reduction; "
                    "sparse LU was used, which loses accuracy for strongly metastable chains",
                    RuntimeWarning)
    if leak > LEAK_WARNING:
        warn_caller(f"chain_invariant: the chain leaves the grid with mass {leak:.2e} per step; "
                    "the explicit step is unstable somewhere (lam u'' > 2?), so the law "
                    "returned is the quasi-stationary law on the grid", RuntimeWarning)
    return nodes, pi, residual, leak, float(max(edge)), solver


# ---- validation -------------------------------------------------------------------------------
def _validated_chain(potential, sampler) -> _Chain:
    dim = getattr(potential, "dim", None)
    if dim != 1:
        raise ValueError(f"potential has dim={dim!r}; chain_invariant needs a 1-D potential "
                         "(dim=1)")
    lam = sampler.step_size
    if callable(lam):
        raise ValueError("step_size is a schedule; allowed: a fixed positive number (a chain "
                         "with a step-size schedule is not time-homogeneous: no invariant law)")
    for name, value in (("step_size", lam), ("beta", sampler.beta), ("sigma", sampler.sigma)):
        if np.ndim(value) != 0:
            raise ValueError(f"{name} has shape {np.shape(value)}; allowed: a scalar (one cell)")
    check_positive("step_size", lam)
    if not np.isfinite(sampler.beta):
        raise ValueError(f"beta={float(sampler.beta)!r} is not allowed: the chain has no "
                         "Langevin noise and no invariant density; beta must be finite and > 0")
    check_positive("beta", sampler.beta)
    sigma = float(sampler.sigma)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma={sigma!r} is not allowed: sigma must be finite and >= 0")
    return _Chain(potential, float(lam), float(sampler.beta), sigma)


def _check_stable(chain: _Chain, bulk: tuple[float, float]) -> None:
    """Refuse a step that is unstable where the law lives: no invariant law to compute.

    The drift step m(x) = x - lam u'(x) must map each end of the Gibbs bulk
    {beta (u - u_min) < 20} back into the bulk. For a quadratic confinement u'' = c this is
    exactly the explicit step's stability condition lam c <= 2 (m(x) = (1 - lam c) x); a chain
    that violates it is thrown further out each step and its operator grows without bound.
    """
    ends = np.array(bulk)
    drift = ends - chain.step_size * chain.grad(ends)
    outside = (drift < bulk[0]) | (drift > bulk[1])
    if np.any(outside):
        i = int(np.argmax(outside))
        curvature = float(chain.curvature(ends[i:i + 1])[0])
        raise ValueError(
            f"step_size={chain.step_size:g} is not allowed: the explicit step is unstable, "
            f"x - lam u'(x) maps the end x={ends[i]:.3g} of the Gibbs bulk to {drift[i]:.3g}, "
            f"outside [{bulk[0]:.3g}, {bulk[1]:.3g}] (lam u''(x) = "
            f"{chain.step_size * curvature:.3g}; a quadratic confinement needs lam u'' <= 2), "
            "so the chain has no invariant law: lower step_size")


KERNEL_BYTES_PER_ENTRY = 64
"""Peak bytes per stored kernel entry: int64 row and column, float64 value, times the copies made
while concatenating and converting to CSR."""


def operator_entries(chain: _Chain, nodes: np.ndarray, n_components: int, tol: float) -> float:
    """Upper bound on the stored entries of :func:`_transition_density` on ``nodes``: each
    Gaussian component covers the nodes within z_tol s of its mean, at most 2 z_tol s / h + 1."""
    h = nodes[1] - nodes[0]
    return nodes.size * n_components * (2.0 * _z_tol(tol) * chain.kernel_width / h + 1.0)


@float64
def chain_invariant_memory(potential, sampler, n_hermite: int | None = None,
                           tol: float = 1e-12) -> float:
    """Bytes :func:`chain_invariant` needs for its transition operator on its first solve grid
    (the check it makes before allocating it), from the grid's size alone: nothing of the
    grid's size is allocated, so a step size whose operator could never fit is measured
    cheaply. Arguments as :func:`chain_invariant_with_info`."""
    chain = _validated_chain(potential, sampler)
    lo, hi, scales = _covering_range(chain, tol)
    with warnings.catch_warnings():  # the rule's own warnings belong to the computation
        warnings.simplefilter("ignore")
        z = _hermite_rule(chain, scales["curvature"], n_hermite, tol)[0]
    spacing = scales["spacing"]
    n = max(math.ceil((hi - lo) / spacing) + 1, 3)
    h = (hi - lo) / (n - 1)
    entries = n * z.size * (2.0 * _z_tol(tol) * chain.kernel_width / h + 1.0)
    return entries * KERNEL_BYTES_PER_ENTRY


def _check_operator_size(chain: _Chain, nodes: np.ndarray, n_components: int, tol: float
                         ) -> None:
    """Refuse a transition operator that would not fit in memory, before allocating it."""
    entries = operator_entries(chain, nodes, n_components, tol)
    per_row = entries / nodes.size
    check_memory(f"chain_invariant's transition operator ({nodes.size} nodes x {per_row:.3g} "
                 f"entries per row, {n_components} Gauss-Hermite nodes)",
                 entries * KERNEL_BYTES_PER_ENTRY,
                 "the spacing is set by the kernel width s / max|1 - lam u''|; lower step_size, "
                 "raise tol or pass n_hermite")


def _validated_options(grid, n_grid, n_hermite, tol) -> np.ndarray | None:
    """Check the numerical options; returns the output edges as an array (or None)."""
    if not (0.0 < tol < 1e-3):
        raise ValueError(f"tol={tol!r} is not allowed: tol must lie in (0, 1e-3)")
    if n_hermite is not None:
        check_positive_int("n_hermite", n_hermite)
        if n_hermite > MAX_HERMITE:
            raise ValueError(f"n_hermite={n_hermite} is not allowed: at most {MAX_HERMITE}")
    if n_grid is not None:
        check_positive_int("n_grid", n_grid)
        if n_grid < 2:
            raise ValueError(f"n_grid={n_grid} is not allowed: n_grid must be >= 2")
    if grid is None:
        return None
    x = np.asarray(grid, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise ValueError(f"grid of shape {x.shape} is not allowed: grid must be a 1-D, finite, "
                         "strictly increasing array of at least 2 edges")
    return x


# ---- automatic grid ---------------------------------------------------------------------------
def _sublevel_hull(chain: _Chain, beta_eff: float, cutoff: float,
                   n_scan: int = 4001) -> tuple[float, float]:
    """Hull of {x : beta_eff (u(x) - u_min) < cutoff}, one scan step wide on each side.

    The window grows from [-1, 1] until both ends lie above the cutoff, then is rescanned on the
    hull (twice) so that narrow wells at large beta are resolved.
    """
    lo, hi = -1.0, 1.0
    for _ in range(64):
        x = np.linspace(lo, hi, n_scan)
        excess = beta_eff * (chain.value(x) - np.min(chain.value(x)))
        if excess[0] > cutoff and excess[-1] > cutoff:
            break
        lo, hi = lo - (hi - lo) / 2, hi + (hi - lo) / 2
    else:
        raise ValueError(f"potential is not confining: beta (u - u_min) stays below {cutoff} "
                         f"on [{lo:.3g}, {hi:.3g}]; the chain has no invariant law")
    for _ in range(2):
        x = np.linspace(lo, hi, n_scan)
        u = chain.value(x)
        inside = np.flatnonzero(beta_eff * (u - np.min(u)) < cutoff)
        lo, hi = x[max(inside[0] - 1, 0)], x[min(inside[-1] + 1, n_scan - 1)]
    return float(lo), float(hi)


def _covering_range(chain: _Chain, tol: float) -> tuple[float, float, dict]:
    """The solve range [lo, hi] and the scales that set the grids (see chain_invariant_with_info).

    Curvature scales are taken on the Gibbs bulk, {beta (u - u_min) < 20} widened by sigma (where
    u'' is seen through eps): the far tails, where a superlinear drift makes u'' huge, carry less
    than e^-20 of the density and would otherwise set every scale.

    Returns (lo, hi, scales) with scales: ``curvature`` c = max|u''|, ``gibbs_width``
    1 / sqrt(beta c), ``spacing`` of the solve grid, ``bulk`` the hull of the Gibbs bulk.
    """
    lam, s, sigma = chain.step_size, chain.kernel_width, chain.sigma
    bulk = _sublevel_hull(chain, chain.beta, BULK_CUTOFF)
    u2 = chain.curvature(np.linspace(bulk[0] - sigma, bulk[1] + sigma, 4001))
    c = float(np.max(np.abs(u2)))
    stretch = float(np.max(np.abs(1.0 - lam * u2)))
    heat = (1.0 + 0.5 * chain.beta * lam * sigma**2 * c**2) / max(1.0 - 0.5 * lam * c, 0.1)
    lo, hi = _sublevel_hull(chain, chain.beta / heat, SOLVE_RANGE_CUTOFF)
    margin = _z_tol(tol) * (s + lam * sigma * c)
    lo, hi = lo - margin, hi + margin
    width = s / math.sqrt(1.0 + stretch**2)
    spacing = math.pi * width * math.sqrt(2.0 / math.log(2.0 / tol))
    gibbs_width = min(1.0 / math.sqrt(chain.beta * c), (hi - lo) / 20) if c > 0 else (hi - lo) / 20
    return lo, hi, {"curvature": c, "gibbs_width": gibbs_width, "spacing": spacing, "bulk": bulk}


def _solve_grid(lo: float, hi: float, spacing: float) -> np.ndarray:
    n = int(math.ceil((hi - lo) / spacing)) + 1
    return np.linspace(lo, hi, max(n, 3))


def _hermite_rule(chain: _Chain, curvature: float, n_hermite: int | None, tol: float):
    """Probabilists' Gauss–Hermite nodes z and normalised weights w for E_eps f(sigma eps).

    Returns (z, w, r) with r = lam sigma max|u''| / s. Nodes whose weight is below tol / 1000
    cannot change a density by tol and are dropped.
    """
    ratio = chain.step_size * chain.sigma * curvature / chain.kernel_width
    if chain.sigma == 0:
        return np.zeros(1), np.ones(1), 0.0
    needed = math.ceil(0.5 * math.log(1.0 / tol) * (1.0 + ratio**2))
    if n_hermite is None:
        n_hermite = min(max(needed, 8), MAX_HERMITE)
        if needed > MAX_HERMITE:
            warn_caller(f"chain_invariant: the perturbation moves the kernel by r = {ratio:.3g} "
                        f"kernel widths; {needed} Gauss–Hermite nodes would reach tol={tol:g} "
                        f"but at most {MAX_HERMITE} are used", RuntimeWarning)
    z, w = np.polynomial.hermite_e.hermegauss(n_hermite)
    w = w / w.sum()
    keep = w > 1e-3 * tol
    return z[keep], w[keep] / w[keep].sum(), float(ratio)


# ---- kernel and stationary vector -------------------------------------------------------------
def _drift_means(chain: _Chain, sources: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(n, K) kernel means x_i - lam u'(x_i + sigma z_k)."""
    return sources[:, None] - chain.step_size * chain.grad(sources[:, None] + chain.sigma * z)


def _band(centres: np.ndarray, targets: np.ndarray, reach: float):
    """Pairs (source i, target j) with |y_j - centre_i| <= reach, and the first index above.

    The kernel is narrow, so each Gaussian component is negligible (< tol of its peak) beyond
    ``reach``: the matrix is banded around the drift map x -> x - lam u'(x + sigma z_k).
    Returns (rows, cols, stop) with stop_i the first target index above row i's band.
    """
    first = np.searchsorted(targets, centres - reach, side="left")
    stop = np.searchsorted(targets, centres + reach, side="right")
    counts = stop - first
    offsets = np.concatenate([[0], np.cumsum(counts)])
    rows = np.repeat(np.arange(centres.size), counts)
    cols = first[rows] + np.arange(offsets[-1]) - offsets[rows]
    return rows, cols, stop


def _transition_density(chain: _Chain, sources: np.ndarray, targets: np.ndarray,
                        z: np.ndarray, w: np.ndarray, tol: float) -> sp.csr_matrix:
    """Sparse (n_sources, n_targets) matrix p(y_j | x_i) = sum_k w_k N(y_j; m_ik, s^2)."""
    s = chain.kernel_width
    means = _drift_means(chain, sources, z)
    parts = []
    for k in range(z.size):  # one band per Gaussian component; csr sums the duplicates
        rows, cols, _ = _band(means[:, k], targets, _z_tol(tol) * s)
        t = (targets[cols] - means[rows, k]) / s
        parts.append((rows, cols, w[k] * np.exp(-0.5 * t * t)))
    rows, cols, vals = (np.concatenate(p) for p in zip(*parts, strict=True))
    vals /= s * math.sqrt(2.0 * math.pi)
    return sp.csr_matrix((vals, (rows, cols)), shape=(sources.size, targets.size))


def _pushed_cdf(chain: _Chain, sources: np.ndarray, pi: np.ndarray, edges: np.ndarray,
                z: np.ndarray, w: np.ndarray, tol: float) -> np.ndarray:
    """cdf of pi P at the edges: F(e) = sum_i pi_i sum_k w_k Phi((e - m_ik) / s).

    For the invariant pi this is the law's exact cdf, so differences are exact cell masses.
    A component whose band lies wholly below an edge contributes pi_i w_k (Phi = 1 up to tol).
    """
    s = chain.kernel_width
    means = _drift_means(chain, sources, z)
    cdf = np.zeros(edges.size)
    for k in range(z.size):
        rows, cols, stop = _band(means[:, k], edges, _z_tol(tol) * s)
        phi = 0.5 * erfc((means[rows, k] - edges[cols]) / (s * math.sqrt(2.0)))  # Phi, faster
        cdf += w[k] * np.bincount(cols, weights=pi[rows] * phi, minlength=edges.size)
        cdf += w[k] * np.cumsum(np.bincount(stop, weights=pi, minlength=edges.size + 1))[:-1]
    return cdf


def _z_tol(tol: float) -> float:
    """Standard deviations beyond which a Gaussian density is below tol of its peak."""
    return math.sqrt(2.0 * math.log(1.0 / tol))


def _stationary_vector(kernel: sp.csr_matrix, nodes: np.ndarray, chain: _Chain):
    """Solve pi M = pi, sum pi = 1 for M = h * kernel with rows normalised to 1.

    A node whose whole kernel lands off the grid (an unstable explicit step) restarts at the
    minimum of u. The solver is GTH state reduction on the band of M (:func:`_gth_banded`), which
    stays exact for metastable chains; sparse LU is the fallback when the band is too wide.

    Returns (pi, residual |pi M - pi|_1, leak, solver name).
    """
    h = nodes[1] - nodes[0]
    rowsum = h * np.asarray(kernel.sum(axis=1)).ravel()
    pin = int(np.argmin(chain.value(nodes)))
    gone = rowsum <= 0
    m = sp.diags(h / np.where(gone, 1.0, rowsum)) @ kernel + sp.csr_matrix(
        (np.ones(gone.sum()), (np.flatnonzero(gone), np.full(gone.sum(), pin))),
        shape=kernel.shape)
    m = m.tocoo()
    lower, upper = max(0, -int(np.min(m.col - m.row))), max(0, int(np.max(m.col - m.row)))
    if nodes.size * (lower + 1) * (upper + 1) <= GTH_BUDGET:
        pi, solver = _gth_banded(m, pin, lower, upper), GTH
    else:
        pi, solver = _pinned_lu(m.tocsr(), pin), PINNED_LU
    if not (np.all(np.isfinite(pi)) and pi.sum() > 0):
        raise ValueError("the chain is too metastable for float64: GTH state reduction "
                         f"over- or underflowed; lower beta (now {chain.beta:g})")
    pi = np.clip(pi, 0.0, None) / np.sum(np.clip(pi, 0.0, None))
    residual = float(np.abs(m.T @ pi - pi).sum())
    leak = float(pi @ (1.0 - rowsum))
    return pi, residual, leak, solver


def _gth_banded(m: sp.coo_matrix, pin: int, lower: int, upper: int) -> np.ndarray:
    """Stationary vector of a stochastic matrix with ``lower`` / ``upper`` off-diagonals, by GTH.

    Grassmann–Taksar–Heyman state reduction: eliminating state k censors the chain to the
    remaining states R, P_R <- P_R + P_{R,k} P_{k,R} / S_k with S_k = sum_{j in R} P_kj computed
    as a sum (never as 1 - P_kk), so no subtraction occurs and every stationary component keeps
    its relative accuracy however rare the transitions between wells. States are eliminated from
    both ends towards ``pin``; the fill stays inside the band. Back substitution re-adds them:
    pi_k = sum_{i in R_k} pi_i P_ik / S_k.

    References:
      Grassmann, Taksar, Heyman, "Regenerative analysis and steady state distributions for Markov
      chains", Operations Research 33 (1985).
    """
    n = m.shape[0]
    band = np.zeros((n, lower + upper + 1))  # band[i, lower + d] = P[i, i + d]
    band[m.row, m.col - m.row + lower] = m.data

    def reduce(k: int, remaining_row: np.ndarray, remaining_col: np.ndarray) -> None:
        row = band[k, remaining_row - k + lower]
        col = band[remaining_col, k - remaining_col + lower] / np.sum(row)
        band[remaining_col, k - remaining_col + lower] = col
        diag = remaining_row[None, :] - remaining_col[:, None] + lower
        band[remaining_col[:, None], diag] += col[:, None] * row[None, :]

    for k in range(n - 1, pin, -1):  # right end down to pin: R = [0, k)
        reduce(k, np.arange(max(0, k - lower), k), np.arange(max(0, k - upper), k))
    for k in range(pin):  # left end up to pin: R = (k, pin]
        reduce(k, np.arange(k + 1, min(pin, k + upper) + 1),
               np.arange(k + 1, min(pin, k + lower) + 1))

    pi = np.zeros(n)
    pi[pin] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(pin - 1, -1, -1):
            i = np.arange(k + 1, min(pin, k + lower) + 1)
            pi[k] = pi[i] @ band[i, k - i + lower]
        for k in range(pin + 1, n):
            i = np.arange(max(0, k - upper), k)
            pi[k] = pi[i] @ band[i, k - i + lower]
    return pi


def _pinned_lu(m: sp.csr_matrix, pin: int) -> np.ndarray:
    """pi with pi_pin = 1 from the other n - 1 equations of (M^T - I) pi = 0, by sparse LU."""
    keep = np.flatnonzero(np.arange(m.shape[0]) != pin)
    a = (m.T - sp.identity(m.shape[0], format="csr")).tocsc()
    pi = np.empty(m.shape[0])
    pi[pin] = 1.0
    pi[keep] = spla.spsolve(a[keep][:, keep].tocsc(), -a[keep][:, [pin]].toarray().ravel())
    return pi


def _edge_mass(pi: np.ndarray, nodes: np.ndarray, width: float) -> tuple[float, float]:
    """Invariant mass within one kernel width of the lower and of the upper end of the grid."""
    k = max(1, int(math.ceil(width / (nodes[1] - nodes[0]))))
    return float(pi[:k].sum()), float(pi[-k:].sum())

"""Wasserstein distances W_1 and W_2 between measures and particle clouds, exact where possible.

    W_p(mu, nu) = (inf over couplings pi of E_pi |X - Y|^p)^(1/p),   p in {1, 2}.

Which algorithm runs depends on what is compared (fsgld.md §3 and §4):

| a, b                               | algorithm              | exact for                    |
|------------------------------------|------------------------|------------------------------|
| 1-D: Measure1D and/or particles    | ``quantile-1d``        | the representations, any N   |
| product vs product, p = 2          | ``product-marginals``  | sum_i W_2^2(marginals)       |
| rotation-invariant vs same         | ``radial-quantile``    | W_p of the radial laws       |
| clouds in d > 1, N M <= guard      | ``emd`` (POT)          | the clouds                   |
| clouds, method="sliced" or "auto"  | ``sliced-quantile``    | another distance, SW_p       |
| other measures in d > 1            | draw ``n_samples``, as clouds | none: adds the floor  |

Particle estimates have a floor (about N^(-1/2) in 1-D, worse for sample-vs-sample in higher d):
report :func:`particle_noise_floor` beside every particle-based distance. Report W_1 and W_2
together: for multimodal measures a mass mismatch m between wells at distance L gives
W_1 ~ L m but W_2 ~ L sqrt(m) (fsgld.md §4).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import numpy as np
from scipy.spatial.distance import cdist

from .._precision import float64
from .._validation import check_choice, check_positive_int
from .._warnings import warn_caller, warn_if_slow
from ._inputs import as_particles, check_order
from .quantile1d import QuantileFunction, measure_quantile, particle_quantile, wasserstein_power_1d
from .sliced import DEFAULT_N_PROJECTIONS, sliced_powers

WASSERSTEIN_METHODS = ("exact", "sliced", "auto")
"""The allowed values of :func:`wasserstein`'s ``method`` (how the distance is computed)."""
GROUND_COSTS = ("euclidean", "l1")
MAX_COST_ENTRIES = 25_000_000  # N M for exact OT: 200 MB of float64 cost, ~10 s at N = M = 5000
"""Default ``max_cost_entries``: the largest N M for exact OT between two clouds."""
DEFAULT_N_SAMPLES = 2000
EMD_SECONDS_PER_ENTRY = 6e-8
"""Seconds of POT's network simplex per cost entry and unit of log N (measured 5.5e-8 x N M log N
for N = M = 1000 to 3000 on this project's 2-core machine: 11 s at N = M = 5000)."""
_EMD_MAX_ITERATIONS = 1_000_000_000  # POT's default (1e5) stops short for N of a few thousand


class WassersteinInfo(NamedTuple):
    """A distance and how it was obtained.

    Attributes:
      value: the distance (W_p, or SW_p when ``method == "sliced"``).
      p: order.
      method: "exact" (W_p of the inputs as given or as sampled) or "sliced" (SW_p).
      algorithm: "quantile-1d", "product-marginals", "emd" or "sliced-quantile".
      sampled: which inputs ("a", "b") were replaced by ``n_samples`` draws of the measure.
      n_samples: the number of draws per sampled input, else None.
      note: caveats in words (sampling floor, sliced vs W_p, guard fallback).
    """

    value: float
    p: int
    method: str
    algorithm: str
    sampled: tuple[str, ...] = ()
    n_samples: int | None = None
    note: str = ""


class _Side(NamedTuple):
    """One argument, read once: whichever exact representations it offers."""

    name: str
    dim: int
    label: str
    quantile: QuantileFunction | None = None  # exact 1-D quantile function
    marginals: tuple | None = None  # product of 1-D marginals, d > 1
    cloud: np.ndarray | None = None  # (N, d) particles
    measure: object | None = None  # something with sample(key, n)
    radial: QuantileFunction | None = None  # radial law of a rotation-invariant measure, d > 1


def wasserstein(a, b, p: int = 2, **options) -> float:
    """W_p(a, b) as a float; see :func:`wasserstein_with_info` for arguments and options."""
    return wasserstein_with_info(a, b, p, **options).value


@float64
def wasserstein_with_info(
    a,
    b,
    p: int = 2,
    *,
    method: str = "exact",
    ground_cost: str = "euclidean",
    key=None,
    n_samples: int = DEFAULT_N_SAMPLES,
    n_projections: int = DEFAULT_N_PROJECTIONS,
    max_cost_entries: int = MAX_COST_ENTRIES,
) -> WassersteinInfo:
    """W_p between measures and/or particle clouds, with the algorithm that produced it.

    1-D: W_p^p = int_0^1 |Q_a(q) - Q_b(q)|^p dq, integrated exactly on the merged breakpoints
    of the piecewise-linear quantile functions (:mod:`sgldsim.distances.quantile1d`).
    Products (p = 2): W_2^2 = sum_i W_2^2(a_i, b_i) over the marginals (fsgld.md §3, Separable).
    Clouds in d > 1: exact OT, min over couplings of sum_ij pi_ij |x_i - y_j|^p with uniform
    weights (POT's network simplex), then the p-th root.

    Args:
      a, b: a Measure1D, a ProductMeasure (``marginals``), a SampleMeasure (``samples``), any
        measure with ``dim`` and ``sample(key, n)``, or particles of shape (N, d) or (N,).
      p: order, 1 or 2.
      method: "exact" (W_p; ValueError above the size guard), "sliced" (the sliced distance
        SW_p, smaller than W_p and not comparable to it) or "auto" (exact when affordable, else
        sliced with a warning).
      ground_cost: "euclidean", or "l1" (p = 1 only): W_1 for the cost |x - y|_1, which for
        products is sum_i W_1(a_i, b_i) and upper-bounds the Euclidean W_1.
      key: JAX PRNG key for sampling measures and sliced directions; ``jax.random.key(0)``
        when None.
      n_samples: draws per measure when a measure has to be sampled (d > 1 without a product
        pair, or a 1-D measure with no quantile function).
      n_projections: directions for the sliced distance.
      max_cost_entries: largest N M for exact OT between clouds.

    Returns:
      :class:`WassersteinInfo`.

    Raises:
      ValueError: for p not in {1, 2}, an unknown method or ground cost, inputs in different
        dimensions, empty or non-finite particles, W_1 of products in d > 1 with the Euclidean
        cost, or clouds above the size guard with method="exact".
    """
    p = check_order(p)
    check_choice("method", method, WASSERSTEIN_METHODS)
    check_choice("ground_cost", ground_cost, GROUND_COSTS)
    check_positive_int("n_samples", n_samples)
    check_positive_int("max_cost_entries", max_cost_entries)
    if ground_cost == "l1" and p != 1:
        raise ValueError(f"ground_cost='l1' is offered for p=1 only, got p={p}")
    sa, sb = _read_side("a", a), _read_side("b", b)
    if sa.dim != sb.dim:
        raise ValueError(
            f"a is {sa.label} in d={sa.dim} and b is {sb.label} in d={sb.dim}: "
            f"both must live in the same dimension"
        )
    if sa.radial is not None and sb.radial is not None and ground_cost == "euclidean":
        # |x - y| >= ||x| - |y|| and the shared-direction coupling attains it (theory.md §10)
        return WassersteinInfo(wasserstein_power_1d(sa.radial, sb.radial, p) ** (1.0 / p), p,
                               "exact", "radial-quantile")
    if sa.dim == 1:
        return _one_dimensional(sa, sb, p, method, key, n_samples)
    if sa.marginals is not None and sb.marginals is not None and method != "sliced":
        return _product(sa, sb, p, ground_cost)
    xa, xb, sampled = _clouds(sa, sb, key, n_samples)
    info = _cloud_distance(xa, xb, p, method, ground_cost, _subkey(key, 2), n_projections,
                           max_cost_entries)
    if not sampled:
        return info
    floor = "sample-vs-sample" if len(sampled) == 2 else "sample-vs-particles"
    return info._replace(
        sampled=sampled, n_samples=n_samples,
        note=_join(info.note, f"{', '.join(sampled)} replaced by {n_samples} draws: the value "
                              f"includes the {floor} floor (see particle_noise_floor)"),
    )


@float64
def particle_noise_floor(measure, n_particles: int, p: int = 2, *, key=None, n_repeats: int = 10,
                         **options) -> tuple[float, float]:
    """Mean and standard deviation of W_p between n iid particles of a measure and the measure.

    In 1-D the particles are compared with the measure itself (exact quantile path; about
    N^(-1/2), times sqrt(log log N) for W_2 with Gaussian tails). In d > 1 there is no exact
    particles-vs-measure path, so two independent clouds of ``n_particles`` are compared
    instead: a larger floor, for smooth densities about sqrt(log N / N) in d = 2 and N^(-1/d)
    in d >= 3 (Fournier & Guillin 2015). Report it beside every particle-based distance
    (fsgld.md §4).

    Args:
      measure: a measure with ``dim`` and ``sample(key, n) -> (n, d)``.
      n_particles: particles per cloud.
      p: order, 1 or 2.
      key: JAX PRNG key; ``jax.random.key(0)`` when None.
      n_repeats: independent repetitions (>= 2 for a standard deviation).
      **options: passed to :func:`wasserstein` (e.g. ``method``, ``n_projections``).

    Returns:
      (mean, std) over the repeats; std uses ddof = 1 and is 0 for a single repeat.
    """
    check_order(p)
    check_positive_int("n_particles", n_particles)
    check_positive_int("n_repeats", n_repeats)
    if not hasattr(measure, "sample"):
        raise ValueError(
            f"particle_noise_floor needs a measure with sample(key, n), "
            f"got {type(measure).__name__}"
        )
    against_measure = _read_side("measure", measure).quantile is not None
    key = jax.random.key(0) if key is None else key
    values = []
    for k in jax.random.split(key, n_repeats):
        k_first, k_second = jax.random.split(k)
        first = measure.sample(k_first, n_particles)
        other = measure if against_measure else measure.sample(k_second, n_particles)
        values.append(wasserstein(first, other, p, **options))
    values = np.asarray(values)
    return float(values.mean()), float(values.std(ddof=1)) if n_repeats > 1 else 0.0


# ---- reading the arguments ---------------------------------------------------------------------
def _read_side(name: str, x) -> _Side:
    """Classify an argument by duck typing (sgldsim.measures is not imported): any object with
    ``dim`` and ``sample(key, n)`` (the ``sgldsim.Measure`` protocol) is a measure; ``edges``
    and ``cumulative``, ``radial_law``, ``samples`` or ``marginals`` select an exact method."""
    if hasattr(x, "cumulative") and hasattr(x, "edges") and getattr(x, "dim", 1) == 1:
        return _Side(name, 1, type(x).__name__, quantile=measure_quantile(x), measure=x)
    if hasattr(x, "radial_law"):
        return _Side(name, int(x.dim), type(x).__name__, measure=x,
                     radial=measure_quantile(x.radial_law))
    if hasattr(x, "samples"):
        cloud = as_particles(f"{name}.samples", x.samples)
        return _cloud_side(name, cloud, f"{type(x).__name__} of {cloud.shape[0]} samples")
    if hasattr(x, "marginals"):
        marginals = _marginals(name, x)
        if len(marginals) == 1:
            return _Side(name, 1, type(x).__name__, quantile=measure_quantile(marginals[0]),
                         measure=x)
        return _Side(name, len(marginals), type(x).__name__, marginals=marginals, measure=x)
    if hasattr(x, "sample") and hasattr(x, "dim"):
        return _Side(name, int(x.dim), type(x).__name__, measure=x)
    cloud = as_particles(name, x)
    return _cloud_side(name, cloud, f"particles of shape {np.shape(x)}")


def _cloud_side(name: str, cloud: np.ndarray, label: str) -> _Side:
    quantile = particle_quantile(cloud[:, 0]) if cloud.shape[1] == 1 else None
    return _Side(name, cloud.shape[1], label, quantile=quantile, cloud=cloud)


def _marginals(name: str, x) -> tuple:
    """The d marginals of a product: a list of d, or one marginal repeated to ``x.dim``."""
    given = x.marginals
    marginals = (given,) if hasattr(given, "cumulative") else tuple(given)
    dim = int(getattr(x, "dim", len(marginals)))
    if len(marginals) == 1:
        marginals = marginals * dim
    if len(marginals) != dim:
        raise ValueError(f"{name} has dim={dim} but {len(marginals)} marginals: need 1 or {dim}")
    return marginals


def _subkey(key, i: int):
    """Independent key number i (0: draws of a, 1: draws of b, 2: sliced directions)."""
    return jax.random.fold_in(jax.random.key(0) if key is None else key, i)


def _draw(side: _Side, key, n: int) -> np.ndarray:
    """n draws of the side's measure, with the subkey reserved for that side."""
    sample = side.measure.sample(_subkey(key, 0 if side.name == "a" else 1), n)
    return as_particles(f"{side.name} (sampled)", sample)


# ---- the algorithms ----------------------------------------------------------------------------
def _one_dimensional(sa: _Side, sb: _Side, p: int, method: str, key, n_samples: int):
    quantiles, sampled = [], []
    for side in (sa, sb):
        if side.quantile is None:  # a 1-D measure known only through sample()
            sampled.append(side.name)
            quantiles.append(particle_quantile(_draw(side, key, n_samples)[:, 0]))
        else:
            quantiles.append(side.quantile)
    value = wasserstein_power_1d(*quantiles, p) ** (1.0 / p)
    note = "in 1-D the sliced distance equals W_p (directions +-1)" if method == "sliced" else ""
    if sampled:
        note = _join(note, f"{', '.join(sampled)} replaced by {n_samples} draws")
    return WassersteinInfo(value, p, "exact", "quantile-1d", tuple(sampled),
                           n_samples if sampled else None, note)


def _product(sa: _Side, sb: _Side, p: int, ground_cost: str) -> WassersteinInfo:
    if p == 1 and ground_cost != "l1":
        raise ValueError(
            f"W_1 between product measures in d={sa.dim} has no coordinate-wise formula (the "
            f"Euclidean cost is not separable). Use p=2 (W_2^2 = sum of marginal W_2^2), "
            f"ground_cost='l1' (W_1 for the l1 cost = sum of marginal W_1, an upper bound), or "
            f"compare particle clouds drawn with sample()"
        )
    cache = {}  # a repeated marginal pair is transported once
    for ma, mb in zip(sa.marginals, sb.marginals, strict=True):
        pair = (id(ma), id(mb))
        if pair not in cache:
            cache[pair] = wasserstein_power_1d(measure_quantile(ma), measure_quantile(mb), p)
    total = sum(cache[(id(ma), id(mb))] for ma, mb in zip(sa.marginals, sb.marginals, strict=True))
    return WassersteinInfo(total ** (1.0 / p), p, "exact", "product-marginals")


def _clouds(sa: _Side, sb: _Side, key, n_samples: int):
    clouds, sampled = [], []
    for side in (sa, sb):
        if side.cloud is None:
            sampled.append(side.name)
            clouds.append(_draw(side, key, n_samples))
        else:
            clouds.append(side.cloud)
    return clouds[0], clouds[1], tuple(sampled)


def _cloud_distance(xa, xb, p, method, ground_cost, key, n_projections, max_cost_entries):
    entries = xa.shape[0] * xb.shape[0]
    too_big = entries > max_cost_entries
    if method == "exact" and too_big:
        raise ValueError(
            f"exact OT between clouds of shapes {xa.shape} and {xb.shape} needs a "
            f"{xa.shape[0]} x {xb.shape[0]} = {entries:.3g}-entry cost matrix, above "
            f"max_cost_entries={max_cost_entries:.3g} ({8 * entries / 1e9:.2g} GB, and the "
            f"network simplex grows faster than N M). Use method='sliced' (the sliced distance "
            f"SW_p: smaller than W_p, not comparable to it), method='auto', subsample the "
            f"clouds, or raise max_cost_entries"
        )
    if method == "exact" or (method == "auto" and not too_big):
        n = max(xa.shape[0], xb.shape[0])
        warn_if_slow(EMD_SECONDS_PER_ENTRY * entries * math.log(max(n, 2)),
                     f"exact OT between clouds of {xa.shape[0]} and {xb.shape[0]} particles",
                     "the network simplex grows faster than N M: subsample the clouds or use "
                     "method='sliced'")
        return WassersteinInfo(_emd_power(xa, xb, p, ground_cost) ** (1.0 / p), p, "exact", "emd")
    if ground_cost == "l1":
        raise ValueError("ground_cost='l1' has no sliced version; use method='exact'")
    note = "sliced distance SW_p: smaller than W_p and not comparable to it"
    if method == "auto":
        note = f"{entries:.3g} cost entries > max_cost_entries={max_cost_entries:.3g}: {note}"
        warn_caller(f"wasserstein(method='auto'): {note}")
    powers = sliced_powers(xa, xb, p, n_projections, key)
    return WassersteinInfo(float(np.mean(powers)) ** (1.0 / p), p, "sliced", "sliced-quantile",
                           note=note)


def _emd_power(xa, xb, p: int, ground_cost: str) -> float:
    """min over couplings of sum_ij pi_ij c(x_i, y_j) with uniform weights (POT network simplex)."""
    import ot  # imported here: POT takes seconds to import and only clouds in d > 1 need it

    metric = "cityblock" if ground_cost == "l1" else ("sqeuclidean" if p == 2 else "euclidean")
    cost = cdist(xa, xb, metric=metric)
    weights_a = np.full(xa.shape[0], 1.0 / xa.shape[0])
    weights_b = np.full(xb.shape[0], 1.0 / xb.shape[0])
    value, log = ot.emd2(weights_a, weights_b, cost, numItermax=_EMD_MAX_ITERATIONS, log=True)
    if log["warning"] is not None:
        raise RuntimeError(f"POT's network simplex did not converge: {log['warning']}")
    return max(float(value), 0.0)


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)

"""Exact one-dimensional optimal transport through piecewise-linear quantile functions.

In 1-D the monotone coupling is optimal for every convex cost, so (fsgld.md §3, "1-D Wasserstein")

    W_p^p(mu, nu) = int_0^1 |Q_mu(q) - Q_nu(q)|^p dq.

Both 1-D objects of this package have quantile functions that are linear in q between
breakpoints: a :class:`~sgldsim.measures.grid1d.Measure1D` (uniform density on each cell, so Q is
linear on each cell's cdf interval [F(e_i), F(e_{i+1})]) and the empirical measure of N particles
(Q = x_(i), constant, on ((i-1)/N, i/N]: linear with zero slope). On each interval I of the union
of the two breakpoint sets, D = Q_mu - Q_nu is linear with end values D0, D1, and

    p = 2:  int_I D^2  = |I| (D0^2 + D0 D1 + D1^2) / 3,
    p = 1:  int_I |D|  = |I| (|D0| + |D1|) / 2                     if D0 D1 >= 0,
                       = |I| (D0^2 + D1^2) / (2 (|D0| + |D1|))    otherwise (split at the root).

No quadrature grid and no sampling: the value is exact for the representation, so the only
error left is the grid's (O(h^2) for a smooth density) and, for particles, the particles' own.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class QuantileFunction(NamedTuple):
    """A quantile function that is linear in q on each piece [levels_k, levels_{k+1}]:

        Q(q) = start_k + (end_k - start_k) (q - levels_k) / (levels_{k+1} - levels_k).

    Trailing axes of ``start``/``end`` are a batch (e.g. one column per projection direction)
    sharing the same levels.

    Attributes:
      levels: (K + 1,) strictly increasing, from 0 to 1.
      start: (K, *batch) values of Q at the left end of each piece.
      end: (K, *batch) values of Q at the right end of each piece.
    """

    levels: np.ndarray
    start: np.ndarray
    end: np.ndarray


def measure_quantile(measure) -> QuantileFunction:
    """Quantile function of a piecewise-uniform 1-D measure (duck-typed ``edges``, ``cumulative``).

    Cells whose cdf increment is zero carry no quantile levels (Q jumps across them), so the
    generalised inverse is exact also for interior zero-mass cells and underflowed tails.
    """
    edges = np.asarray(measure.edges, dtype=float)
    cum = np.minimum(np.asarray(measure.cumulative, dtype=float), 1.0)  # rounding can overshoot
    keep = np.diff(cum) > 0
    levels = np.concatenate([[0.0], cum[1:][keep]])
    levels[-1] = 1.0  # the masses sum to one up to rounding; pin the end exactly
    return QuantileFunction(levels, edges[:-1][keep], edges[1:][keep])


def particle_quantile(x) -> QuantileFunction:
    """Quantile function of the empirical measure of N particles: Q = x_(i) on ((i-1)/N, i/N].

    Args:
      x: (N, *batch) particle positions; each batch column is its own empirical measure.
    """
    ordered = np.sort(np.asarray(x, dtype=float), axis=0)
    levels = np.arange(ordered.shape[0] + 1, dtype=float) / ordered.shape[0]
    return QuantileFunction(levels, ordered, ordered)


def wasserstein_power_1d(qa: QuantileFunction, qb: QuantileFunction, p: int):
    """W_p^p between two 1-D measures given by their quantile functions, integrated exactly.

    Args:
      qa, qb: quantile functions; their batch shapes must broadcast.
      p: order, 1 or 2.

    Returns:
      W_p^p, a float, or an array of the batch shape.
    """
    cuts = np.union1d(qa.levels, qb.levels)
    lo, hi = cuts[:-1], cuts[1:]
    a_lo, a_hi = _ends_on_intervals(qa, lo, hi)
    b_lo, b_hi = _ends_on_intervals(qb, lo, hi)
    pieces = _linear_power_integral(a_lo - b_lo, a_hi - b_hi, hi - lo, p)
    total = np.sum(pieces, axis=0)
    return float(total) if np.ndim(total) == 0 else total


def _ends_on_intervals(qf: QuantileFunction, lo, hi):
    """Q(lo+) and Q(hi-) for intervals [lo, hi] each lying inside one piece of ``qf``."""
    last = qf.levels.shape[0] - 2
    k = np.clip(np.searchsorted(qf.levels, 0.5 * (lo + hi), side="right") - 1, 0, last)
    left, width = qf.levels[k], qf.levels[k + 1] - qf.levels[k]
    batch = (slice(None),) + (None,) * (qf.start.ndim - 1)
    t_lo, t_hi = ((lo - left) / width)[batch], ((hi - left) / width)[batch]
    start, slope = qf.start[k], qf.end[k] - qf.start[k]
    return start + slope * t_lo, start + slope * t_hi


def _linear_power_integral(d0, d1, length, p: int):
    """int over an interval of length L of |D|^p, D linear from d0 to d1 (closed forms above)."""
    length = length.reshape(length.shape + (1,) * (np.ndim(d0) - 1))
    if p == 2:
        return length * (d0 * d0 + d0 * d1 + d1 * d1) / 3.0
    a0, a1 = np.abs(d0), np.abs(d1)
    total = a0 + a1
    crossing = np.divide(d0 * d0 + d1 * d1, 2.0 * total, out=np.zeros_like(total), where=total > 0)
    return length * np.where(d0 * d1 >= 0, 0.5 * total, crossing)

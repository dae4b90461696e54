"""Argument checks shared by the distance functions: each names the bad value and what is allowed.
"""

from __future__ import annotations

import numpy as np

ORDERS = (1, 2)


def check_order(p) -> int:
    """Return the Wasserstein order ``p`` as an int; ValueError unless it is 1 or 2."""
    if isinstance(p, bool) or p not in ORDERS:
        raise ValueError(f"p={p!r} is not allowed: the Wasserstein order p must be 1 or 2")
    return int(p)


def as_particles(name: str, x) -> np.ndarray:
    """A particle array as float64 of shape (N, d); (N,) is read as N points in 1-D.

    Raises ValueError naming the shape (or the offending rows) for arrays that are not
    (N, d) / (N,), are empty, or hold non-finite coordinates.
    """
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} of type {type(x).__name__} is neither a measure (Measure1D, ProductMeasure, "
            f"GridMeasure2D, SampleMeasure) nor a particle array of shape (N, d)"
        ) from err
    shape = arr.shape
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} has shape {shape}: particles must have shape (N, d) or (N,)")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} has shape {shape}: need at least one particle in at least 1-D")
    bad_rows = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))
    if bad_rows.size:
        i = bad_rows[0]
        raise ValueError(
            f"{name} (shape {shape}) has {bad_rows.size} particle(s) with non-finite "
            f"coordinates, e.g. row {i} = {arr[i]}: particles must be finite"
        )
    return arr

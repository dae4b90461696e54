"""Cells: the points of an experiment's grid, each with a stable id and its own PRNG key.

A cell's id hashes its full parameter dict (fixed and swept values), so it does not depend on
the grid's order or size; its key is 64 bits of SHA-256 over (seed, id), used as a raw JAX
threefry key. Results therefore depend on neither chunking nor resuming, and keys are the same
on every platform and JAX version.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import ExperimentConfig


@dataclass(frozen=True, eq=False)
class Cell:
    """One grid point.

    Attributes:
      id: 16 hex digits, a hash of ``params``.
      index: position in grid order (the first grid key varies slowest).
      params: every parameter's value in this cell: the fixed ones and this grid point.
      grid_values: the swept parameters' values only (these become results columns).
      key: raw JAX PRNG key, ``uint32[2]``, derived from (seed, id).
    """

    id: str
    index: int
    params: dict[str, Any]
    grid_values: dict[str, Any]
    key: np.ndarray


def cell_id(params: dict[str, Any]) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of ``params``."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def cell_key(seed: int, cell_id: str) -> np.ndarray:
    """Raw JAX PRNG key ``uint32[2]``: the first 8 bytes of SHA-256 over ``"<seed>/<cell_id>"``."""
    digest = hashlib.sha256(f"{seed}/{cell_id}".encode()).digest()
    return np.frombuffer(digest[:8], dtype=">u4").astype(np.uint32)


def expand_grid(config: ExperimentConfig) -> list[Cell]:
    """The Cartesian product of ``config.grid`` (one cell if the grid is empty), in grid order."""
    names = list(config.grid)
    points = [dict(zip(names, values, strict=True))
              for values in itertools.product(*config.grid.values())]
    all_params = [{**config.params, **point} for point in points]
    ids = [cell_id(p) for p in all_params]
    return [Cell(id=i, index=n, params=p, grid_values=point, key=cell_key(config.seed, i))
            for n, (i, p, point) in enumerate(zip(ids, all_params, points, strict=True))]

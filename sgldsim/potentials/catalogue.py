"""Named landscapes the theory experiments share (a configuration value -> a potential).

A name outside the catalogue raises ``ValueError`` naming the allowed ones."""

from __future__ import annotations

import numpy as np

from .._validation import check_finite, check_positive_int
from .base import Potential
from .gaussian_wells import GaussianWells
from .polynomial import sharp_flat_double_well
from .separable import Separable

FLAT_BASIN = {"sharp-flat-double-well": (0.0, float("inf")),
              "gaussian-wells": (0.0, float("inf"))}
"""The flat minimum's basin (lo, hi) for each landscape."""


def landscape(name: str, depth_gap: float = 0.0) -> Potential:
    """``sharp-flat-double-well`` (sharp minimum at -1, flat at +1, curvature ratio 10) or
    ``gaussian-wells`` (a narrow well at -2 and a wide one at +2 in a weak quadratic);
    ``depth_gap`` (finite) deepens the sharp well."""
    check_finite("depth_gap", depth_gap)
    if name == "sharp-flat-double-well":
        return sharp_flat_double_well(depth_gap=depth_gap)
    if name == "gaussian-wells":
        return GaussianWells(centers=[[-2.0], [2.0]], depths=[1.0 + depth_gap, 1.0],
                             widths=[0.25, 1.0], confinement=0.05)
    raise ValueError(f"potential={name!r} is not allowed; allowed: "
                      f"{', '.join(repr(k) for k in FLAT_BASIN)}")


EMBEDDED_WELLS = "embedded-wells"
"""The non-separable d-dimensional landscape of :func:`landscape_nd`."""


def landscape_nd(name: str, dim: int) -> Potential:
    """A d-dimensional landscape: the separable product u(x) = sum_i u1(x_i) of a 1-D
    :func:`landscape` (every measure a product, W2 exact in any d, docs/theory.md §5), or
    ``embedded-wells``, which is not separable:

        u(x) = |x|^2 / 2 - exp(-|x + c e_1|^2 / (2 * 0.25^2)) - exp(-|x - c e_1|^2 / (2 * 0.75^2)),

    c = 0.75: a sharp and a flat isotropic well of equal amplitude on the x_1 axis, overlapping
    so that the barrier between them stays low (about 0.2: reference MALA chains cross it at
    moderate beta). Lipschitz gradient and dissipative (docs/theory.md §4, assumptions).
    ``dim`` is a positive int."""
    check_positive_int("dim", dim)
    if name == EMBEDDED_WELLS:
        centers = np.zeros((2, dim))
        centers[:, 0] = (-0.75, 0.75)
        return GaussianWells(centers=centers, depths=[1.0, 1.0], widths=[0.25, 0.75],
                             confinement=1.0)
    if name not in FLAT_BASIN:
        raise ValueError(f"potential={name!r} is not allowed; allowed: "
                          f"{', '.join(repr(k) for k in (*FLAT_BASIN, EMBEDDED_WELLS))}")
    base = landscape(name)
    return base if dim == 1 else Separable(base, dim)

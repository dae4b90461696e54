"""What every measure offers, and what every Gibbs constructor shares (docs/theory.md §2).

:class:`Measure` is the interface the rest of the package relies on. The distances
(:func:`sgldsim.wasserstein`, :func:`sgldsim.ksd`, the noise floors) and the experiments read a
measure's dimension and draw from it; everything else they use is specific to a representation
and found by duck typing: ``edges``/``cumulative`` (the exact quantile function of a 1-D
measure), ``marginals`` (products), ``radial_law`` (rotation-invariant measures), ``samples``
(reference samples) and ``score`` (grad log pi, for KSD, where the potential is known).

:data:`GIBBS_CUTOFF` is the tail level shared by every Gibbs constructor (``gibbs_1d``,
``gibbs_2d``, ``radial_gibbs``, and the confinement check of ``mala_samples``): grids cover where
the density exceeds e^-cutoff times its maximum, the sublevel set {beta (u - u_min) < cutoff}
(for the radial law, {l(r) > max l - cutoff}), so the neglected density ratio is e^-cutoff.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .._validation import check_positive

GIBBS_CUTOFF = 60.0  # grids cover beta (u - u_min) < 60: neglected density ratio e^-60 ~ 1e-26
"""Default ``cutoff`` of the Gibbs grids: they cover beta (u - u_min) < GIBBS_CUTOFF."""


@runtime_checkable
class Measure(Protocol):
    """A probability measure on R^d, as the distances and experiments use it.

    Attributes:
      dim: d.

    Every class in :mod:`sgldsim.measures` (``Measure1D``, ``ProductMeasure``,
    ``GridMeasure2D``, ``RadialMeasure``, ``SampleMeasure``) satisfies it.
    """

    dim: int

    def sample(self, key, n: int) -> np.ndarray:
        """n draws, (n, d), from the PRNG key ``key``."""
        ...


def checked_beta(beta) -> float:
    """beta as a float; ValueError unless it is a positive finite scalar."""
    if np.ndim(beta) != 0:
        raise ValueError(f"beta has shape {np.shape(beta)}; allowed: a positive finite scalar")
    check_positive("beta", beta)
    return float(beta)

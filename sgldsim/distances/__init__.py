"""Distances between measures and particle clouds (fsgld.md §3-§4).

Wasserstein W_1 and W_2: exact in 1-D (quantile functions), exact for product measures (p = 2),
exact optimal transport for particle clouds up to a size guard, sliced above it.
"""

from .quantile1d import QuantileFunction, measure_quantile, particle_quantile, wasserstein_power_1d
from .radial import radial_noise_floor, radial_wasserstein
from .sliced import random_directions, sliced_wasserstein
from .stein import (
    KSDDifference,
    KSDInfo,
    gibbs_score,
    ksd,
    ksd_difference,
    ksd_noise_floor,
    ksd_with_info,
)
from .wasserstein import (
    MAX_COST_ENTRIES,
    WassersteinInfo,
    particle_noise_floor,
    wasserstein,
    wasserstein_with_info,
)

__all__ = [
    "KSDDifference",
    "KSDInfo",
    "gibbs_score",
    "ksd",
    "ksd_difference",
    "ksd_noise_floor",
    "ksd_with_info",
    "radial_noise_floor",
    "radial_wasserstein",
    "MAX_COST_ENTRIES",
    "QuantileFunction",
    "WassersteinInfo",
    "measure_quantile",
    "particle_noise_floor",
    "particle_quantile",
    "random_directions",
    "sliced_wasserstein",
    "wasserstein",
    "wasserstein_power_1d",
    "wasserstein_with_info",
]

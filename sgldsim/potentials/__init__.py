"""Synthetic potentials u: R^d -> R with value, gradient, Laplacian and their smoothed and
Hessian-trace-regularised versions (docs/theory.md §2, §5)."""

from .base import HessianTraceRegularized, Potential
from .gaussian_wells import GaussianWells
from .polynomial import Polynomial1D, sharp_flat_double_well
from .quadratic import Quadratic
from .radial import RadialPotential, RadialRegularized, RadialSmoothed, RadialWells
from .separable import Separable
from .smoothing import GaussianAveraged, numerically_smoothed
from .stochastic import AdditiveGradientNoise, EmpiricalRisk

__all__ = [
    "RadialPotential",
    "RadialRegularized",
    "RadialSmoothed",
    "RadialWells",
    "AdditiveGradientNoise",
    "EmpiricalRisk",
    "GaussianAveraged",
    "GaussianWells",
    "HessianTraceRegularized",
    "Polynomial1D",
    "Potential",
    "Quadratic",
    "Separable",
    "numerically_smoothed",
    "sharp_flat_double_well",
]

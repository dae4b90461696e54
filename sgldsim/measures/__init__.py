"""Exact and reference measures: piecewise-uniform 1-D measures and the Gibbs measures of the
paper (docs/theory.md §2): pi_beta, pi^f and pi* by quadrature, products, 2-D grids or MALA."""

from .chain import ChainInfo, chain_invariant, chain_invariant_with_info
from .gibbs import (
    GIBBS_CUTOFF,
    MALA,
    Gibbs,
    GridMeasure2D,
    MALADiagnostics,
    MALAInfo,
    MALAState,
    ProductMeasure,
    SampleMeasure,
    effective_sample_size,
    gibbs_1d,
    gibbs_2d,
    mala,
    mala_samples,
    paper_measures,
    split_r_hat,
)
from .grid1d import Measure1D
from .radial import RadialMeasure, radial_gibbs

__all__ = [
    "RadialMeasure",
    "radial_gibbs",
    "ChainInfo",
    "chain_invariant",
    "chain_invariant_with_info",
    "GIBBS_CUTOFF",
    "MALA",
    "Gibbs",
    "GridMeasure2D",
    "MALADiagnostics",
    "MALAInfo",
    "MALAState",
    "Measure1D",
    "ProductMeasure",
    "SampleMeasure",
    "effective_sample_size",
    "gibbs_1d",
    "gibbs_2d",
    "mala",
    "mala_samples",
    "paper_measures",
    "split_r_hat",
]

"""Exact and reference measures (docs/theory.md §2), one representation or tool per module:

- ``base``: the :class:`Measure` protocol, ``GIBBS_CUTOFF``;
- ``grid1d``: piecewise-uniform 1-D measures (:class:`Measure1D`), ``gibbs_1d`` by quadrature;
- ``product``: products of 1-D measures (:class:`ProductMeasure`), ``product_gibbs`` (§5);
- ``grid2d``: tensor-grid measures on R^2 (:class:`GridMeasure2D`), ``gibbs_2d``;
- ``radial``: rotation-invariant measures (:class:`RadialMeasure`), ``radial_gibbs`` (§10.2);
- ``mala``: MALA reference samples (:class:`SampleMeasure`, ``mala_samples``);
- ``diagnostics``: effective sample size and split R-hat;
- ``gibbs``: the dispatcher :func:`Gibbs` and the paper's three measures;
- ``chain``: the discrete chain's invariant law (§5); ``stationary``: exact 1-D stationary laws.
"""

from .base import GIBBS_CUTOFF, Measure
from .chain import ChainInfo, chain_invariant, chain_invariant_with_info
from .diagnostics import effective_sample_size, split_r_hat
from .gibbs import Gibbs, paper_measures
from .grid1d import Measure1D, gibbs_1d
from .grid2d import GridMeasure2D, gibbs_2d
from .mala import MALA, MALADiagnostics, MALAInfo, MALAState, SampleMeasure, mala, mala_samples
from .product import ProductMeasure, product_gibbs
from .radial import RadialMeasure, radial_gibbs

__all__ = [
    "Measure",
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
    "product_gibbs",
    "split_r_hat",
]

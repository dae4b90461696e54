"""The Gibbs measure pi ∝ exp(-beta u) of any potential (docs/theory.md §2): the dispatcher
:func:`Gibbs` and the paper's three measures.

pi_beta = Gibbs(u, beta) is SGLD's target, pi^f = Gibbs(g_sigma, beta) fSGLD's small-step
invariant law and pi* = Gibbs(v, beta) the flatness-biased target (:func:`paper_measures`).
:func:`Gibbs` picks the most exact representation the potential allows, each computed in its
own module:

| potential                            | measure          | method                            |
|--------------------------------------|------------------|-----------------------------------|
| d = 1                                | Measure1D        | adaptive quadrature, gibbs_1d     |
| Separable or Quadratic, d > 1        | ProductMeasure   | 1-D quadrature per marginal (§5)  |
| d = 2                                | GridMeasure2D    | adaptive tensor grid, gibbs_2d    |
| RadialPotential, d > 1               | RadialMeasure    | 1-D radial law, radial_gibbs      |
| any d                                | SampleMeasure    | MALA reference samples            |

(modules ``grid1d``, ``product``, ``grid2d``, ``radial`` and ``mala``; the tail level
``GIBBS_CUTOFF`` is in ``base``, the adaptive grids and their accuracy in ``_sublevel_grid``.)

At extreme beta the grids hold the Laplace limit where float64 rounding of u defeats the
quadrature (a Gaussian N(m, H^-1 / beta) per global minimiser m, weights det(H)^(-1/2)), and
every representation raises a one-line ValueError, naming beta and the largest beta it resolves,
where float64 cannot resolve the wells at all (cells narrower than the float64 spacing of x).
"""

from __future__ import annotations

import jax

from .._precision import float64
from .._validation import check_choice
from ..potentials.base import Potential
from ..potentials.radial import RadialPotential
from .base import checked_beta
from .grid1d import gibbs_1d
from .grid2d import gibbs_2d
from .mala import mala_samples
from .product import marginal_potentials, product_gibbs
from .radial import radial_gibbs

_METHODS = ("auto", "quadrature", "product", "grid", "mala", "radial")


@float64
def Gibbs(potential: Potential, beta: float, *, method: str = "auto", **options):  # noqa: N802
    """The Gibbs measure pi ∝ exp(-beta u) of ``potential`` (docs/theory.md §2).

    Args:
      potential: u: R^d -> R, confining (exp(-beta u) must be integrable).
      beta: inverse temperature, positive and finite.
      method: "auto" (the table in the module docstring), or force "quadrature" (d = 1),
        "product" (``Separable`` or ``Quadratic``), "grid" (d = 2), "mala" (any d) or "radial"
        (``RadialPotential``, any d: :func:`~sgldsim.measures.radial.radial_gibbs`).
      **options: passed on to :func:`~sgldsim.measures.grid1d.gibbs_1d` (per marginal for a
        product), :func:`~sgldsim.measures.grid2d.gibbs_2d`,
        :func:`~sgldsim.measures.radial.radial_gibbs` or
        :func:`~sgldsim.measures.mala.mala_samples` (``key`` defaults to ``PRNGKey(0)`` for MALA).

    Returns:
      A ``Measure1D``, ``ProductMeasure``, ``GridMeasure2D``, ``RadialMeasure`` or
      ``SampleMeasure``.
    """
    beta = checked_beta(beta)
    check_choice("method", method, _METHODS)
    if method == "auto" and isinstance(potential, RadialPotential) and potential.dim > 1:
        method = "radial"
    if method == "radial":
        return radial_gibbs(potential, beta, **options)
    if method == "auto":
        method = ("product" if marginal_potentials(potential) is not None and potential.dim > 1
                  else {1: "quadrature", 2: "grid"}.get(potential.dim, "mala"))
    if method == "product":
        return product_gibbs(potential, beta, **options)
    if method == "quadrature":
        return gibbs_1d(potential, beta, **options)
    if method == "grid":
        return gibbs_2d(potential, beta, **options)
    key = options.pop("key", jax.random.PRNGKey(0))
    return mala_samples(key, potential, beta, **options)


@float64
def paper_measures(potential: Potential, beta: float, sigma: float, **options) -> dict:
    """The three measures of docs/theory.md §2 for one (beta, sigma).

    Returns:
      ``dict(pi_beta=Gibbs(u), pi_f=Gibbs(g_sigma), pi_star=Gibbs(v))`` with
      g_sigma = E u(. + sigma Z) and v = u + (sigma^2 / 2) Lap u.
    """
    return {
        "pi_beta": Gibbs(potential, beta, **options),
        "pi_f": Gibbs(potential.smoothed(sigma), beta, **options),
        "pi_star": Gibbs(potential.regularized(sigma), beta, **options),
    }


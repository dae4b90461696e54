"""Product measures pi = ⊗_i mu_i on R^d, and the Gibbs measure of a separable potential as one
(docs/theory.md §5, "Product measures").

For u(x) = sum_i u_i(x_i) (a ``Separable`` potential, or a ``Quadratic`` with curvatures a_i),
exp(-beta u) factorises, so pi = ⊗_i Gibbs(u_i, beta): :func:`product_gibbs` computes one 1-D
quadrature (:func:`~sgldsim.measures.grid1d.gibbs_1d`) per distinct marginal potential, and every
functional of a :class:`ProductMeasure` (moments, box masses, W_2 in
:mod:`sgldsim.distances`) is a combination of exact 1-D ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import numpy as np

from .._precision import float64
from .._validation import check_positive_int
from ..potentials import Quadratic, Separable
from ..potentials.base import Potential
from .grid1d import Measure1D, gibbs_1d


@dataclasses.dataclass(frozen=True, eq=False)
class ProductMeasure:
    """pi = ⊗_i mu_i on R^d: independent coordinates (Gibbs of a ``Separable`` potential, §5).

    Args:
      marginal: one ``Measure1D`` shared by all d coordinates (iid), or a sequence of d of them.
      dim: d; needed for a shared marginal, inferred from a sequence.
    """

    marginal: Measure1D | Sequence[Measure1D]
    dim: int | None = None

    def __post_init__(self):
        given = (self.marginal,) if isinstance(self.marginal, Measure1D) else tuple(self.marginal)
        if not given or not all(isinstance(m, Measure1D) for m in given):
            raise ValueError("marginal must be a Measure1D or a non-empty sequence of them")
        dim = len(given) if self.dim is None else self.dim
        check_positive_int("dim", dim)
        if len(given) not in (1, dim):
            raise ValueError(f"{len(given)} marginals for dim={dim}: need 1 or {dim}")
        object.__setattr__(self, "dim", dim)
        object.__setattr__(self, "_marginals", given * dim if len(given) == 1 else given)

    @property
    def marginals(self) -> tuple[Measure1D, ...]:
        """The d marginals mu_i."""
        return self._marginals

    @property
    def mean(self) -> np.ndarray:
        return np.array([m.mean for m in self.marginals])

    @property
    def var(self) -> np.ndarray:
        return np.array([m.var for m in self.marginals])

    @property
    def cov(self) -> np.ndarray:
        return np.diag(self.var)

    def mass_of_box(self, lo, hi) -> float:
        """pi(prod_i [lo_i, hi_i]) = prod_i mu_i([lo_i, hi_i]); lo, hi scalars or (d,)."""
        lo, hi = (np.broadcast_to(np.asarray(b, dtype=float), (self.dim,)) for b in (lo, hi))
        masses = [m.mass_of_box(a, b) for m, a, b in zip(self.marginals, lo, hi, strict=True)]
        return float(np.prod(masses))

    @float64
    def sample(self, key, n: int) -> np.ndarray:
        """n iid draws, (n, d), by the inverse cdf of each marginal."""
        q = np.asarray(jax.random.uniform(key, (n, self.dim), dtype=float))
        return np.stack([m.quantile(q[:, i]) for i, m in enumerate(self.marginals)], axis=1)


def marginal_potentials(potential: Potential) -> list[Potential] | None:
    """The d one-dimensional potentials u_i with u(x) = sum_i u_i(x_i), when u is a product."""
    if isinstance(potential, Separable):
        return [potential.base] * potential.dim
    if isinstance(potential, Quadratic):
        return [Quadratic(float(a)) for a in np.asarray(potential.curvature)]
    return None


@float64
def product_gibbs(potential: Potential, beta: float, **options) -> ProductMeasure:
    """pi ∝ exp(-beta u) for a product u (``Separable`` or ``Quadratic``) as a
    :class:`ProductMeasure`: one :func:`~sgldsim.measures.grid1d.gibbs_1d` per distinct marginal
    potential (``options`` are passed on to it)."""
    factors = marginal_potentials(potential)
    if factors is None:
        raise ValueError(f"method='product' needs a Separable or Quadratic potential, "
                         f"got {type(potential).__name__}")
    cache: dict = {}
    marginals = []
    for u1 in factors:
        same = float(u1.curvature[0]) if isinstance(u1, Quadratic) else id(u1)
        if same not in cache:
            cache[same] = gibbs_1d(u1, beta, **options)
        marginals.append(cache[same])
    return ProductMeasure(marginals)

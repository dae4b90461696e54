"""Separable potentials u(x) = sum_i u1(x_i): every derived measure is a product
(docs/theory.md §5)."""

from __future__ import annotations

import jax.numpy as jnp

from .._validation import check_positive_int
from .base import Potential, is_concrete, potential_dataclass, static_field


@potential_dataclass
class Separable(Potential):
    """u(x) = sum_{i=1}^d base(x_i) for a 1-D ``base``. Smoothing and regularisation act per
    coordinate, so ``smoothed``/``regularized`` are Separable of the base's (exact when the
    base's is).
    """

    base: Potential
    dim: int = static_field(default=1)

    def __post_init__(self):
        if not is_concrete(()):
            return
        check_positive_int("dim", self.dim)
        if getattr(self.base, "dim", None) != 1:
            raise ValueError(
                f"Separable needs a 1-D base potential, got one with dim={self.base.dim!r}"
            )

    def _coords(self, x):
        return x[..., None]  # (..., d, 1): each coordinate as a 1-D input

    def _value(self, x):
        return jnp.sum(self.base._value(self._coords(x)), axis=-1)

    def _grad(self, x):
        return self.base._grad(self._coords(x))[..., 0]

    def _laplacian(self, x):
        return jnp.sum(self.base._laplacian(self._coords(x)), axis=-1)

    def smoothed(self, sigma) -> Separable:
        return Separable(self.base.smoothed(sigma), self.dim)

    def regularized(self, sigma) -> Separable:
        return Separable(self.base.regularized(sigma), self.dim)

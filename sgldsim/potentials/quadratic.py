"""Quadratic potential u(x) = (1/2) sum_i a_i x_i^2 + c: the case with closed-form everything."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._validation import check_finite, check_nonnegative, check_positive, check_positive_int
from .base import Potential, is_concrete, potential_dataclass, static_field


@potential_dataclass
class Quadratic(Potential):
    """u(x) = (1/2) sum_i a_i x_i^2 + offset; ``curvature`` is a scalar a or a_i of shape (d,).

    Gaussian smoothing and Hessian-trace regularisation only shift it by a constant:
    g_sigma = v = u + (sigma^2/2) sum_i a_i (docs/theory.md §5).
    """

    curvature: jnp.ndarray = 1.0
    dim: int = static_field(default=1)
    offset: float = 0.0

    def __post_init__(self):
        if not is_concrete(self.curvature, self.offset):
            return
        check_positive("curvature", self.curvature)
        check_positive_int("dim", self.dim)
        check_finite("offset", self.offset)
        a = np.asarray(self.curvature, dtype=float)
        if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != self.dim):
            raise ValueError(
                f"curvature has shape {a.shape}; allowed: a scalar or shape ({self.dim},) "
                f"for dim={self.dim}"
            )
        object.__setattr__(self, "curvature", np.array(np.broadcast_to(a, (self.dim,))))

    def _value(self, x):
        return 0.5 * jnp.sum(self.curvature * x**2, axis=-1) + self.offset

    def _grad(self, x):
        return self.curvature * x

    def _laplacian(self, x):
        return jnp.broadcast_to(jnp.sum(self.curvature), x.shape[:-1])

    def _shifted(self, sigma):
        check_nonnegative("sigma", sigma)
        shift = 0.5 * float(sigma) ** 2 * float(jnp.sum(self.curvature))
        return Quadratic(np.asarray(self.curvature), self.dim, float(self.offset) + shift)

    def smoothed(self, sigma) -> Quadratic:
        return self._shifted(sigma)

    def regularized(self, sigma) -> Quadratic:
        return self._shifted(sigma)

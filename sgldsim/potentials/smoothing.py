"""Gaussian smoothing for potentials without a closed form (docs/theory.md §2):
g_sigma(x) = E u(x + sigma Z), by Gauss–Hermite quadrature in d = 1 and by Monte Carlo with
common random numbers (and a reported standard error) in d > 1."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._precision import enable_x64
from .._validation import check_int, check_nonnegative, check_positive_int
from .base import Potential, potential_dataclass, static_field


@potential_dataclass
class GaussianAveraged(Potential):
    """g(x) = sum_i w_i u(x + sigma z_i) for fixed nodes z_i (M, d) and weights w_i (M,).

    Gauss–Hermite nodes make this exact for polynomials of degree < 2M in d = 1; Monte Carlo
    nodes (w_i = 1/M) give an unbiased estimate whose error is reported by :meth:`standard_error`.
    The Laplacian and gradient are averaged the same way (they commute with smoothing).
    """

    base: Potential
    sigma: float
    nodes: jnp.ndarray
    weights: jnp.ndarray
    method: str = static_field(default="gauss-hermite")

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.base.dim

    def _shifted(self, x):
        return x[..., None, :] + self.sigma * self.nodes  # (..., M, d)

    def _value(self, x):
        return jnp.sum(self.weights * self.base._value(self._shifted(x)), axis=-1)

    def _grad(self, x):
        return jnp.sum(self.weights[:, None] * self.base._grad(self._shifted(x)), axis=-2)

    def _laplacian(self, x):
        return jnp.sum(self.weights * self.base._laplacian(self._shifted(x)), axis=-1)

    def standard_error(self, x):
        """Monte Carlo standard error of ``value(x)`` (zero for quadrature)."""
        x = self._as_input(x)
        if self.method != "monte-carlo":
            return jnp.zeros(x.shape[:-1])
        vals = self.base._value(self._shifted(x))
        half = vals.shape[-1] // 2  # antithetic pairs (z, -z) are the independent units
        pair_means = 0.5 * (vals[..., :half] + vals[..., half:])
        return jnp.std(pair_means, axis=-1, ddof=1) / jnp.sqrt(half)


def numerically_smoothed(
    potential: Potential, sigma, n_nodes: int = 64, n_samples: int = 4096, seed: int = 0
) -> GaussianAveraged:
    """Smooth ``potential`` with Gauss–Hermite (d = 1, ``n_nodes`` nodes) or Monte Carlo
    (d > 1, ``n_samples`` >= 4 antithetic draws from ``seed``)."""
    check_nonnegative("sigma", sigma)
    check_positive_int("n_nodes", n_nodes)
    check_int("n_samples", n_samples, 4)
    sigma = float(sigma)
    if potential.dim == 1:
        z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
        return GaussianAveraged(potential, sigma, z[:, None], w / w.sum(), "gauss-hermite")
    with enable_x64(True):  # the same float64 draws whatever the caller's precision
        half = np.asarray(jax.random.normal(jax.random.PRNGKey(seed),
                                            (n_samples // 2, potential.dim), dtype=float))
    z = np.concatenate([half, -half])
    w = np.full((z.shape[0],), 1.0 / z.shape[0])
    return GaussianAveraged(potential, sigma, z, w, "monte-carlo")

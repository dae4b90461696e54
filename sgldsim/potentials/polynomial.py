"""1-D polynomial potentials with exact Gaussian smoothing (docs/theory.md §5).

E (x + sigma Z)^k = sum_j C(k, 2j) (2j - 1)!! sigma^(2j) x^(k - 2j), so the smoothed potential
g_sigma and the regularised v = u + (sigma^2/2) u'' of a polynomial are polynomials.
"""

from __future__ import annotations

from math import comb

import jax.numpy as jnp
import numpy as np

from .._validation import check_finite, check_nonnegative, check_positive_int
from .base import Potential, is_concrete, potential_dataclass, static_field


def _gaussian_moment(n: int) -> float:
    """E Z^n for Z ~ N(0, 1): (n - 1)!! for even n, 0 for odd n."""
    if n % 2:
        return 0.0
    return float(np.prod(np.arange(n - 1, 0, -2))) if n > 0 else 1.0


@potential_dataclass
class Polynomial1D(Potential):
    """u(x) = sum_k coeffs[k] x^k (coefficients from the constant term up), d = 1."""

    coeffs: jnp.ndarray
    dim: int = static_field(default=1)

    def __post_init__(self):
        if not is_concrete(self.coeffs):
            return
        c = np.atleast_1d(np.asarray(self.coeffs, dtype=float))
        if c.ndim != 1:
            raise ValueError(f"coeffs has shape {c.shape}; allowed: a 1-D sequence")
        check_finite("coeffs", c)
        check_positive_int("dim", self.dim)
        if self.dim != 1:
            raise ValueError(f"dim={self.dim} is not allowed: Polynomial1D is 1-dimensional")
        object.__setattr__(self, "coeffs", c)  # NumPy float64: see Potential

    @property
    def degree(self) -> int:
        return int(self.coeffs.shape[0]) - 1

    @staticmethod
    def _eval(coeffs, t):
        out = jnp.zeros_like(t)
        for c in coeffs[::-1]:  # Horner
            out = out * t + c
        return out

    def _derivative_coeffs(self, order: int):
        c = self.coeffs  # NumPy, or traced under jit: shapes are static, values are not read
        xp = np if isinstance(c, np.ndarray) else jnp  # NumPy keeps float64 outside JAX's x64
        for _ in range(order):
            c = c[1:] * xp.arange(1, c.shape[0], dtype=c.dtype) if c.shape[0] > 1 else c[:1] * 0
        return c

    def _value(self, x):
        return self._eval(self.coeffs, x[..., 0])

    def _grad(self, x):
        return self._eval(self._derivative_coeffs(1), x[..., 0])[..., None]

    def _laplacian(self, x):
        return self._eval(self._derivative_coeffs(2), x[..., 0])

    def smoothed(self, sigma) -> Polynomial1D:
        check_nonnegative("sigma", sigma)
        sigma = float(sigma)
        c = np.asarray(self.coeffs)
        out = np.zeros_like(c)
        for k, ck in enumerate(c):
            for m in range(k + 1):
                out[m] += ck * comb(k, m) * _gaussian_moment(k - m) * sigma ** (k - m)
        return Polynomial1D(out)

    def regularized(self, sigma) -> Polynomial1D:
        check_nonnegative("sigma", sigma)
        c = np.asarray(self.coeffs).copy()
        second = np.asarray(self._derivative_coeffs(2))
        c[: len(second)] += 0.5 * float(sigma) ** 2 * second
        return Polynomial1D(c)


def sharp_flat_double_well(depth_gap: float = 0.0) -> Polynomial1D:
    """Named benchmark: a sharp minimum at x = -1 and a flat one at x = +1.

    u(x) = (x + 1)^2 (x - 1)^2 ((x - 1)^2 + 4/9) - depth_gap (1 - x) / 2.

    With ``depth_gap = 0`` both global minima have u = 0 (equal depth) and curvatures
    u''(-1) = 320/9 ≈ 35.6 and u''(1) = 32/9 ≈ 3.56 (ratio 10); the barrier at x = 0 is 13/9.
    ``depth_gap = delta > 0`` tilts the landscape so the sharp well is deeper by about delta.
    """
    check_finite("depth_gap", depth_gap)
    well = np.polynomial.Polynomial([1.0, 0.0, -1.0]) ** 2  # (x^2 - 1)^2
    shape = np.polynomial.Polynomial([1.0 + 4.0 / 9.0, -2.0, 1.0])  # (x - 1)^2 + 4/9
    tilt = np.polynomial.Polynomial([-0.5 * depth_gap, 0.5 * depth_gap])
    return Polynomial1D(np.asarray((well * shape + tilt).coef, dtype=float))

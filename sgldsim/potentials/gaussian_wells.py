"""Gaussian-well landscapes: a confining quadratic minus Gaussian bumps, in any dimension.

    u(x) = (m/2)|x|^2 - sum_j a_j exp(-|x - c_j|^2 / (2 s_j^2)) + offset

Lipschitz gradient and dissipative for m > 0, so it meets the paper's assumptions (docs/theory.md
§4, assumptions). Gaussian smoothing is again of this form (docs/theory.md §5):

    g_sigma(x) = (m/2)(|x|^2 + d sigma^2)
                 - sum_j a_j (s_j^2/(s_j^2 + sigma^2))^(d/2)
                       * exp(-|x - c_j|^2 / (2(s_j^2 + sigma^2))).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._validation import check_finite, check_nonnegative, check_positive, check_positive_int
from .base import Potential, is_concrete, potential_dataclass, static_field


@potential_dataclass
class GaussianWells(Potential):
    """Args:
      centers: (K, d) well centres c_j (finite).
      depths: (K,) finite amplitudes a_j (> 0 for wells; any sign is accepted for bumps).
      widths: (K,) standard deviations s_j > 0.
      confinement: m >= 0, curvature of the confining quadratic (m > 0 for dissipativity).
      offset: finite additive constant (smoothing shifts it by m d sigma^2 / 2).
      dim: -1 (from ``centers``) or d, an int.
    """

    centers: jnp.ndarray
    depths: jnp.ndarray
    widths: jnp.ndarray
    confinement: float = 0.0
    offset: float = 0.0
    dim: int = static_field(default=-1)

    def __post_init__(self):
        if not is_concrete(self.centers, self.depths, self.widths, self.confinement, self.offset):
            return
        c = np.asarray(self.centers, dtype=float)
        if c.ndim == 1:
            c = c[:, None]
        if c.ndim != 2:
            raise ValueError(f"centers has shape {c.shape}; allowed: (K, d) or (K,) for d = 1")
        k = c.shape[0]
        a = np.broadcast_to(np.asarray(self.depths, dtype=float), (k,)) if np.ndim(
            self.depths) == 0 else np.asarray(self.depths, dtype=float)
        s = np.broadcast_to(np.asarray(self.widths, dtype=float), (k,)) if np.ndim(
            self.widths) == 0 else np.asarray(self.widths, dtype=float)
        for name, arr in (("depths", a), ("widths", s)):
            if arr.shape != (k,):
                raise ValueError(f"{name} has shape {arr.shape}; allowed: ({k},) for {k} centers")
        check_finite("centers", c)
        check_finite("depths", a)
        check_positive("widths", s)
        check_nonnegative("confinement", self.confinement)
        check_finite("offset", self.offset)
        if self.dim != -1:
            check_positive_int("dim", self.dim)
        if self.dim not in (-1, c.shape[1]):
            raise ValueError(f"dim={self.dim} does not match centers of dimension {c.shape[1]}")
        object.__setattr__(self, "centers", c)  # NumPy float64: see Potential
        object.__setattr__(self, "depths", np.array(a))
        object.__setattr__(self, "widths", np.array(s))
        object.__setattr__(self, "dim", int(c.shape[1]))

    def _wells(self, x):
        """(diff (..., K, d), r2 (..., K), bump (..., K)), bump_j = a_j exp(-r_j^2 / 2 s_j^2)."""
        diff = x[..., None, :] - self.centers
        r2 = jnp.sum(diff**2, axis=-1)
        bump = self.depths * jnp.exp(-0.5 * r2 / self.widths**2)
        return diff, r2, bump

    def _value(self, x):
        _, _, bump = self._wells(x)
        confining = 0.5 * self.confinement * jnp.sum(x**2, axis=-1)
        return confining - jnp.sum(bump, axis=-1) + self.offset

    def _grad(self, x):
        diff, _, bump = self._wells(x)
        pull = (bump / self.widths**2)[..., None] * diff
        return self.confinement * x + jnp.sum(pull, axis=-2)

    def _laplacian(self, x):
        _, r2, bump = self._wells(x)
        s2 = self.widths**2
        well_lap = -bump * (r2 / s2**2 - self.dim / s2)
        return self.confinement * self.dim + jnp.sum(well_lap, axis=-1)

    def smoothed(self, sigma) -> GaussianWells:
        check_nonnegative("sigma", sigma)
        sigma2 = float(sigma) ** 2
        s2 = np.asarray(self.widths) ** 2
        new_s2 = s2 + sigma2
        return GaussianWells(
            centers=np.asarray(self.centers),
            depths=np.asarray(self.depths) * (s2 / new_s2) ** (self.dim / 2),
            widths=np.sqrt(new_s2),
            confinement=float(self.confinement),
            offset=float(self.offset) + 0.5 * float(self.confinement) * self.dim * sigma2,
        )

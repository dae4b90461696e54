"""Stochastic-gradient potentials: u(theta) = E U(theta, X), with one data draw per step.

The dynamics call ``stochastic_grad(key, x)`` when a potential has it, so SGD/SGLD/fSGLD see
gradient noise as in the paper's setting (docs/theory.md §1: grad U(theta, X) with X a data draw).
``value``, ``grad``, ``laplacian``, ``smoothed`` and ``regularized`` describe the mean potential u,
which is what the exact measures use.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_finite, check_nonnegative, check_positive_int
from .base import Potential, is_concrete, potential_dataclass, static_field


@potential_dataclass
class AdditiveGradientNoise(Potential):
    """U(theta, X) = u(theta) + s <X, theta>, X ~ N(0, I_d), s = noise_scale: grad U = grad u + s X.

    The simplest unbiased model of gradient noise; E U = u exactly.
    """

    base: Potential
    noise_scale: float

    def __post_init__(self):
        if is_concrete(self.noise_scale):
            check_nonnegative("noise_scale", self.noise_scale)

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.base.dim

    def _value(self, x):
        return self.base._value(x)

    def _grad(self, x):
        return self.base._grad(x)

    def _laplacian(self, x):
        return self.base._laplacian(x)

    def stochastic_grad(self, key, x):
        return self.base._grad(x) + self.noise_scale * jax.random.normal(key, x.shape, x.dtype)

    def smoothed(self, sigma):
        return AdditiveGradientNoise(self.base.smoothed(sigma), self.noise_scale)

    def regularized(self, sigma):
        return AdditiveGradientNoise(self.base.regularized(sigma), self.noise_scale)


@potential_dataclass
class EmpiricalRisk(Potential):
    """u(theta) = (1/n) sum_i base(theta - x_i) over a finite sample x_i (n, d); each step uses a
    minibatch of ``batch_size`` points drawn with replacement, per particle:
    grad U(theta, B) = (1/b) sum_{i in B} grad base(theta - x_i).
    """

    base: Potential
    data: jnp.ndarray
    batch_size: int = static_field(default=1)

    def __post_init__(self):
        if not is_concrete(self.data):
            return
        d = np.asarray(self.data, dtype=float)
        if d.ndim == 1:
            d = d[:, None]
        if d.ndim != 2 or d.shape[1] != self.base.dim:
            raise ValueError(f"data has shape {d.shape}; allowed: (n, {self.base.dim})")
        check_finite("data", d)
        check_positive_int("batch_size", self.batch_size)
        object.__setattr__(self, "data", d)  # NumPy float64: see Potential

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.base.dim

    def _mean(self, fn, x, vector: bool):
        shifted = x[..., None, :] - self.data  # (..., n, d)
        out = fn(shifted)
        return jnp.mean(out, axis=-2 if vector else -1)

    def _value(self, x):
        return self._mean(self.base._value, x, False)

    def _grad(self, x):
        return self._mean(self.base._grad, x, True)

    def _laplacian(self, x):
        return self._mean(self.base._laplacian, x, False)

    def stochastic_grad(self, key, x):
        idx = jax.random.randint(key, x.shape[:-1] + (self.batch_size,), 0, self.data.shape[0])
        batch = jnp.asarray(self.data)[idx]  # (..., b, d)
        return jnp.mean(self.base._grad(x[..., None, :] - batch), axis=-2)

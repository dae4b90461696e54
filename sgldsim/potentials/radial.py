"""Radial potentials u(x) = phi(|x|) on R^d: exact non-separable landscapes in any dimension.

For a radial u with an even, smooth profile phi (docs/theory.md §10),

    grad u(x) = (phi'(r) / r) x,        Lap u(x) = phi''(r) + (d - 1) phi'(r) / r,   r = |x|,

with the limits phi'(r)/r -> phi''(0) and Lap u -> d phi''(0) at the origin. Both derived
potentials of the paper stay radial:

- v = u + (sigma^2/2) Lap u has the profile phi + (sigma^2/2)(phi'' + (d - 1) phi'/r);
- g_sigma(x) = E u(x + sigma Z) has the profile E phi(|r e_1 + sigma Z|), and
  |r e_1 + sigma Z|^2 = (r + sigma Z_1)^2 + sigma^2 W with W ~ chi^2_{d-1} independent of Z_1
  (|x + sigma Z|^2 / sigma^2 is noncentral chi^2 with d degrees of freedom): a 2-D Gauss
  quadrature, Gauss–Hermite in Z_1 and generalised Gauss–Laguerre in W / 2 ~ Gamma((d-1)/2).

So Gibbs measures of all three are rotation invariant and are held exactly by their 1-D radial
laws (:func:`sgldsim.measures.radial_gibbs`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_finite, check_nonnegative, check_positive, check_positive_int
from .base import Potential, is_concrete, potential_dataclass, static_field

_SMALL_R = 1e-4  # below it phi'(r)/r is replaced by phi''(r) (error O(r^2), no 0/0)
_SMALL_Y = 1e-4  # below it (1 - e^-y)/y is its series 1 - y/2 + y^2/6


class RadialPotential(Potential):
    """u(x) = phi(|x|). Subclasses implement ``profile(r)`` (phi, elementwise on r >= 0, even
    in r) and may override ``slope_over_r`` (phi'(r)/r) and ``curvature`` (phi''); the defaults
    differentiate ``profile`` with JAX."""

    def profile(self, r):
        raise NotImplementedError

    def slope_over_r(self, r):
        """phi'(r) / r, continued by phi''(0) at r = 0."""
        r = jnp.asarray(r)
        safe = jnp.where(r < _SMALL_R, 1.0, r)
        return jnp.where(r < _SMALL_R, self.curvature(r), _elementwise(jax.grad(self.profile),
                                                                        safe) / safe)

    def curvature(self, r):
        """phi''(r)."""
        return _elementwise(jax.grad(jax.grad(self.profile)), jnp.asarray(r))

    def radial_laplacian(self, r):
        """Lap u on the sphere |x| = r: phi''(r) + (d - 1) phi'(r)/r."""
        return self.curvature(r) + (self.dim - 1) * self.slope_over_r(r)

    def _value(self, x):
        # phi is even: in d = 1 phi(x) = phi(|x|), and autodiff stays smooth through 0
        return self.profile(x[..., 0] if self.dim == 1 else _norm(x))

    def _grad(self, x):
        return self.slope_over_r(_norm(x))[..., None] * x

    def _laplacian(self, x):
        return self.radial_laplacian(_norm(x))

    def regularized(self, sigma) -> RadialRegularized:
        check_nonnegative("sigma", sigma)
        return RadialRegularized(base=self, sigma=float(sigma))

    def smoothed(self, sigma, n_nodes: int = 32) -> RadialSmoothed:
        """g_sigma by the 2-D Gauss quadrature of the module docstring (``n_nodes`` per axis)."""
        check_nonnegative("sigma", sigma)
        check_positive_int("n_nodes", n_nodes)
        return RadialSmoothed.build(self, float(sigma), n_nodes)


def _norm(x):
    """|x| with a finite autodiff gradient at 0 (where phi'(0) = 0 anyway)."""
    r2 = jnp.sum(x**2, axis=-1)
    positive = r2 > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, r2, 1.0)), 0.0)


def _elementwise(fn, r):
    return jax.vmap(fn)(r.reshape(-1)).reshape(r.shape)


@potential_dataclass
class RadialWells(RadialPotential):
    """Radial Gaussian wells in R^d (docs/theory.md §10):

        phi(r) = (m/2) r^2
                 - sum_j a_j [exp(-(r - c_j)^2 / (2 s_j^2)) + exp(-(r + c_j)^2 / (2 s_j^2))]

    The mirrored bump keeps phi even, so u(x) = phi(|x|) is smooth at the origin. A well at
    c_j > 0 is a spherical shell of radius c_j. Lipschitz gradient and dissipative for m > 0.

    Args:
      radii: (K,) shell radii c_j >= 0.
      depths: (K,) finite amplitudes a_j (> 0 for wells).
      widths: (K,) radial standard deviations s_j > 0.
      confinement: m > 0, finite.
      dim: d >= 1, an int (not a bool).
    """

    radii: np.ndarray
    depths: np.ndarray
    widths: np.ndarray
    confinement: float = 1.0
    dim: int = static_field(default=1)

    def __post_init__(self):
        if not is_concrete(self.radii, self.depths, self.widths, self.confinement):
            return
        check_positive_int("dim", self.dim)
        c = np.atleast_1d(np.asarray(self.radii, dtype=float))
        if c.ndim != 1:
            raise ValueError(f"radii has shape {c.shape}; allowed: (K,)")
        arrays = {"radii": c}
        for name in ("depths", "widths"):
            arr = np.asarray(getattr(self, name), dtype=float)
            arr = np.full(c.shape, float(arr)) if arr.ndim == 0 else arr
            if arr.shape != c.shape:
                raise ValueError(f"{name} has shape {arr.shape}; allowed: {c.shape}, one per "
                                 "radius")
            arrays[name] = arr
        check_nonnegative("radii", c)
        check_finite("depths", arrays["depths"])
        check_positive("widths", arrays["widths"])
        if np.ndim(self.confinement) != 0:
            raise ValueError(f"confinement of shape {np.shape(self.confinement)} is not allowed: "
                             "m is a scalar")
        check_positive("confinement", self.confinement)
        for name, arr in arrays.items():  # numpy float64: exact measures keep full precision
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "confinement", float(self.confinement))
        object.__setattr__(self, "dim", int(self.dim))

    def _bumps(self, r):
        """(e_minus, e_plus) = exp(-(r -+ c)^2 / (2 s^2)), shapes (..., K)."""
        r = jnp.asarray(r)[..., None]
        s2 = self.widths**2
        return (jnp.exp(-0.5 * (r - self.radii) ** 2 / s2),
                jnp.exp(-0.5 * (r + self.radii) ** 2 / s2))

    def profile(self, r):
        e_minus, e_plus = self._bumps(r)
        return 0.5 * self.confinement * jnp.asarray(r) ** 2 - jnp.sum(
            self.depths * (e_minus + e_plus), axis=-1)

    def slope_over_r(self, r):
        """m + sum_j a_j/s_j^2 [e_- + e_+ - (2 c_j^2 / s_j^2) e_- h(2 r c_j / s_j^2)],
        h(y) = (1 - e^-y)/y: the mirrored pair's (e_+ - e_-)/r without cancellation at r -> 0."""
        e_minus, e_plus = self._bumps(r)
        s2 = self.widths**2
        y = 2.0 * jnp.asarray(r)[..., None] * self.radii / s2
        small = y < _SMALL_Y
        y_safe = jnp.where(small, 1.0, y)
        h = jnp.where(small, 1.0 - y / 2.0 + y**2 / 6.0, -jnp.expm1(-y_safe) / y_safe)
        pair = e_minus + e_plus - 2.0 * self.radii**2 / s2 * e_minus * h
        return self.confinement + jnp.sum(self.depths / s2 * pair, axis=-1)

    def curvature(self, r):
        e_minus, e_plus = self._bumps(r)
        s2 = self.widths**2
        rr = jnp.asarray(r)[..., None]
        pair = (e_minus * (1.0 - (rr - self.radii) ** 2 / s2)
                + e_plus * (1.0 - (rr + self.radii) ** 2 / s2))
        return self.confinement + jnp.sum(self.depths / s2 * pair, axis=-1)


@potential_dataclass
class RadialRegularized(RadialPotential):
    """v = u + (sigma^2/2) Lap u for a radial u: profile phi + (sigma^2/2)(phi'' + (d-1) phi'/r)."""

    base: RadialPotential
    sigma: float

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.base.dim

    def profile(self, r):
        return self.base.profile(r) + 0.5 * self.sigma**2 * self.base.radial_laplacian(r)


@potential_dataclass
class RadialSmoothed(RadialPotential):
    """g_sigma(x) = E phi(|x + sigma Z|) = sum_ij w_ij phi(sqrt((r + sigma z_i)^2 + sigma^2 t_j)),
    with (z_i, t_j, w_ij) a tensor Gauss rule for Z_1 ~ N(0, 1) and W ~ chi^2_{d-1}."""

    base: RadialPotential
    sigma: float
    normal_nodes: np.ndarray  # (n,) Gauss–Hermite nodes for N(0, 1)
    chi2_nodes: np.ndarray  # (n,) nodes for chi^2_{d-1} (a single 0 when d = 1)
    weights: np.ndarray  # (n, n) or (n, 1) product weights summing to 1

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.base.dim

    @classmethod
    def build(cls, base: RadialPotential, sigma: float, n_nodes: int) -> RadialSmoothed:
        z, wz = np.polynomial.hermite_e.hermegauss(n_nodes)
        wz = wz / wz.sum()
        if base.dim == 1:
            t, wt = np.zeros(1), np.ones(1)
        else:
            t, wt = gamma_gauss_rule(0.5 * (base.dim - 1), n_nodes)
            t = 2.0 * t  # W = 2 G, G ~ Gamma((d - 1)/2)
        return cls(base, sigma, z, t, np.outer(wz, wt))

    def profile(self, r):
        shifted = jnp.asarray(r)[..., None, None] + self.sigma * self.normal_nodes[:, None]
        if self.base.dim == 1:
            radius = jnp.abs(shifted) + 0.0 * self.chi2_nodes
        else:
            radius = jnp.sqrt(shifted**2 + self.sigma**2 * self.chi2_nodes)
        return jnp.sum(self.weights * self.base.profile(radius), axis=(-2, -1))


def gamma_gauss_rule(shape: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule for G ~ Gamma(shape, 1): nodes t_j and weights w_j (sum 1) with
    sum_j w_j f(t_j) = E f(G) exactly for polynomials of degree < 2n (Golub–Welsch on the
    generalised Laguerre recurrence, alpha = shape - 1; normalised weights, so no Gamma(shape)
    overflow for large shape)."""
    alpha = shape - 1.0
    k = np.arange(n, dtype=float)
    diag = 2.0 * k + alpha + 1.0
    off = np.sqrt(k[1:] * (k[1:] + alpha))
    nodes, vectors = np.linalg.eigh(np.diag(diag) + np.diag(off, 1) + np.diag(off, -1))
    weights = vectors[0] ** 2
    return nodes, weights / weights.sum()

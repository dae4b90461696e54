"""Radial Wasserstein distances: rotation-invariant measures and particles (docs/theory.md §10).

For rotation-invariant mu, nu on R^d with radial laws mu_R, nu_R (the laws of |X|),

    W_p(mu, nu) = W_p(mu_R, nu_R),

because |x - y| >= ||x| - |y|| for every coupling (so W_p(mu, nu) >= W_p(mu_R, nu_R)), and the
shared-direction coupling X = R Theta, Y = R' Theta, with (R, R') the optimal 1-D coupling of
the radial laws and one uniform direction Theta, has |X - Y| = |R - R'| (so equality).

For particles x_1..x_N against a rotation-invariant nu, :func:`radial_wasserstein` returns the
1-D distance between the empirical law of |x_i| and nu_R: a lower bound on W_p(particles, nu)
(|x - y| >= ||x| - |y||), with equality when the particles' law is itself rotation invariant
(their angular part is then noise only, and it is this distance that their law, not the
cloud, has to nu). Its particle floor, :func:`radial_noise_floor`, is the same 1-D distance for
N exact radii: about N^(-1/2), independent of d.
"""

from __future__ import annotations

import numpy as np

from ._inputs import as_particles, check_order
from .quantile1d import measure_quantile, particle_quantile, wasserstein_power_1d
from .wasserstein import particle_noise_floor


def radial_wasserstein(a, b, p: int = 2) -> float:
    """W_p between the radial laws of a and b.

    Args:
      a, b: each a rotation-invariant measure (with ``radial_law`` and ``dim``) or particles
        (N, d). Two measures: the exact W_p(a, b). Particles and a measure: a lower bound on
        W_p(particles, measure), exact for rotation-invariant particle laws (module docstring).
      p: order, 1 or 2.
    """
    p = check_order(p)
    quantiles, dims = [], []
    for name, x in (("a", a), ("b", b)):
        if hasattr(x, "radial_law"):
            quantiles.append(measure_quantile(x.radial_law))
            dims.append(int(x.dim))
        else:
            cloud = as_particles(name, x)
            quantiles.append(particle_quantile(np.linalg.norm(cloud, axis=1)))
            dims.append(cloud.shape[1])
    if dims[0] != dims[1]:
        raise ValueError(f"a lives in d={dims[0]} and b in d={dims[1]}: both must live in the "
                         "same dimension")
    return float(wasserstein_power_1d(*quantiles, p) ** (1.0 / p))


def radial_noise_floor(measure, n_particles: int, p: int = 2, *, key=None,
                       n_repeats: int = 10) -> tuple[float, float]:
    """Mean and standard deviation of the radial W_p of n exact draws to ``measure``: the floor
    of :func:`radial_wasserstein` for N particles (exact 1-D path on the radial law)."""
    if not hasattr(measure, "radial_law"):
        raise ValueError(f"radial_noise_floor needs a rotation-invariant measure with a "
                         f"radial_law, got {type(measure).__name__}")
    return particle_noise_floor(measure.radial_law, n_particles, p, key=key,
                                n_repeats=n_repeats)

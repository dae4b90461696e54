"""The particle updates of docs/theory.md §1 as one parameterised family.

Every method in the table is

    theta_{k+1} = theta_k - lam_k * G(theta_k + sigma * xi'_k) + sqrt(2 lam_k / beta) * xi_k,

with G the exact gradient grad u (or a stochastic gradient grad U(., X_k) when the potential is
stochastic), xi, xi' ~ N(0, I) independent. GD/SGD: beta = inf, sigma = 0; SGLD: sigma = 0;
RWP: beta = inf; fSGLD: both. The perturbation only moves where the gradient is taken.
Because all methods share one update, a grid of (step size, beta, sigma) cells is one array
program: the parameters may be arrays of a common broadcast shape (the cell shape).

Names (docs/theory.md §1): ``<method>_sampler`` builds the particle sampler of a method and takes
lam as ``step_size``; the optax-style optimiser of the same method is
:func:`sgldsim.optim.fsgld` (etc.), which takes lam as ``learning_rate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .._validation import check_nonnegative, check_positive

Schedule = Callable[[object], object]  # step index k -> step size lam_k (optax-style schedule)


class Sampler(NamedTuple):
    """Parameters of one perturbed-Langevin update (docs/theory.md §1).

    Attributes:
      name: "gd", "sgd", "sgld", "rwp" or "fsgld" (a label; the update is set by the numbers).
      step_size: lam > 0, scalar or array of cells, or a schedule ``k -> lam_k``.
      beta: inverse temperature in (0, inf]; inf means no Langevin noise.
      sigma: perturbation scale >= 0 (a standard deviation).
    """

    name: str
    step_size: float | np.ndarray | Schedule
    beta: float | np.ndarray
    sigma: float | np.ndarray

    @property
    def cell_shape(self) -> tuple[int, ...]:
        """Broadcast shape of the array-valued parameters (``()`` for a single cell)."""
        shapes = [np.shape(v) for v in (self.beta, self.sigma)]
        if not callable(self.step_size):
            shapes.append(np.shape(self.step_size))
        return np.broadcast_shapes(*shapes)


def _checked(name, step_size, beta, sigma) -> Sampler:
    if not callable(step_size):
        check_positive("step_size", step_size)
    check_positive("beta", beta, allow_inf=True)
    check_nonnegative("sigma", sigma)
    sampler = Sampler(name, step_size, beta, sigma)
    try:
        _ = sampler.cell_shape
    except ValueError as err:
        shapes = {k: np.shape(v) for k, v in (("step_size", step_size), ("beta", beta),
                                             ("sigma", sigma)) if not callable(v)}
        raise ValueError(f"parameter shapes {shapes} do not broadcast to one cell shape") from err
    return sampler


def gd_sampler(step_size) -> Sampler:
    """Gradient descent: theta - lam grad u(theta)."""
    return _checked("gd", step_size, np.inf, 0.0)


def sgd_sampler(step_size) -> Sampler:
    """Stochastic gradient descent (GD on a stochastic potential): theta - lam grad U(theta, X)."""
    return _checked("sgd", step_size, np.inf, 0.0)


def sgld_sampler(step_size, beta) -> Sampler:
    """SGLD: theta - lam grad U(theta, X) + sqrt(2 lam / beta) xi."""
    return _checked("sgld", step_size, beta, 0.0)


def rwp_sampler(step_size, sigma) -> Sampler:
    """Random weight perturbation: theta - lam grad U(theta + sigma xi', X)."""
    return _checked("rwp", step_size, np.inf, sigma)


def fsgld_sampler(step_size, beta, sigma) -> Sampler:
    """fSGLD: theta - lam grad U(theta + sigma xi', X) + sqrt(2 lam / beta) xi."""
    return _checked("fsgld", step_size, beta, sigma)

"""Argument checks for the optimisers, tolerant of traced hyperparameters.

Values that are JAX tracers (e.g. under ``optax.inject_hyperparams`` inside ``jit``) or schedules
cannot be inspected and pass through; concrete values get the package's usual checks, which
name the bad value and what is allowed.
"""

from __future__ import annotations

import jax
import numpy as np

from .. import _validation

FLOAT32_SQUARE_LIMIT = float(np.sqrt(np.finfo(np.float32).max))
"""The largest step size or radius :func:`check_hyperparameter` accepts, about 1.8e19: its
square still fits in float32, the precision networks train in (a loss grows at least
quadratically with the distance a radius rho or a step moves the parameters, so beyond it every
loss the step reaches is inf)."""


def concrete(value) -> bool:
    """True when ``value`` holds numbers that can be checked now (not a tracer, not a schedule)."""
    return not callable(value) and not any(
        isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(value))


def check_positive(name: str, value, allow_inf: bool = False) -> None:
    if concrete(value):
        _validation.check_positive(name, value, allow_inf=allow_inf)


def check_nonnegative(name: str, value) -> None:
    if concrete(value):
        _validation.check_nonnegative(name, value)


def check_interval(name: str, value, low: float, high: float,
                   closed: tuple[bool, bool] = (False, True)) -> None:
    if concrete(value):
        _validation.check_interval(name, value, low, high, closed)


def check_hyperparameter(name: str, value, positive: bool = False) -> None:
    """A step size or radius (learning rate, rho, sigma, alpha, eta): finite and >= 0 (> 0 with
    ``positive``), and at most :data:`FLOAT32_SQUARE_LIMIT`, so that ``rho = 1e30`` is refused
    rather than stepping to an infinite loss."""
    if not concrete(value):
        return
    (_validation.check_positive if positive else _validation.check_nonnegative)(name, value)
    if np.any(np.asarray(value, dtype=float) > FLOAT32_SQUARE_LIMIT):
        raise ValueError(f"{name}={_validation._show(value)} is not allowed: {name} must be at "
                         f"most {FLOAT32_SQUARE_LIMIT:.2g} (its square overflows float32, so "
                         "every loss the step reaches is inf)")


def check_learning_rate(learning_rate) -> None:
    """A learning rate is a positive finite number (:func:`check_hyperparameter`) or a schedule
    ``step -> lr_t``."""
    check_hyperparameter("learning_rate", learning_rate, positive=True)


def check_momentum(momentum) -> None:
    """Momentum is ``None`` (none) or in [0, 1)."""
    if momentum is not None:
        check_interval("momentum", momentum, 0.0, 1.0, closed=(True, False))


check_choice = _validation.check_choice
check_positive_int = _validation.check_positive_int

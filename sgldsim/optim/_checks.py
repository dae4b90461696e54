"""Argument checks for the optimisers, tolerant of traced hyperparameters.

Values that are JAX tracers (e.g. under ``optax.inject_hyperparams`` inside ``jit``) or schedules
cannot be inspected and pass through; concrete values get the package's usual checks, which
name the bad value and what is allowed.
"""

from __future__ import annotations

import jax

from .. import _validation


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


def check_learning_rate(learning_rate) -> None:
    """A learning rate is a positive finite number or a schedule ``step -> lr_t``."""
    check_positive("learning_rate", learning_rate)


def check_momentum(momentum) -> None:
    if concrete(momentum) and not 0.0 <= float(momentum) < 1.0:
        raise ValueError(f"momentum={momentum!r} is not allowed: momentum must be in [0, 1)")


check_choice = _validation.check_choice
check_positive_int = _validation.check_positive_int

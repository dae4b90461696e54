"""Double precision where the package needs it, without touching the user's process.

Importing sgldsim leaves ``jax_enable_x64`` as the user set it. The computations that need
float64 (exact measures, quadrature, the chain's invariant law, Wasserstein distances, float64
simulations, the experiment runner) run inside :func:`jax.enable_x64`, a thread-local context,
through the :func:`float64` decorator. They return NumPy arrays (or Python floats), so a float64
result stays float64 after the context has closed: a JAX float64 array would be truncated to
float32 by the first ``jnp`` operation outside it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import jax

F = TypeVar("F", bound=Callable)


def float64(fn: F) -> F:
    """Run ``fn`` with JAX's 64-bit types enabled (restored on return, also on error)."""

    @functools.wraps(fn)
    def in_float64(*args, **kwargs):
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return in_float64  # type: ignore[return-value]

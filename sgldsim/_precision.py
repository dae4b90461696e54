"""Double precision where the package needs it, without touching the user's process.

Importing sgldsim leaves ``jax_enable_x64`` as the user set it. The computations that need
float64 (exact measures, quadrature, the chain's invariant law, Wasserstein distances, float64
simulations, the experiment runner) run inside JAX's x64 context (``jax.enable_x64``; before
jax 0.8 ``jax.experimental.enable_x64``), which is thread-local,
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
# jax >= 0.8 has it at top level; older versions (down to the floor in pyproject) in experimental
enable_x64 = getattr(jax, "enable_x64", None)
if enable_x64 is None:  # pragma: no cover - exercised by the minimum-versions CI step
    from jax.experimental import enable_x64 as enable_x64


def float64(fn: F) -> F:
    """Run ``fn`` with JAX's 64-bit types enabled (restored on return, also on error)."""

    @functools.wraps(fn)
    def in_float64(*args, **kwargs):
        with enable_x64(True):
            return fn(*args, **kwargs)

    return in_float64  # type: ignore[return-value]

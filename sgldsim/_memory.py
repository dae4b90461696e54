"""Memory checks before large allocations: refuse in one line instead of running out of memory.

A computation whose size the user chooses (particles x cells x records, a transition operator's
band) estimates its bytes first and calls :func:`check_memory`, which compares the estimate with
the memory available to it: the accelerator's free memory for arrays that live there, otherwise
the host's available memory (``MemAvailable`` of ``/proc/meminfo``, else free physical pages).
Every experiment states its peak as a :class:`MemoryEstimate` (its module's ``peak_memory``),
which the runner checks before any cell runs (:mod:`sgldsim.runner`); a network's or a PINN's
working set is read off its traced computation without running it (:func:`working_elements`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class MemoryEstimate:
    """The peak bytes of a computation, and the words of the refusal when they do not fit.

    Attributes:
      needed: estimated bytes at the peak (an upper-order estimate: the dominant arrays, with
        the working copies the computation makes of them).
      what: the computation and its size, e.g. "a chunk of 8 cells x 81 records x
        n_particles = 5000".
      hint: what the user can lower, e.g. "lower params.n_particles or chunk_size".
    """

    needed: float
    what: str
    hint: str

    def check(self, available: int | None = None, device: bool = False) -> None:
        """:func:`check_memory` of this estimate."""
        check_memory(self.what, self.needed, self.hint, available, device)


def host_available_bytes() -> int | None:
    """Bytes of host memory available to a new allocation, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def device_available_bytes() -> int | None:
    """Free bytes of JAX's default device if it reports them (GPUs do), else host memory."""
    import jax

    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # noqa: BLE001 - backends without memory_stats raise various errors
        stats = {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    return host_available_bytes()


def format_bytes(n: float) -> str:
    """1.5e9 -> '1.5 GB' (decimal units)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def check_memory(what: str, needed: float, hint: str, available: int | None = None,
                 device: bool = False) -> None:
    """Raise ValueError if ``needed`` bytes exceed what is available.

    Args:
      what: the computation and its size, e.g. "simulate of 8 cells x 2 records x 1e9 particles".
      needed: estimated bytes.
      hint: what the user can lower, e.g. "lower n_particles or the number of records".
      available: bytes available (default: measured; no check when it cannot be measured).
      device: measure the default JAX device's memory instead of the host's.
    """
    if available is None:
        available = device_available_bytes() if device else host_available_bytes()
    if available is not None and needed > available:
        raise ValueError(f"{what} needs about {format_bytes(needed)} of memory but "
                         f"{format_bytes(available)} are available: {hint}")


# --- the working set of a traced JAX computation ------------------------------------------
KEPT_FRACTION = 0.25
"""Share of a traced computation's intermediates (every equation's output) that its compiled
program holds at once: XLA fuses elementwise chains and reuses buffers. Measured with XLA:CPU's
memory analysis of the package's networks (forward passes and gradients of the MLPs and the
strided CNN, PINN jets with their gradients and NTK Jacobians): the compiled temporaries were
1/4.5 to 1/7 of the intermediates, so counting a quarter stays above them, within 2x."""


def jaxpr_elements(jaxpr) -> int:
    """Elements of every intermediate (equation output) of a jaxpr, sub-jaxprs included (a
    scan's body once)."""
    from jax.extend.core import jaxprs_in_params

    total = 0
    for eqn in jaxpr.eqns:
        total += sum(math.prod(getattr(v.aval, "shape", ())) for v in eqn.outvars)
        for sub in jaxprs_in_params(eqn.params):
            total += jaxpr_elements(sub)
    return total


def traced_elements(fn: Callable, *args) -> int:
    """:func:`jaxpr_elements` of ``fn`` traced at ``args`` (arrays or ``jax.ShapeDtypeStruct``:
    nothing is allocated or run)."""
    import jax

    return jaxpr_elements(jax.make_jaxpr(fn)(*args).jaxpr)


def per_item_elements(fn: Callable, args_of: Callable[[int], tuple]) -> tuple[int, int]:
    """``(fixed, per_item)``: the intermediates' elements of ``fn(*args_of(n))`` are
    ``fixed + per_item * n`` (traced at n = 1 and 2)."""
    one, two = traced_elements(fn, *args_of(1)), traced_elements(fn, *args_of(2))
    return one - (two - one), two - one


def working_elements(fn: Callable, args_of: Callable[[int], tuple]) -> tuple[float, float]:
    """``(fixed, per_item)`` elements the compiled ``fn(*args_of(n))`` holds at once, about
    ``fixed + per_item * n``: :func:`per_item_elements` times :data:`KEPT_FRACTION`."""
    fixed, per_item = per_item_elements(fn, args_of)
    return KEPT_FRACTION * fixed, KEPT_FRACTION * per_item

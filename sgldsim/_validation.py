"""Argument checks shared by the public API: each names the bad value and what is allowed."""

from __future__ import annotations

import math

import numpy as np


def check_positive(name: str, value, allow_inf: bool = False) -> None:
    """Raise ValueError unless every entry of ``value`` is > 0 (and finite unless ``allow_inf``)."""
    arr = np.asarray(value, dtype=float)
    bad = ~(arr > 0) | (np.isinf(arr) & (not allow_inf)) | np.isnan(arr)
    if np.any(bad):
        allowed = "a positive number (inf allowed)" if allow_inf else "a positive finite number"
        raise ValueError(f"{name}={_show(value)} is not allowed: {name} must be {allowed}")


def check_nonnegative(name: str, value) -> None:
    """Raise ValueError unless every entry of ``value`` is finite and >= 0."""
    arr = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(arr) | (arr < 0)):
        raise ValueError(f"{name}={_show(value)} is not allowed: {name} must be finite and >= 0")


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(repr, choices))}")


def check_last_axis(name: str, x, dim: int) -> None:
    shape = np.shape(x)
    if len(shape) == 0 or shape[-1] != dim:
        raise ValueError(
            f"{name} has shape {tuple(shape)}, but this potential is {dim}-dimensional: "
            f"the last axis must have length {dim}"
        )


def _show(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        v = float(arr)
        return repr(v) if not math.isnan(v) else "nan"
    return np.array2string(arr, threshold=8)


def check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}={value!r} is not allowed: {name} must be a positive integer")

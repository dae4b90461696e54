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


def check_finite(name: str, value) -> None:
    """Raise ValueError unless every entry of ``value`` is finite (any sign)."""
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise ValueError(f"{name}={_show(value)} is not allowed: {name} must be finite")


def check_interval(name: str, value, low: float, high: float,
                   closed: tuple[bool, bool] = (False, True)) -> None:
    """Raise ValueError unless every entry of ``value`` lies between ``low`` and ``high``,
    each end included where ``closed`` says (default (low, high])."""
    arr = np.asarray(value, dtype=float)
    above = arr >= low if closed[0] else arr > low
    below = arr <= high if closed[1] else arr < high
    if not np.all(above & below):
        interval = f"{'[' if closed[0] else '('}{low:g}, {high:g}{']' if closed[1] else ')'}"
        raise ValueError(f"{name}={_show(value)} is not allowed: {name} must be in {interval}")


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
    """``value`` for an error message, on one line (long arrays summarised)."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        v = float(arr)
        return repr(v) if not math.isnan(v) else "nan"
    return np.array2string(arr, threshold=8, max_line_width=10**6).replace("\n", "")


def check_int(name: str, value, minimum: int = 1) -> None:
    """Raise ValueError unless ``value`` is an integer >= ``minimum``; a bool (``dim=True``) is
    not an integer here."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name}={value!r} is not allowed: {name} must be {allowed}")


def check_positive_int(name: str, value) -> None:
    check_int(name, value, 1)

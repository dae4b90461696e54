"""What every verdict function shares: the verdicts, the floor rule, input checks and the
least-squares and quantile helpers."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

VERDICTS = ("consistent", "inconsistent", "inconclusive", "untestable")
"""The verdicts a claim can get, in this order in tables and legends."""

FLOOR_FACTOR = 3.0
"""A value at or below this many times its floor measures the floor, not the quantity."""


class Verdict(NamedTuple):
    """A claim, whether the data are consistent with it (one of :data:`VERDICTS`), and why
    (numbers that ran)."""

    claim: str
    verdict: str
    reason: str


def _vector(name: str, values, size: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or (size is not None and array.size != size):
        shape = "a 1-D array" + (f" of length {size}" if size is not None else "")
        raise ValueError(f"{name} has shape {array.shape}; {shape} is required")
    return array


def _per_point(name: str, values, size: int) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    try:
        return np.broadcast_to(array, (size,)).astype(float)
    except ValueError:
        raise ValueError(f"{name} has shape {array.shape}; a number or one value per point "
                         f"({size}) is required") from None


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level} is not allowed: it must lie strictly between 0 and 1")


def _least_squares(design: np.ndarray, z: np.ndarray, sigma: np.ndarray | None):
    """Weighted least squares of z on the columns of ``design``.

    With known standard deviations ``sigma`` of z the covariance is (X' W X)^-1, inflated by
    chi^2 / dof when the scatter exceeds them (the Particle Data Group's scale factor, so a
    misfit widens the errors rather than sharpening the verdict); without, it is OLS's
    s^2 (X'X)^-1.

    Returns:
      ``(coefficients, covariance, dof)``.
    """
    weights = np.ones_like(z) if sigma is None else 1.0 / sigma
    xw, zw = design * weights[:, None], z * weights
    coef, *_ = np.linalg.lstsq(xw, zw, rcond=None)
    residual = zw - xw @ coef
    dof = z.size - design.shape[1]
    chi2_per_dof = float(residual @ residual / dof)
    scale = chi2_per_dof if sigma is None else max(1.0, chi2_per_dof)
    return coef, np.linalg.inv(xw.T @ xw) * scale, dof


def _quantile(p: float, dof: int, known_errors: bool) -> float:
    """The p quantile of the fitted coefficient's z-score: normal with known errors, Student's t
    with ``dof`` degrees of freedom with errors estimated from the residuals."""
    return float(stats.norm.ppf(p) if known_errors else stats.t.ppf(p, dof))

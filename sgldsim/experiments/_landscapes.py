"""Named 1-D landscapes the theory experiments share (config value -> potential)."""

from __future__ import annotations

from ..potentials import GaussianWells, Potential, sharp_flat_double_well
from ._config import ConfigError

FLAT_BASIN = {"sharp-flat-double-well": (0.0, float("inf")),
              "gaussian-wells": (0.0, float("inf"))}
"""The flat minimum's basin (lo, hi) for each landscape."""


def landscape(name: str, depth_gap: float = 0.0) -> Potential:
    """``sharp-flat-double-well`` (sharp minimum at -1, flat at +1, curvature ratio 10) or
    ``gaussian-wells`` (a narrow well at -2 and a wide one at +2 in a weak quadratic)."""
    if name == "sharp-flat-double-well":
        return sharp_flat_double_well(depth_gap=depth_gap)
    if name == "gaussian-wells":
        return GaussianWells(centers=[[-2.0], [2.0]], depths=[1.0 + depth_gap, 1.0],
                             widths=[0.25, 1.0], confinement=0.05)
    raise ConfigError(f"potential={name!r} is not allowed; allowed: "
                      f"{', '.join(repr(k) for k in FLAT_BASIN)}")


def parse_sigma_rule(rule: str, beta: float) -> tuple[float, float]:
    """``"eta=E"`` -> sigma = beta^(-(1+E)/4); ``"sigma=S"`` -> sigma = S. Returns (sigma, eta)
    where eta is the implied exponent 4 ln(1/sigma)/ln(beta) - 1."""
    from ..coupling import coupled_sigma, implied_eta

    kind, _, number = rule.partition("=")
    try:
        value = float(number)
    except ValueError:
        value = None
    if kind not in ("eta", "sigma") or value is None:
        raise ConfigError(f"sigma_rule={rule!r} is not allowed; allowed: 'eta=<number>' "
                          "(coupled) or 'sigma=<number>' (fixed)")
    if kind == "eta":
        return float(coupled_sigma(beta, value)), value
    if value <= 0:
        raise ConfigError(f"sigma_rule={rule!r} is not allowed: a fixed sigma must be > 0")
    return value, float(implied_eta(beta, value))

"""Parameter checks the theory experiments share."""

from __future__ import annotations

import numpy as np

from ...runner import ConfigError, ExperimentConfig, ExperimentParams


def cell_values(config: ExperimentConfig, fixed: ExperimentParams, name: str) -> list:
    """Every value parameter ``name`` takes over the cells: its grid values where it is swept,
    else its one fixed value (the declared default where the configuration omits it).

    ``fixed`` is ``Params.from_config(config)``, whose swept field holds its grid values.
    """
    value = getattr(fixed, name)
    return list(value) if name in config.grid else [value]


def key_path(config: ExperimentConfig, name: str) -> str:
    """``"grid.<name>"`` where parameter ``name`` is swept, else ``"params.<name>"`` (also for a
    default the configuration omits)."""
    return f"grid.{name}" if name in config.grid else f"params.{name}"


def check_coupling_betas(betas, key: str) -> None:
    """Every beta must be finite and > 1: the coupling exponent needs ln beta > 0.

    Args:
      betas: the values beta takes over the cells.
      key: where they come from (``grid.beta`` or ``params.beta``), named in the error.
    """
    for beta in betas:
        if not (beta > 1 and np.isfinite(beta)):
            raise ConfigError(f"{key}={beta} is not allowed: beta must be a finite number > 1 "
                              "(the coupling exponent needs ln beta > 0)")

"""Parameter checks several experiments share (each error names the key and what is allowed)."""

from __future__ import annotations

import numpy as np

from ... import nn
from ...runner import ConfigError, ExperimentConfig, ExperimentParams, cell_values
from ...runner.toml_io import format_value


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


def check_range(config: ExperimentConfig, params: ExperimentParams, name: str, low: float,
                high: float = float("inf"), low_inclusive: bool = False) -> None:
    """Every value (or list entry) of parameter ``name`` lies in (low, high] (or [low, high]);
    ``params`` is ``Params.from_config(config)``; ``None`` (a parameter left absent) passes."""
    for value in cell_values(config, params, name):
        if value is None:
            continue
        for v in value if isinstance(value, tuple) else [value]:
            above = v >= low if low_inclusive else v > low
            if not (above and v <= high):
                bracket = "[" if low_inclusive else "("
                raise ConfigError(f"{config.key_path(name)}={format_value(value)} is not allowed: "
                                  f"each value must be in {bracket}{low:g}, {high:g}]")


def check_lr_schedule(config: ExperimentConfig, params: ExperimentParams) -> None:
    """``lr_decay`` in (0, 1] and every ``lr_milestones`` a valid step schedule
    (:func:`sgldsim.nn.step_schedule`: increasing fractions of training in (0, 1)); ``params``
    is ``Params.from_config(config)``."""
    check_range(config, params, "lr_decay", 0.0, 1.0)
    for milestones in cell_values(config, params, "lr_milestones"):
        try:
            nn.step_schedule(1.0, 1, milestones, params.lr_decay)
        except ValueError as err:
            raise ConfigError(f"{config.key_path('lr_milestones')}: {err}") from None

"""Parameter checks the theory experiments share."""

from __future__ import annotations

import numpy as np

from ...runner import ConfigError


def check_coupling_betas(config) -> None:
    """Every beta of ``config`` must be finite and > 1: the coupling exponent needs ln beta > 0."""
    for beta in config.values("beta"):
        if not (beta > 1 and np.isfinite(beta)):
            raise ConfigError(f"{config.key_path('beta')}={beta} is not allowed: beta must be a "
                              "finite number > 1 (the coupling exponent needs ln beta > 0)")

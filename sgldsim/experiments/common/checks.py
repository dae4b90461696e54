"""Parameter checks the theory experiments share."""

from __future__ import annotations

import numpy as np

from ...runner import ConfigError


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

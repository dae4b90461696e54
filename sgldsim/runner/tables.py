"""Reshaping the tidy results table for summaries and figures."""

from __future__ import annotations

import dataclasses

import pandas as pd

from .config import ExperimentConfig


def cells_table(results: pd.DataFrame, config: ExperimentConfig, params=None) -> pd.DataFrame:
    """Wide form of ``results``: one row per cell (and label combination), one column per
    measure, plus a column for every scalar fixed parameter. Rows keep the results' order.

    ``params``: the run's typed parameters (``PARAMS.from_config(config)``); given, a scalar
    parameter the definition leaves at its declared default gets a column too."""
    keys = [c for c in results.columns if c not in ("measure", "value")]
    order = results[keys].drop_duplicates()
    wide = results.set_index([*keys, "measure"])["value"].unstack("measure").reset_index()
    wide.columns.name = None
    wide = order.merge(wide, on=keys, how="left")
    given = dict(config.params)
    if params is not None:
        given = {k: v for k, v in dataclasses.asdict(params).items() if k not in config.grid}
    fixed = {k: v for k, v in given.items() if not isinstance(v, list | tuple) and k not in wide}
    return wide.assign(**fixed)

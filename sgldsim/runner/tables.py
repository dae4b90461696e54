"""Reshaping the tidy results table for summaries and figures."""

from __future__ import annotations

import pandas as pd

from .config import ExperimentConfig


def cells_table(results: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """Wide form of ``results``: one row per cell (and label combination), one column per
    measure, plus a column for every scalar fixed parameter. Rows keep the results' order."""
    keys = [c for c in results.columns if c not in ("measure", "value")]
    order = results[keys].drop_duplicates()
    wide = results.set_index([*keys, "measure"])["value"].unstack("measure").reset_index()
    wide.columns.name = None
    wide = order.merge(wide, on=keys, how="left")
    fixed = {k: v for k, v in config.params.items() if not isinstance(v, list) and k not in wide}
    return wide.assign(**fixed)

"""Checks shared by the experiment tests: a wrong-typed parameter is a one-line ConfigError."""

from __future__ import annotations

import dataclasses
import re

import pytest

from sgldsim.runner import ConfigError, find_experiment, load_experiment, resolve_experiment


def assert_wrong_type_is_refused(name: str, key: str, value, expected: str) -> None:
    """Experiment ``name``'s definition with ``key`` (``params.x`` / ``grid.x``) set to ``value``,
    as a hand-edited file would, is refused before any work in one line naming the key and the
    ``expected`` type."""
    config = load_experiment(find_experiment(name))
    table, _, param = key.partition(".")
    config = dataclasses.replace(config, **{table: {**getattr(config, table), param: value}})
    with pytest.raises(ConfigError, match=f"{re.escape(key)}=.* is not allowed: expected "
                                          f"{re.escape(expected)}") as err:
        resolve_experiment(config)
    assert "\n" not in str(err.value)

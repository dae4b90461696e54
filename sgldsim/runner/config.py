"""Experiment definitions: TOML files, ``key=value`` overrides, and their type checks.

An experiment file (``experiments/<name>.toml``) holds::

    name = "demo-quadratic"          # must equal the file's stem
    description = "one line"
    module = "sgldsim.experiments.fsgld_theory.demo_quadratic"
    seed = 0
    chunk_size = 4                   # optional: cells per executor task
    figures = true                   # optional: included by ``sgldsim figures`` (default true)

    [params]                         # fixed parameters: scalars or lists
    n_particles = 20000

    [grid]                           # swept parameters: the cells are their Cartesian product
    step_size = [0.1, 0.2]
    beta = [1.0, 10.0]

A parameter lives in exactly one of ``[params]`` and ``[grid]``. Overrides are ``key=value`` with
the value in TOML syntax (a bare word is read as a string): ``seed=3``, ``chunk_size=8``,
``params.n_particles=1000``, ``grid.beta=[10,100]``. ``grid.x=...`` on a fixed parameter sweeps
it and ``params.x=...`` on a swept one fixes it. A new value must have the type of the value it
replaces (an integer is accepted where a number is expected and becomes a float).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .toml_io import format_value

RESERVED_NAMES = ("cell_id", "measure", "value")
"""Column names of the results table that a parameter may not take."""

_OVERRIDABLE = ("seed", "chunk_size")
_TOP_LEVEL = ("name", "description", "module", "seed", "chunk_size", "figures", "params", "grid")
_REQUIRED = ("name", "description", "module", "seed")


class ConfigError(ValueError):
    """A problem with an experiment definition, an override or a run folder that the user caused
    and can fix. The message is one line naming the bad key or value and what is allowed."""


@dataclass(frozen=True)
class ExperimentConfig:
    """A fully resolved experiment definition (what ``config.toml`` of a run holds).

    Attributes:
      name: experiment name (the TOML file's stem).
      description: one line.
      module: importable module implementing the experiment.
      seed: non-negative integer; each cell's PRNG key derives from (seed, cell id).
      params: fixed parameters (scalars or lists), shared by every cell.
      grid: swept parameters, each a non-empty list; cells are the Cartesian product, the first
        key varying slowest.
      chunk_size: cells per executor task; ``None`` until the runner fills in the module's
        ``CHUNK_SIZE`` (default 1).
      figures: whether ``sgldsim figures`` includes this experiment.
    """

    name: str
    description: str
    module: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list] = field(default_factory=dict)
    chunk_size: int | None = None
    figures: bool = True

    def key_path(self, name: str) -> str:
        """``"grid.<name>"`` where parameter ``name`` is swept, else ``"params.<name>"`` (also for
        a declared parameter the definition leaves at its default)."""
        return f"grid.{name}" if name in self.grid else f"params.{name}"

    def values(self, name: str) -> list:
        """Every value parameter ``name`` takes over the cells (one value if it is fixed)."""
        return list(self.grid[name]) if name in self.grid else [self.params[name]]

    def to_dict(self) -> dict:
        """The TOML document of this configuration (``chunk_size`` omitted while unresolved)."""
        document = {"name": self.name, "description": self.description, "module": self.module,
                    "seed": self.seed}
        if self.chunk_size is not None:
            document["chunk_size"] = self.chunk_size
        document |= {"figures": self.figures, "params": dict(self.params), "grid": dict(self.grid)}
        return document

    def result_defining(self) -> dict:
        """The fields that determine the results (not chunking, description or figure flag)."""
        return {"name": self.name, "module": self.module, "seed": self.seed,
                "params": dict(self.params), "grid": dict(self.grid)}


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read and check an experiment TOML file."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"experiment file {path} does not exist") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path} is not UTF-8 text (byte {err.object[err.start]:#04x} at "
                          f"offset {err.start}); save it as UTF-8") from None
    except OSError as err:
        raise ConfigError(f"cannot read experiment file {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    config = config_from_dict(document, source=str(path))
    if config.name != path.stem:
        raise ConfigError(f"{path}: name = {config.name!r} must equal the file name {path.stem!r}")
    return config


MOVED_MODULES = {
    "sgldsim.experiments.demo_quadratic":
        "sgldsim.experiments.fsgld_theory.demo_quadratic",
    "sgldsim.experiments.coupling":
        "sgldsim.experiments.fsgld_theory.coupling",
    "sgldsim.experiments.convergence":
        "sgldsim.experiments.fsgld_theory.convergence",
    "sgldsim.experiments.step_size_rate":
        "sgldsim.experiments.fsgld_theory.step_size_rate",
    "sgldsim.experiments.excess_risk":
        "sgldsim.experiments.fsgld_theory.excess_risk",
    "sgldsim.experiments.dimension":
        "sgldsim.experiments.fsgld_theory.dimension",
    "sgldsim.experiments.flatness":
        "sgldsim.experiments.fsgld_theory.flatness",
    "sgldsim.experiments.perturbation_noise":
        "sgldsim.experiments.fsgld_theory.perturbation_noise",
    "sgldsim.experiments.nn_cost":
        "sgldsim.experiments.fsgld_networks.nn_cost",
    "sgldsim.experiments.nn_coupling":
        "sgldsim.experiments.fsgld_networks.nn_coupling",
    "sgldsim.experiments.nn_noisy_labels":
        "sgldsim.experiments.fsgld_networks.nn_noisy_labels",
    "sgldsim.experiments.dgsam_toy":
        "sgldsim.experiments.dgsam.dgsam_toy",
    "sgldsim.experiments.dgsam_domains":
        "sgldsim.experiments.dgsam.dgsam_domains",
    "sgldsim.experiments.pinn_dcgd":
        "sgldsim.experiments.dcgd.pinn_dcgd",
}
"""Experiment modules of sgldsim 0.1, before the experiments were grouped by paper: a run folder
whose ``config.toml`` names one of them loads, shows and resumes under the new path (the module is
part of a run's identity, so the old name is translated, not compared)."""


def canonical_module(module: str) -> str:
    """The current import path of the experiment module ``module`` (old paths translated)."""
    return MOVED_MODULES.get(module, module)


def config_from_dict(document: dict, source: str = "experiment") -> ExperimentConfig:
    """Check a parsed TOML document and build the configuration it defines."""
    unknown = [k for k in document if k not in _TOP_LEVEL]
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; allowed: {', '.join(_TOP_LEVEL)}")
    missing = [k for k in _REQUIRED if k not in document]
    if missing:
        raise ConfigError(f"{source}: missing key {missing[0]!r}; required: {', '.join(_REQUIRED)}")
    for key in ("name", "description", "module"):
        if not isinstance(document[key], str) or not document[key].strip():
            raise ConfigError(f"{source}: {key} must be a non-empty string")
    if "\n" in document["description"]:
        raise ConfigError(f"{source}: description must be one line")
    if not isinstance(document.get("figures", True), bool):
        raise ConfigError(f"{source}: figures must be true or false")
    params = _checked_table(document.get("params", {}), "params", source)
    grid = _checked_table(document.get("grid", {}), "grid", source)
    for name, values in grid.items():
        grid[name] = _checked_grid_values(f"grid.{name}", values, element_default=None)
    both = sorted(set(params) & set(grid))
    if both:
        raise ConfigError(f"{source}: {both[0]!r} is in both [params] and [grid]; put it in one")
    return ExperimentConfig(
        name=document["name"], description=document["description"],
        module=canonical_module(document["module"]),
        seed=_checked_seed("seed", document["seed"]), params=params, grid=grid,
        chunk_size=(None if "chunk_size" not in document
                    else _checked_chunk_size("chunk_size", document["chunk_size"])),
        figures=document.get("figures", True),
    )


def apply_overrides(config: ExperimentConfig, overrides: Iterable[str],
                    declared: Iterable[str] = ()) -> ExperimentConfig:
    """Apply ``key=value`` overrides in order (see the module docstring for the keys).

    ``declared``: the parameter names the experiment module declares (its ``PARAMS``); these may
    be set even where the definition leaves them at their defaults."""
    declared = tuple(declared)
    for override in overrides:
        key, sep, text = override.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {override!r} must look like key=value, e.g. seed=3")
        config = set_value(config, key, parse_value(text.strip()), declared)
    return config


def parse_value(text: str):
    """A TOML value (``10``, ``1e-3``, ``[10, 100]``, ``true``, ``"a"``); a bare word is a str."""
    try:
        document = tomllib.loads(f"value = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return document["value"] if list(document) == ["value"] else text


def set_value(config: ExperimentConfig, key: str, value,
              declared: Iterable[str] = ()) -> ExperimentConfig:
    """Return ``config`` with ``key`` (``seed``, ``chunk_size``, ``params.x`` or ``grid.x``) set;
    ``x`` is a parameter the definition sets or one of the ``declared`` names."""
    if key == "seed":
        return dataclasses.replace(config, seed=_checked_seed(key, value))
    if key == "chunk_size":
        return dataclasses.replace(config, chunk_size=_checked_chunk_size(key, value))
    table, _, name = key.partition(".")
    declared = tuple(declared)
    known = name in config.params or name in config.grid
    if table not in ("params", "grid") or not (known or name in declared):
        raise ConfigError(f"unknown key {key!r}; allowed: {_allowed_keys(config, declared)}")
    params, grid = dict(config.params), dict(config.grid)
    # The type a new value must have: the fixed value, or an element of the swept list (a
    # declared parameter the definition omits is checked against its declared type later).
    default = (params[name] if name in params else grid[name][0]) if known else None
    params.pop(name, None)
    if table == "params":
        grid.pop(name, None)
        params[name] = _coerced(key, value, default)
    else:
        grid[name] = _checked_grid_values(key, value, element_default=default)
    return dataclasses.replace(config, params=params, grid=grid)


def _allowed_keys(config: ExperimentConfig, declared: Iterable[str] = ()) -> str:
    names = [*config.params, *config.grid]
    names += [n for n in declared if n not in names]
    allowed = ", ".join(_OVERRIDABLE)
    if names:
        allowed += f", params.<name> or grid.<name> with <name> in {{{', '.join(names)}}}"
    return allowed


def _checked_table(table, table_name: str, source: str) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {table_name} must be a table ([{table_name}])")
    checked = {}
    for name, value in table.items():
        if name in RESERVED_NAMES:
            raise ConfigError(f"{source}: {table_name}.{name}: {name!r} is reserved for a "
                              f"results column; reserved: {', '.join(RESERVED_NAMES)}")
        if not name.isidentifier():
            raise ConfigError(f"{source}: {table_name}.{name}: parameter names must be "
                              "identifiers (letters, digits, underscores)")
        checked[name] = _normalised(f"{table_name}.{name}", value, source)
    return checked


def _normalised(key: str, value, source: str):
    """Check a value read from a file: a supported scalar, or a list of one kind."""
    if isinstance(value, list):
        kinds = {_kind(v) for v in value}
        if kinds == {"integer", "number"}:  # [1, 2.5] is a list of numbers
            value = [float(v) for v in value]
        elif len(kinds) > 1:
            raise ConfigError(f"{source}: {key} mixes {' and '.join(sorted(kinds))}; "
                              "a list must hold values of one type")
        return [_normalised(key, v, source) for v in value]
    if _kind(value) == "unsupported":
        raise ConfigError(f"{source}: {key} has a {type(value).__name__} value; allowed: "
                          "strings, booleans, integers, numbers and lists of these")
    if not _finite(value):
        raise ConfigError(f"{source}: {key}={_shown(value)} is not allowed: numbers must be "
                          "finite (no inf or nan; TOML reads 1e400 as inf)")
    return value


def _kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "unsupported"


def _describe(default) -> str:
    """What a value replacing ``default`` must be, e.g. 'a number' or 'a list of integers'."""
    if default is None:
        return "a string, boolean, integer, number or list"
    if isinstance(default, list):
        return "a list" if not default else f"a list of {_plural(default[0])}"
    return {"boolean": "a boolean (true or false)", "integer": "an integer",
            "number": "a number", "string": "a string"}[_kind(default)]


def _plural(default) -> str:
    if isinstance(default, list):
        return "lists"
    return {"boolean": "booleans", "integer": "integers", "number": "numbers",
            "string": "strings"}[_kind(default)]


def _conformed(value, default):
    """``value`` converted to ``default``'s type, or ``None`` if it does not conform."""
    if default is None:
        return value if _kind(value) != "unsupported" else None
    if isinstance(default, bool) or isinstance(default, str):
        return value if type(value) is type(default) else None
    if isinstance(default, int):
        return value if _kind(value) == "integer" else None
    if isinstance(default, float):
        return float(value) if _kind(value) in ("integer", "number") else None
    if isinstance(default, list):
        if not isinstance(value, list):
            return None
        element_default = default[0] if default else None
        elements = [_conformed(v, element_default) for v in value]
        return None if any(e is None for e in elements) else elements
    return None


def _coerced(key: str, value, default):
    conformed = _conformed(value, default)
    if conformed is None:
        raise ConfigError(f"{key}={_shown(value)} is not allowed: "
                          f"{key} must be {_describe(default)}")
    _check_finite(key, conformed)
    return conformed


def _finite(value) -> bool:
    """False for inf or nan, also inside (nested) lists."""
    if isinstance(value, list):
        return all(map(_finite, value))
    return not isinstance(value, float) or math.isfinite(value)


def _check_finite(key: str, value) -> None:
    if not _finite(value):
        raise ConfigError(f"{key}={_shown(value)} is not allowed: numbers must be finite "
                          "(no inf or nan; TOML reads 1e400 as inf)")


def _checked_grid_values(key: str, value, element_default) -> list:
    """A sweep: a non-empty list without repeats. When overriding (``element_default`` given), a
    single value of the element type is a one-point sweep."""
    of = f" of {_plural(element_default)}" if element_default is not None else ""
    allowed = f"{key} must be a non-empty list{of}"
    single = None if element_default is None else _conformed(value, element_default)
    if single is not None:
        values = [single]
    elif isinstance(value, list):
        values = [v if element_default is None else _conformed(v, element_default) for v in value]
        if any(v is None for v in values):
            raise ConfigError(f"{key}={_shown(value)} is not allowed: {allowed}")
    else:
        raise ConfigError(f"{key}={_shown(value)} is not allowed: {allowed}")
    if not values:
        raise ConfigError(f"{key}=[] is not allowed: {allowed}")
    _check_finite(key, values)
    repeated = [v for i, v in enumerate(values) if v in values[:i]]
    if repeated:
        raise ConfigError(f"{key}={format_value(values)} is not allowed: "
                          f"{format_value(repeated[0])} appears twice; sweep each value once")
    return values


def _checked_seed(key: str, value) -> int:
    if _kind(value) != "integer" or not 0 <= value < 2**63:
        raise ConfigError(f"{key}={_shown(value)} is not allowed: "
                          f"{key} must be an integer in [0, 2**63)")
    return value


def _checked_chunk_size(key: str, value) -> int:
    if _kind(value) != "integer" or value < 1:
        raise ConfigError(f"{key}={_shown(value)} is not allowed: {key} must be a positive integer")
    return value


def _shown(value) -> str:
    """A value as the user would type it (TOML), or its repr if TOML cannot show it."""
    try:
        return format_value(value)
    except TypeError:
        return repr(value)

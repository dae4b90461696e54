"""Declared experiment parameters: one frozen dataclass per experiment, checked by the runner.

An experiment module declares its parameters once, as Hydra's structured configs do::

    @dataclass(frozen=True)
    class Params(ExperimentParams):
        '''demo-quadratic's parameters.

        Attributes:
          curvature: a of u(x) = a x^2 / 2.
          n_particles: particles per cell.
        '''

        curvature: float = 1.0
        n_particles: int = 20_000

    PARAMS = Params

The runner checks a TOML's ``[params]`` and ``[grid]`` (and every ``--set``) against it before
any work (:func:`check_params`): an unknown name, a value of the wrong type or a missing required
parameter is a :class:`~sgldsim.runner.ConfigError` naming the key and the allowed names.
Experiments read their values typed, never by string lookup::

    p = Params.from_cell(cell)          # one cell: every parameter, defaults filled in
    fixed = Params.from_config(config)  # the whole run: a swept field holds its grid values

Supported annotations: ``bool``, ``int``, ``float`` (an integer is accepted), ``str``,
``Literal[...]``, ``tuple[T, ...]`` (a TOML list; stored as a tuple), and ``T | None``.
A cell's id hashes the values the TOML gives, not the defaults, so declaring a default changes
no run's identity.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args, get_origin

from .config import ConfigError, ExperimentConfig

__all__ = ["ExperimentParams", "cell_values", "check_params", "describe_params"]


@dataclasses.dataclass(frozen=True)
class ExperimentParams:
    """Base of every experiment's parameter dataclass (subclass it as a frozen dataclass).

    Class attribute ``NOT_SWEPT``: names that set compiled shapes or a run's structure and must
    be fixed (``[params]``); :func:`check_params` refuses them in ``[grid]``.
    """

    NOT_SWEPT: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]):
        """The parameters given in ``values`` (converted to their declared types), defaults for
        the rest. Raises :class:`ConfigError` for an unknown name, a wrong type or a missing
        required parameter."""
        hints = _check_names(cls, values)
        return cls(**{n: _converted(n, v, hints[n]) for n, v in values.items()})

    @classmethod
    def from_cell(cls, cell):
        """One cell's parameters (fixed and swept values), typed."""
        return cls.from_mapping(cell.params)

    @classmethod
    def from_config(cls, config: ExperimentConfig):
        """The run's parameters: fixed ones typed, a swept one the tuple of its grid values (each
        converted to the field's type), a missing one its default."""
        hints = _check_names(cls, [*config.params, *config.grid])
        values = {n: _converted(f"params.{n}", v, hints[n]) for n, v in config.params.items()}
        values |= {n: tuple(_converted(f"grid.{n}", v, hints[n]) for v in grid_values)
                   for n, grid_values in config.grid.items()}
        return cls(**values)

    @classmethod
    def names(cls) -> list[str]:
        """The declared parameter names, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]


def cell_values(config: ExperimentConfig, params: ExperimentParams, name: str) -> list:
    """Every value parameter ``name`` takes over the cells of ``config``, typed: its grid values
    where it is swept, else its one value (the definition's or the declared default).

    ``params`` is ``Params.from_config(config)``, whose swept fields hold their grid values."""
    value = getattr(params, name)
    return list(value) if name in config.grid else [value]


def check_params(config: ExperimentConfig, params_type: type[ExperimentParams]) -> None:
    """Check every fixed and swept value of ``config`` against ``params_type``.

    Raises:
      ConfigError: one line: ``experiment 'x': unknown parameter 'k'; allowed: a, b, c``, or the
        key (``params.k`` / ``grid.k``), its value and the declared type, or a missing required
        parameter with the required names.
    """
    hints = _hints(params_type)
    allowed = ", ".join(sorted(hints))
    for name in [*config.params, *config.grid]:
        if name not in hints:
            raise ConfigError(f"experiment {config.name!r}: unknown parameter {name!r} for "
                              f"module {config.module}; allowed: {allowed}")
    missing = sorted(n for n in _required(params_type)
                     if n not in config.params and n not in config.grid)
    if missing:
        raise ConfigError(f"experiment {config.name!r}: missing parameter {missing[0]!r}, which "
                          f"module {config.module} needs; required: "
                          f"{', '.join(sorted(_required(params_type)))}")
    for name in config.grid:
        if name in params_type.NOT_SWEPT:
            raise ConfigError(f"grid.{name} is not allowed: {name} must be fixed "
                              f"(params.{name}); fixed-only: {', '.join(params_type.NOT_SWEPT)}")
    for name, value in config.params.items():
        _converted(f"params.{name}", value, hints[name])
    for name, values in config.grid.items():
        for value in values:
            _converted(f"grid.{name}", value, hints[name])


def describe_params(params_type: type[ExperimentParams]) -> list[tuple[str, str, str]]:
    """``(name, type, default)`` for each declared parameter (``"required"`` without default)."""
    hints = _hints(params_type)
    rows = []
    for f in dataclasses.fields(params_type):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        rows.append((f.name, _type_name(hints[f.name]), default))
    return rows


def _check_names(cls, names) -> dict[str, Any]:
    """The type hints of ``cls``, after refusing unknown names and missing required ones."""
    hints = _hints(cls)
    unknown = sorted(set(names) - set(hints))
    if unknown:
        raise ConfigError(f"unknown parameter {unknown[0]!r}; allowed: {', '.join(sorted(hints))}")
    missing = sorted(n for n in _required(cls) if n not in names)
    if missing:
        raise ConfigError(f"missing parameter {missing[0]!r}; required: "
                          f"{', '.join(sorted(_required(cls)))}")
    return hints


def _hints(cls) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in typing.get_type_hints(cls).items() if k in names}


def _required(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


def _type_name(annotation) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(annotation))
    if origin is tuple:
        return f"list of {_type_name(get_args(annotation)[0])}"
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation))


def _converted(key: str, value, annotation):
    """``value`` as ``annotation`` says, or a ConfigError naming ``key``, the value and type."""
    ok, converted = _convert(value, annotation)
    if not ok:
        raise ConfigError(f"{key}={_shown(value)} is not allowed: expected "
                          f"{_type_name(annotation)}")
    return converted


def _convert(value, annotation) -> tuple[bool, Any]:
    origin = get_origin(annotation)
    if annotation is Any:
        return True, value
    if origin is Literal:
        choices = get_args(annotation)
        return (value in choices and type(value) in {type(c) for c in choices}), value
    if origin in (typing.Union, types.UnionType):
        for option in get_args(annotation):
            ok, converted = _convert(value, option)
            if ok:
                return True, converted
        return False, None
    if annotation is type(None):
        return value is None, None
    if origin is tuple:
        args = get_args(annotation)
        if not isinstance(value, list | tuple):
            return False, None
        element = args[0]
        items = [_convert(v, element) for v in value]
        if not all(ok for ok, _ in items):
            return False, None
        return True, tuple(v for _, v in items)
    if annotation is bool:
        return isinstance(value, bool), value
    if annotation is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False, None
        return True, float(value)
    if annotation is str:
        return isinstance(value, str), value
    return isinstance(value, annotation), value


def _shown(value) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return repr(value)
    return str(value)

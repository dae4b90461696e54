"""Declared experiment parameters (sgldsim.runner.params): every shipped definition resolves
against its module's ``PARAMS``; unknown names, wrong types and sweeps of fixed-only parameters
are one-line errors naming the key and what is allowed; the type conversions themselves."""

from __future__ import annotations

import dataclasses
import importlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from test_cli import assert_one_line_error, cli

from sgldsim.runner import (
    ConfigError,
    ExperimentConfig,
    ExperimentParams,
    check_params,
    describe_params,
    resolve_experiment,
)

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SHIPPED = sorted(EXPERIMENTS.glob("*.toml"))
THEORY = "sgldsim.experiments.fsgld_theory."
CONVERTED = {f"{THEORY}{name}" for name in (
    "demo_quadratic", "coupling", "convergence", "step_size_rate", "excess_risk", "dimension",
    "flatness", "perturbation_noise")}
"""Modules known to declare PARAMS (others may, once converted: they are checked too)."""


def _module_of(path: Path) -> str:
    with open(path, "rb") as f:
        return tomllib.load(f)["module"]


def _params_type(module_name: str):
    return getattr(importlib.import_module(module_name), "PARAMS", None)


# --- 1. every shipped definition against its module's declaration ------------------------------


def test_every_shipped_definition_resolves_against_its_declared_params():
    checked, failures = set(), []
    for path in SHIPPED:
        module_name = _module_of(path)
        params_type = _params_type(module_name)
        if params_type is None:
            continue
        try:
            config, _ = resolve_experiment(path)
            fixed = params_type.from_config(config)
        except Exception as err:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{path.name}: {type(err).__name__}: {err}")
            continue
        for name, values in config.grid.items():  # a swept field: the tuple of its grid values
            assert len(getattr(fixed, name)) == len(values), (path.name, name)
        checked.add(module_name)
    assert not failures, "\n".join(failures)
    assert CONVERTED <= checked, sorted(CONVERTED - checked)


def test_declared_defaults_are_the_shipped_values_and_each_parameter_is_documented():
    """Each fixed value a theory definition sets is its field's default (so declaring a default
    changes no run), and every module's Params docstring names every parameter it declares."""
    modules = {_module_of(p) for p in SHIPPED}
    for module_name in sorted(modules):
        params_type = _params_type(module_name)
        if params_type is None:
            continue
        # A field is documented in the Attributes section of its class or of the base declaring it.
        docs = [c.__doc__ or "" for c in params_type.__mro__ if dataclasses.is_dataclass(c)]
        assert "Attributes:" in docs[0], module_name
        sections = " ".join(d.split("Attributes:")[1] for d in docs if "Attributes:" in d)
        for field in dataclasses.fields(params_type):
            assert field.name in sections, (module_name, field.name)
    for path in SHIPPED:
        module_name = _module_of(path)
        if not module_name.startswith(THEORY):
            continue
        config, _ = resolve_experiment(path)
        defaults = {f.name: f.default for f in dataclasses.fields(_params_type(module_name))}
        fixed = _params_type(module_name).from_config(config)
        for name in config.params:
            assert getattr(fixed, name) == defaults[name], (path.name, name)
        for name in config.grid:
            assert name in defaults, (path.name, name)


# --- 2. unknown names and wrong types: one line, the key, what is allowed ----------------------


def test_unknown_parameter_through_set_names_the_key_and_the_allowed_names(capsys, tmp_path):
    assert_one_line_error(*cli(capsys, "run", "coupling", "--set", "params.dimz=[1]",
                               "--out", tmp_path / "r"),
                          "'params.dimz'", "allowed: ", "params.<name> or grid.<name>",
                          "dims", "fit_from_beta")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("override", "fragments"), [
    ("params.n_particles=1.5", ("params.n_particles=1.5", "integer")),
    ("params.n_particles=true", ("params.n_particles=true", "integer")),
    ("params.n_particles='many'", ('params.n_particles="many"', "integer")),
])
def test_wrong_type_through_set_names_the_key_and_the_type(capsys, tmp_path, override,
                                                           fragments):
    assert_one_line_error(*cli(capsys, "run", "convergence", "--set", override,
                               "--out", tmp_path / "r"), "is not allowed", *fragments)
    assert not (tmp_path / "r").exists()


def test_choice_outside_a_literal_through_set_names_the_choices(capsys, tmp_path):
    assert_one_line_error(*cli(capsys, "run", "dimension", "--set",
                               "grid.part=['separable', 'sideways']", "--out", tmp_path / "r"),
                          "grid.part='sideways' is not allowed",
                          "'separable' | 'radial' | 'particles' | 'ksd'")
    assert not (tmp_path / "r").exists()


def _coupling_toml(folder: Path, **params) -> Path:
    """A custom coupling definition: the shipped one with ``params`` added or replaced."""
    fixed = {"potential": '"sharp-flat-double-well"', "dims": "[1, 10]",
             "fit_from_beta": "100.0", **params}
    path = folder / "my-coupling.toml"
    path.write_text("\n".join([
        'name = "my-coupling"', 'description = "d"',
        'module = "sgldsim.experiments.fsgld_theory.coupling"', "seed = 0",
        "[params]", *(f"{k} = {v}" for k, v in fixed.items()),
        "[grid]", 'sigma_rule = ["eta=0.5"]', "beta = [10.0, 100.0]"]) + "\n")
    return path


def test_unknown_parameter_in_a_custom_toml_names_the_allowed_names(capsys, tmp_path):
    path = _coupling_toml(tmp_path, fit_from=100.0)
    assert_one_line_error(*cli(capsys, "run", path, "--out", tmp_path / "r"),
                          "unknown parameter 'fit_from'",
                          "allowed: beta, dims, fit_from_beta, potential, sigma_rule")


@pytest.mark.parametrize(("value", "shown", "expected"), [
    ("[1, 2.5]", "params.dims=[1.0, 2.5]", "expected list of int"),  # TOML reads 1.0
    ("10", "params.dims=10", "expected list of int"),
    ("[true]", "params.dims=[True]", "expected list of int"),
])
def test_wrong_type_in_a_custom_toml_names_the_key_and_the_type(capsys, tmp_path, value, shown,
                                                                expected):
    path = _coupling_toml(tmp_path, dims=value)
    assert_one_line_error(*cli(capsys, "run", path, "--out", tmp_path / "r"),
                          f"{shown} is not allowed: {expected}")


def test_a_default_is_used_where_a_custom_toml_omits_a_parameter(tmp_path):
    path = _coupling_toml(tmp_path)
    text = path.read_text().replace("fit_from_beta = 100.0\n", "")
    path.write_text(text)
    config, module = resolve_experiment(path)
    assert "fit_from_beta" not in config.params
    assert module.Params.from_config(config).fit_from_beta == 100.0


# --- 3. fixed-only parameters -------------------------------------------------------------------


@pytest.mark.parametrize(("experiment", "override", "name"), [
    ("convergence", "grid.n_particles=[100, 200]", "n_particles"),
    ("step-size-rate", "grid.multimodal_tolerance=[0.1, 0.2]", "multimodal_tolerance"),
    ("coupling", "grid.fit_from_beta=[10.0, 100.0]", "fit_from_beta"),
    ("flatness", "grid.n_steps=[1000, 2000]", "n_steps"),
    ("perturbation-noise", "grid.beta=[16.0, 32.0]", "beta"),
    ("dimension", "grid.step_size=[0.001, 0.002]", "step_size"),
])
def test_sweeping_a_fixed_only_parameter_is_refused(capsys, tmp_path, experiment, override,
                                                    name):
    assert_one_line_error(*cli(capsys, "run", experiment, "--set", override,
                               "--out", tmp_path / "r"),
                          f"grid.{name} is not allowed: {name} must be fixed "
                          f"(params.{name}); fixed-only: ")
    assert not (tmp_path / "r").exists()


# --- 4. the conversions of sgldsim.runner.params -----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Example(ExperimentParams):
    """A parameter of each supported kind.

    Attributes:
      count: an int.
      scale: a float.
      flag: a bool.
      label: a str.
      mode: a choice.
      sizes: a list of ints.
      weights: a list of floats.
      limit: a float or none.
      required: an int without a default.
    """

    NOT_SWEPT = ("sizes",)

    count: int = 3
    scale: float = 1.0
    flag: bool = False
    label: str = "a"
    mode: Literal["fast", "slow"] = "fast"
    sizes: tuple[int, ...] = (1, 2)
    weights: tuple[float, ...] = (0.5,)
    limit: float | None = None
    required: int


def _config(params=None, grid=None) -> ExperimentConfig:
    return ExperimentConfig(name="example", description="d", module="example", seed=0,
                            params={"required": 1, **(params or {})}, grid=grid or {})


def test_values_are_converted_to_their_declared_types():
    p = Example.from_mapping({"required": 7, "scale": 2, "sizes": [4, 5], "weights": [1, 2.5],
                              "limit": 3, "mode": "slow", "flag": True})
    assert p == Example(required=7, scale=2.0, sizes=(4, 5), weights=(1.0, 2.5), limit=3.0,
                        mode="slow", flag=True)
    assert type(p.scale) is float and type(p.limit) is float
    assert all(type(w) is float for w in p.weights)
    assert type(p.sizes) is tuple
    assert Example.from_mapping({"required": 1, "limit": None}).limit is None
    defaults = Example.from_mapping({"required": 1})
    assert (defaults.count, defaults.mode, defaults.sizes) == (3, "fast", (1, 2))


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("count", True, "expected int"),  # bool is not an int
    ("count", 1.0, "expected int"),
    ("scale", False, "expected float"),  # ... nor a float
    ("scale", "1", "expected float"),
    ("flag", 1, "expected bool"),  # an int is not a bool
    ("label", 1, "expected str"),
    ("mode", "medium", "expected 'fast' | 'slow'"),
    ("mode", 1, "expected 'fast' | 'slow'"),
    ("sizes", 3, "expected list of int"),
    ("sizes", [1, True], "expected list of int"),
    ("sizes", [1, 2.0], "expected list of int"),
    ("weights", ["a"], "expected list of float"),
    ("limit", "none", "expected float | none"),
    ("limit", True, "expected float | none"),
])
def test_wrong_types_are_refused_naming_the_key_and_the_type(name, value, expected):
    with pytest.raises(ConfigError, match=f"^{name}=.* is not allowed: {expected}$"):
        Example.from_mapping({"required": 1, name: value})
    with pytest.raises(ConfigError, match=f"^params.{name}=.* is not allowed: {expected}$"):
        check_params(_config({name: value}), Example)


def test_literal_choices_must_match_in_type():
    @dataclass(frozen=True)
    class Choice(ExperimentParams):
        """Attributes:
        level: 1 or 2."""

        level: Literal[1, 2] = 1

    assert Choice.from_mapping({"level": 2}).level == 2
    with pytest.raises(ConfigError, match="expected 1 | 2"):
        Choice.from_mapping({"level": True})  # True == 1, but it is a bool
    with pytest.raises(ConfigError, match="expected 1 | 2"):
        Choice.from_mapping({"level": 2.0})


def test_unknown_and_missing_names_are_refused_with_the_allowed_ones():
    allowed = "count, flag, label, limit, mode, required, scale, sizes, weights"
    with pytest.raises(ConfigError, match=f"unknown parameter 'cuont'; allowed: {allowed}$"):
        Example.from_mapping({"required": 1, "cuont": 2})
    with pytest.raises(ConfigError, match=f"unknown parameter 'cuont' for module example; "
                                          f"allowed: {allowed}$"):
        check_params(_config({"cuont": 2}), Example)
    with pytest.raises(ConfigError, match=f"unknown parameter 'cuont' for module example; "
                                          f"allowed: {allowed}$"):
        check_params(_config(grid={"cuont": [1, 2]}), Example)
    with pytest.raises(ConfigError, match="missing parameter 'required'; required: required$"):
        Example.from_mapping({})
    with pytest.raises(ConfigError, match="missing parameter 'required', which module example "
                                          "needs"):
        check_params(ExperimentConfig("example", "d", "example", 0, params={}, grid={}),
                     Example)


def test_every_grid_value_is_checked():
    check_params(_config(grid={"count": [1, 2], "mode": ["fast", "slow"]}), Example)
    for grid, bad in (({"count": [1, 2.5]}, "grid.count=2.5"),
                      ({"count": [1, False]}, "grid.count=False"),
                      ({"mode": ["fast", "medium"]}, "grid.mode='medium'"),
                      ({"weights": [[1.0], ["x"]]}, "grid.weights=['x']")):
        with pytest.raises(ConfigError, match=f"^{re.escape(bad)} is not allowed"):
            check_params(_config(grid=grid), Example)
        with pytest.raises(ConfigError, match=f"^{re.escape(bad)} is not allowed"):
            Example.from_config(_config(grid=grid))


def test_fixed_only_names_are_refused_in_the_grid():
    with pytest.raises(ConfigError, match=r"^grid.sizes is not allowed: sizes must be fixed "
                                          r"\(params.sizes\); fixed-only: sizes$"):
        check_params(_config(grid={"sizes": [[1], [2]]}), Example)


def test_from_config_holds_a_swept_field_as_the_tuple_of_its_grid_values():
    fixed = Example.from_config(_config({"scale": 3}, grid={"count": [1, 2], "weights": [[1],
                                                                                        [2, 3]]}))
    assert fixed.count == (1, 2) and fixed.scale == 3.0 and type(fixed.scale) is float
    assert fixed.weights == ((1.0,), (2.0, 3.0))
    assert fixed.label == "a"  # a default


def test_describe_params_lists_types_and_defaults():
    rows = dict((name, (kind, default)) for name, kind, default in describe_params(Example))
    assert rows["count"] == ("int", "3")
    assert rows["mode"] == ("'fast' | 'slow'", "'fast'")
    assert rows["sizes"] == ("list of int", "(1, 2)")
    assert rows["limit"] == ("float | none", "None")
    assert rows["required"] == ("int", "required")

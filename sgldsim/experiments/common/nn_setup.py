"""What the neural-network experiments share: datasets and models from parameters, the key
convention of seeds, and parameter checks (docs/theory.md §7).

Key convention (common random numbers): seed s of an experiment with seed ``seed`` uses
``k_s = jax.random.fold_in(jax.random.key(seed), s)``; its label noise is drawn from
``fold_in(k_s, 0)`` and its training (initialisation, batch order, method randomness) from
``fold_in(k_s, 1)``. Every method, configuration and noise setting of seed s therefore sees the
same initial network, the same batch order and the same flipped examples (a label flipped at
rate 0.2 is flipped at rate 0.4 too), so differences between methods are paired.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ... import nn
from ...runner import ConfigError, ExperimentConfig


@functools.cache
def dataset_for(name: str, num_samples_mnist1d: int, validation_fraction: float,
                test_fraction: float, split_seed: int) -> nn.Dataset:
    """The clean dataset ``name`` split by ``split_seed`` (cached)."""
    return nn.load_dataset(name, validation_fraction=validation_fraction,
                           test_fraction=test_fraction, seed=split_seed,
                           num_samples=num_samples_mnist1d if name == "mnist1d" else None)


def dataset_from_params(params: dict, name: str | None = None) -> nn.Dataset:
    """:func:`dataset_for` with an experiment's parameters (``name`` defaults to
    ``params["dataset"]``)."""
    return dataset_for(name or params["dataset"], int(params["num_samples_mnist1d"]),
                       float(params["validation_fraction"]), float(params["test_fraction"]),
                       int(params["split_seed"]))


WIDTHS = {"mlp": "mlp_hidden", "cnn": "cnn_channels", "residual_mlp": "residual_mlp_hidden",
          "strided_cnn": "strided_cnn_channels"}
"""The parameter holding each model's widths (absent: the model's default widths)."""


def model_from_params(params: dict, name: str, dataset: nn.Dataset, flat: bool = True
                      ) -> nn.Model:
    """Model ``name`` of :data:`sgldsim.nn.MODELS` for the dataset's input shape, widths from
    ``params[WIDTHS[name]]`` if present, on a flat parameter vector
    (:func:`sgldsim.nn.flat_model`: the same methods, a much faster compilation) unless
    ``flat`` is false."""
    widths = params.get(WIDTHS[name])
    model = nn.model_from_name(name, dataset.train.x.shape[1:], nn.NUM_CLASSES,
                               None if widths is None else tuple(widths))
    return nn.flat_model(model) if flat else model


def parse_task(task: str) -> tuple[str, str]:
    """``"<dataset>/<model>"`` -> ``(dataset, model)``, both checked."""
    dataset, _, model = str(task).partition("/")
    if dataset not in nn.DATASETS or model not in nn.MODELS:
        raise ValueError(f"task={task!r} is not allowed: '<dataset>/<model>' with dataset in "
                         f"{', '.join(nn.DATASETS)} and model in {', '.join(nn.MODELS)}")
    return dataset, model


def seed_keys(seed: int, num_seeds: int) -> tuple[jax.Array, jax.Array]:
    """``(noise_keys, train_keys)``, each of shape (num_seeds,), as in the module docstring."""
    keys = [jax.random.fold_in(jax.random.key(seed), s) for s in range(num_seeds)]
    return (jnp.stack([jax.random.fold_in(k, 0) for k in keys]),
            jnp.stack([jax.random.fold_in(k, 1) for k in keys]))


def noisy_label_sets(noise_keys, dataset: nn.Dataset, noise: str, rate: float
                     ) -> tuple[jax.Array, jax.Array]:
    """Noisy (train, validation) labels of every seed: int[S, n_train], int[S, n_validation]."""
    noisy = [nn.with_label_noise(k, dataset, noise, rate, nn.NUM_CLASSES) for k in noise_keys]
    return (jnp.stack([d.train.y for d in noisy]), jnp.stack([d.validation.y for d in noisy]))


def check_choices(config: ExperimentConfig, name: str, allowed) -> None:
    """Every value of parameter ``name`` is one of ``allowed``."""
    for value in config.values(name):
        if value not in allowed:
            raise ConfigError(f"{config.key_path(name)}={value!r} is not allowed; allowed: "
                              f"{', '.join(map(repr, allowed))}")


def check_range(config: ExperimentConfig, name: str, low: float, high: float = float("inf"),
                integer: bool = False, low_inclusive: bool = False) -> None:
    """Every value (or list entry) of parameter ``name`` lies in (low, high] (or [low, high])."""
    for value in config.values(name):
        for v in value if isinstance(value, list) else [value]:
            above = v >= low if low_inclusive else v > low
            if not (above and v <= high) or (integer and int(v) != v):
                kind = "an integer" if integer else "a number"
                bracket = "[" if low_inclusive else "("
                raise ConfigError(f"{config.key_path(name)}={value!r} is not allowed: each value "
                                  f"must be {kind} in {bracket}{low:g}, {high:g}]")


def check_fixed(config: ExperimentConfig, *names: str) -> None:
    """Parameters that set array shapes or the tuning grid cannot be swept."""
    for name in names:
        if name in config.grid:
            raise ConfigError(f"grid.{name} is not allowed: {name} must be fixed "
                              f"(params.{name})")


def check_dataset_fits(config: ExperimentConfig) -> None:
    """The datasets load (an uninstalled mnist1d is named) and batch_size fits their train
    split (datasets from ``dataset`` or from the tasks ``"<dataset>/<model>"``)."""
    names = (config.values("dataset") if "dataset" in config.params or "dataset" in config.grid
             else [parse_task(t)[0] for t in config.values("task")])
    for name in dict.fromkeys(names):
        try:
            dataset = dataset_from_params(config.params, name)
        except (ImportError, ValueError) as err:
            raise ConfigError(f"{config.key_path('dataset')}={name!r}: {err}") from None
        n = dataset.train.y.shape[0]
        for batch_size in config.values("batch_size"):
            if batch_size > n:
                raise ConfigError(f"{config.key_path('batch_size')}={batch_size} is not allowed "
                                  f"for dataset {name!r}: at most {n} (its training examples)")


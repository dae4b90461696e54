"""What the neural-network experiments share: their declared data split and widths
(:class:`NetworkParams`), datasets and models from them, the key convention of seeds, and
parameter checks (docs/theory.md §7).

Key convention (common random numbers): seed s of an experiment with seed ``seed`` uses
``k_s = jax.random.fold_in(jax.random.key(seed), s)``; its label noise is drawn from
``fold_in(k_s, 0)`` and its training (initialisation, batch order, method randomness) from
``fold_in(k_s, 1)``. Every method, configuration and noise setting of seed s therefore sees the
same initial network, the same batch order and the same flipped examples (a label flipped at
rate 0.2 is flipped at rate 0.4 too), so differences between methods are paired.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp

from ... import nn
from ...runner import ConfigError, ExperimentConfig, ExperimentParams
from .memory import curvature_bytes, network_footprint, split_bytes, training_bytes

DatasetName = Literal[nn.DATASETS]
"""A dataset of :data:`sgldsim.nn.DATASETS`."""
ModelName = Literal[tuple(nn.MODELS)]
"""A model of :data:`sgldsim.nn.MODELS`."""
NoiseKind = Literal[nn.NOISE_KINDS]
"""A label-noise kind of :data:`sgldsim.nn.NOISE_KINDS`."""


@dataclass(frozen=True)
class NetworkParams(ExperimentParams):
    """What the neural-network experiments share: the data split and the models' widths (the
    split is fixed: one dataset per run).

    Attributes:
      num_samples_mnist1d: MNIST-1D signals generated (the generator's default size 5000); > 0.
      validation_fraction: share of the examples in the validation split; in (0, 1).
      test_fraction: share of the examples in the test split; in (0, 1).
      split_seed: seed of the train/validation/test permutation.
      mlp_hidden: hidden widths of ``mlp``; each > 0 (absent: the model's default).
      cnn_channels: channels of ``cnn``; each > 0 (absent: the model's default).
      residual_mlp_hidden: hidden widths of ``residual_mlp``; each > 0 (absent: the default).
      strided_cnn_channels: channels of ``strided_cnn``, one per kernel; each > 0 (absent:
        the default).
    """

    NOT_SWEPT = ("num_samples_mnist1d", "validation_fraction", "test_fraction", "split_seed")

    num_samples_mnist1d: int = 5000
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0
    mlp_hidden: tuple[int, ...] | None = None
    cnn_channels: tuple[int, ...] | None = None
    residual_mlp_hidden: tuple[int, ...] | None = None
    strided_cnn_channels: tuple[int, ...] | None = None

    def widths(self, model: str) -> tuple[int, ...] | None:
        """The widths of model ``model`` (``None``: the model's default widths)."""
        return {"mlp": self.mlp_hidden, "cnn": self.cnn_channels,
                "residual_mlp": self.residual_mlp_hidden,
                "strided_cnn": self.strided_cnn_channels}[model]


WIDTHS = ("mlp_hidden", "cnn_channels", "residual_mlp_hidden", "strided_cnn_channels")
"""The parameters holding the models' widths (:meth:`NetworkParams.widths`)."""


@functools.cache
def dataset_for(name: str, num_samples_mnist1d: int, validation_fraction: float,
                test_fraction: float, split_seed: int) -> nn.Dataset:
    """The clean dataset ``name`` split by ``split_seed`` (cached)."""
    return nn.load_dataset(name, validation_fraction=validation_fraction,
                           test_fraction=test_fraction, seed=split_seed,
                           num_samples=num_samples_mnist1d if name == "mnist1d" else None)


def dataset_from_params(p: NetworkParams, name: str) -> nn.Dataset:
    """:func:`dataset_for` dataset ``name`` with the split of ``p``."""
    return dataset_for(name, p.num_samples_mnist1d, p.validation_fraction, p.test_fraction,
                       p.split_seed)


def model_from_params(p: NetworkParams, name: str, dataset: nn.Dataset, flat: bool = True
                      ) -> nn.Model:
    """Model ``name`` of :data:`sgldsim.nn.MODELS` for the dataset's input shape, widths
    ``p.widths(name)``, on a flat parameter vector (:func:`sgldsim.nn.flat_model`: the same
    methods, a much faster compilation) unless ``flat`` is false."""
    model = nn.model_from_name(name, dataset.train.x.shape[1:], nn.NUM_CLASSES, p.widths(name))
    return nn.flat_model(model) if flat else model


def classifier_runs_memory(p: NetworkParams, dataset_name: str, model_name: str, runs: int,
                           batch_size: int, epochs: int = 1, curvature_runs: int = 0,
                           hessian_examples: int = 0, lanczos_iterations: int = 0,
                           evaluate: bool = True) -> tuple[float, int]:
    """Peak bytes of :func:`sgldsim.nn.train_classifier_runs` of ``runs`` runs (each with its
    noisy labels and per-epoch accuracies; an evaluation is a forward pass over a whole split)
    and, after it, :func:`sgldsim.nn.curvature_runs` of ``curvature_runs``, beside the dataset;
    and the model's number of parameters. ``evaluate=False``: the runs only train."""
    dataset = dataset_from_params(p, dataset_name)
    widths = p.widths(model_name)
    footprint = network_footprint(model_name, tuple(dataset.train.x.shape[1:]),
                                  None if widths is None else tuple(widths))
    sizes = [split.y.shape[0] for split in dataset]
    labels = 4.0 * (sizes[0] + sizes[1]) + 8.0 * epochs
    train = training_bytes(footprint, runs, batch_size, max(sizes) if evaluate else 0,
                           data_bytes_per_run=labels)
    curvature = curvature_bytes(footprint, curvature_runs, hessian_examples, lanczos_iterations)
    return max(train, curvature) + sum(map(split_bytes, dataset)), footprint.params


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


def check_dataset_fits(config: ExperimentConfig, params: NetworkParams, names, key: str,
                       batch_sizes) -> None:
    """The datasets ``names`` (from the parameter at ``key``) load with the split of ``params``
    (an uninstalled mnist1d is named) and every batch size fits their train split."""
    for name in dict.fromkeys(names):
        try:
            dataset = dataset_from_params(params, name)
        except (ImportError, ValueError) as err:
            raise ConfigError(f"{key}={name!r}: {err}") from None
        n = dataset.train.y.shape[0]
        for batch_size in batch_sizes:
            if batch_size > n:
                raise ConfigError(f"{config.key_path('batch_size')}={batch_size} is not allowed "
                                  f"for dataset {name!r}: at most {n} (its training examples)")

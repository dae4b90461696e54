"""Classification data that ship with packages or are generated: no downloads (docs/theory.md §7).

- ``digits``: scikit-learn's 1797 8x8 handwritten digits (``sklearn.datasets.load_digits``),
  pixels scaled to [0, 1], shape (n, 8, 8, 1).
- ``mnist1d``: Greydanus' MNIST-1D, 1-D signals of length 40 generated procedurally by the
  ``mnist1d`` package's ``make_dataset`` (offline), shape (n, 40, 1).

Both have 10 classes. The split into train / validation / test is a permutation fixed by a seed.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

NUM_CLASSES = 10
"""Classes of every bundled data set (digits 0-9)."""
DATASETS = ("digits", "mnist1d")
"""Names :func:`load_dataset` takes."""


class Split(NamedTuple):
    """Inputs ``x`` (float32[n, *input_shape]) and integer labels ``y`` (int32[n])."""

    x: jax.Array
    y: jax.Array


class Dataset(NamedTuple):
    """The three splits; models are trained on ``train``, tuned on ``validation``, reported on
    ``test``."""

    train: Split
    validation: Split
    test: Split


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]
    return x, bunch.target.astype(np.int32)


@functools.cache
def _mnist1d(num_samples: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ImportError("dataset 'mnist1d' needs the mnist1d package: pip install mnist1d "
                          "(or install sgldsim[nn])") from None
    args = get_dataset_args()
    args.num_samples = num_samples
    # make_dataset seeds NumPy's global generator (with args.seed = 42): restore it afterwards.
    state = np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(state)
    x = np.concatenate([data["x"], data["x_test"]]).astype(np.float32)[..., None]
    return x, np.concatenate([data["y"], data["y_test"]]).astype(np.int32)


def load_arrays(name: str, num_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All examples of a dataset, ``(x, y)``, before any split.

    Args:
      name: ``"digits"`` or ``"mnist1d"``.
      num_samples: for ``mnist1d``, how many signals to generate (default 4000, a multiple of
        10); for ``digits``, keep the first ``num_samples`` of the 1797 images (default all).
    """
    if name not in DATASETS:
        raise ValueError(f"dataset={name!r} is not allowed; allowed: "
                         f"{', '.join(map(repr, DATASETS))}")
    if num_samples is not None and (int(num_samples) != num_samples or num_samples < 10):
        raise ValueError(f"num_samples={num_samples!r} is not allowed: an integer >= 10")
    if name == "digits":
        x, y = _digits()
        return (x, y) if num_samples is None else (x[:num_samples], y[:num_samples])
    return _mnist1d(4000 if num_samples is None else int(num_samples))


def split_dataset(x, y, validation_fraction: float, test_fraction: float, seed: int) -> Dataset:
    """Shuffle with ``numpy.random.default_rng(seed)`` and cut test, validation, then train.

    The test split takes the first ``round(test_fraction n)`` shuffled examples and the
    validation split the next ``round(validation_fraction n)``; train takes the rest.
    """
    n = len(y)
    for name, fraction in (("validation_fraction", validation_fraction),
                           ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{name}={fraction!r} is not allowed: it must be in (0, 1)")
    n_test, n_val = round(test_fraction * n), round(validation_fraction * n)
    if n_test + n_val >= n:
        raise ValueError(f"validation_fraction + test_fraction = "
                         f"{validation_fraction + test_fraction!r} leaves no training examples")
    order = np.random.default_rng(seed).permutation(n)
    parts = np.split(order, [n_test, n_test + n_val])
    test, validation, train = (Split(jnp.asarray(x[i]), jnp.asarray(y[i])) for i in parts)
    return Dataset(train, validation, test)


def load_dataset(name: str, *, validation_fraction: float = 0.15, test_fraction: float = 0.25,
                 seed: int = 0, num_samples: int | None = None) -> Dataset:
    """``split_dataset(*load_arrays(name, num_samples), ...)``: a dataset's three clean splits."""
    return split_dataset(*load_arrays(name, num_samples), validation_fraction, test_fraction, seed)

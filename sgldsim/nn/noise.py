"""Label noise on the training and validation labels (the test labels stay clean).

- symmetric, rate p: with probability p a label is replaced by one of the other K - 1 classes,
  uniformly (so exactly a fraction p is wrong in expectation);
- asymmetric, rate p: with probability p class i becomes class (i + 1) mod K (a fixed confusion,
  the "pair flip" of the noisy-label literature).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._validation import check_choice
from .data import Dataset, Split

NOISE_KINDS = ("symmetric", "asymmetric")
"""Label-noise kinds :func:`noisy_labels` takes."""


def noisy_labels(key, labels, kind: str, rate, num_classes: int) -> jax.Array:
    """Corrupt ``labels`` (int[n]) with the noise ``kind`` at ``rate`` p in [0, 1].

    Key convention: ``flip_key, class_key = jax.random.split(key)``; label j flips when
    ``jax.random.bernoulli(flip_key, p, (n,))[j]``; a symmetric flip adds
    ``jax.random.randint(class_key, (n,), 1, K)[j]`` modulo K.
    """
    check_choice("noise kind", kind, NOISE_KINDS)
    if not isinstance(rate, jax.core.Tracer) and not 0 <= float(rate) <= 1:
        raise ValueError(f"noise rate={rate!r} is not allowed: it must be in [0, 1]")
    flip_key, class_key = jax.random.split(key)
    flip = jax.random.bernoulli(flip_key, rate, labels.shape)
    shift = (jax.random.randint(class_key, labels.shape, 1, num_classes)
             if kind == "symmetric" else jnp.ones_like(labels))
    return jnp.where(flip, (labels + shift) % num_classes, labels).astype(labels.dtype)


def with_label_noise(key, dataset: Dataset, kind: str, rate, num_classes: int) -> Dataset:
    """``dataset`` with noisy train and validation labels (keys ``jax.random.split(key)``, in
    that order); the test split is returned unchanged."""
    train_key, validation_key = jax.random.split(key)
    train, validation, test = dataset
    return Dataset(
        Split(train.x, noisy_labels(train_key, train.y, kind, rate, num_classes)),
        Split(validation.x, noisy_labels(validation_key, validation.y, kind, rate, num_classes)),
        test)

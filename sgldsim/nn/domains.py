"""Domain-generalisation data and training with one batch per domain per step (DomainBed's
protocol in miniature; offline).

- ``rotated_digits``: scikit-learn's digits shuffled by a seed, cut into disjoint equal parts,
  part d rotated by ``angles[d]`` degrees (Rotated MNIST's 0, 15, ..., 75 by default).
- ``mnist1d``: MNIST-1D signals generated per domain with its own settings of the generator
  (translation, scale, correlated and i.i.d. noise, shear) and its own generator seed.

Every domain is split 80/20 into train and validation (training-domain validation: model
selection sees only the training domains' validation parts); in leave-one-domain-out the test
domain's examples (both parts) are used for nothing but the test accuracy. Domains are stacked
on a leading axis: a :class:`~sgldsim.nn.Split` with x of shape (S, n, ...), y of shape (S, n).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import optim
from .._divergence import NOT_DIVERGED, TrainInfo, guard_step, report_training_divergence
from .._validation import check_choice, check_finite, check_int, check_interval
from .data import Split
from .models import Model, classification_loss
from .train import steps_per_epoch

DOMAIN_DATASETS = ("rotated_digits", "mnist1d")
"""Names :func:`load_domains` takes."""
ROTATED_DIGITS_ANGLES = (0.0, 15.0, 30.0, 45.0, 60.0, 75.0)
"""Rotation (degrees) of each default rotated-digits domain: Rotated MNIST's six angles."""
MNIST1D_DOMAINS = tuple(
    {"max_translation": translation, "scale_coeff": scale, "corr_noise_scale": noise,
     "iid_noise_scale": 0.02}
    for translation in (12, 48) for scale in (0.2, 0.6) for noise in (0.05, 0.4))
"""Generator settings of the default MNIST-1D domains: eight, the 2 x 2 x 2 factorial of the
generator's maximum translation (12, 48), scale coefficient (0.2, 0.6) and correlated noise
(0.05, 0.4), with its default i.i.d. noise (0.02) and shear (0.75)."""


_MIN_EXAMPLES_PER_DOMAIN = 10
"""The fewest examples a domain of :func:`load_domains` may hold."""


class DomainSplits(NamedTuple):
    """Per-domain train and validation parts, domains stacked on axis 0."""

    train: Split
    validation: Split


@functools.cache
def _rotated_digits(angles: tuple[float, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.ndimage import rotate

    from .data import load_arrays

    x, y = load_arrays("digits")
    n = len(y) // len(angles)
    if n < _MIN_EXAMPLES_PER_DOMAIN:
        raise ValueError(f"angles of {len(angles)} domains is not allowed: the {len(y)} digits "
                         f"give {n} images per domain; at most "
                         f"{len(y) // _MIN_EXAMPLES_PER_DOMAIN} domains (each needs >= "
                         f"{_MIN_EXAMPLES_PER_DOMAIN} images)")
    order = np.random.default_rng(seed).permutation(len(y))[: n * len(angles)]
    parts = order.reshape(len(angles), n)
    images = np.stack([
        np.clip(rotate(x[part, ..., 0], angle, axes=(1, 2), reshape=False, order=1), 0.0, 1.0)
        for part, angle in zip(parts, angles, strict=True)])
    return images[..., None].astype(np.float32), y[parts]


@functools.cache
def _mnist1d_domains(settings: tuple[tuple[tuple[str, float], ...], ...], num_per_domain: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    xs, ys = [], []
    state = np.random.get_state()  # make_dataset seeds NumPy's global generator: restore it
    try:
        for d, setting in enumerate(settings):
            args = get_dataset_args()
            args.num_samples = num_per_domain
            args.train_split = 0.5
            args.seed = 1000 * seed + d
            for name, value in setting:
                setattr(args, name, value)
            data = make_dataset(args)
            xs.append(np.concatenate([data["x"], data["x_test"]])[:num_per_domain])
            ys.append(np.concatenate([data["y"], data["y_test"]])[:num_per_domain])
    finally:
        np.random.set_state(state)
    return np.stack(xs).astype(np.float32)[..., None], np.stack(ys).astype(np.int32)


def load_domains(name: str, *, seed: int = 0, angles=ROTATED_DIGITS_ANGLES,
                 settings=MNIST1D_DOMAINS, num_per_domain: int = 400) -> Split:
    """All examples of every domain, stacked: x (S, n, ...), y (S, n); deterministic in
    ``seed``.

    Args:
      name: ``"rotated_digits"`` or ``"mnist1d"``.
      seed: shuffles the digits before cutting them into domains / seeds the generator (an
        int >= 0).
      angles: finite rotation of each digits domain, degrees (S = len(angles) >= 2, and at
        least 10 of the 1797 digits per domain).
      settings: per MNIST-1D domain, a dict of generator arguments (S = len(settings) >= 2).
      num_per_domain: MNIST-1D signals per domain (a multiple of 10, >= 20).
    """
    check_choice("domain dataset", name, DOMAIN_DATASETS)
    check_int("seed", seed, 0)
    if name == "rotated_digits":
        if len(angles) < 2:
            raise ValueError(f"angles={list(angles)!r} is not allowed: at least 2 domains")
        check_finite("angles", angles)
        x, y = _rotated_digits(tuple(float(a) for a in angles), int(seed))
    else:
        if len(settings) < 2:
            raise ValueError(f"settings of {len(settings)} domain(s) is not allowed: at least 2")
        if (isinstance(num_per_domain, bool) or not float(num_per_domain).is_integer()
                or num_per_domain < 20 or num_per_domain % 10):
            raise ValueError(f"num_per_domain={num_per_domain!r} is not allowed: a multiple of "
                             "10, >= 20")
        frozen = tuple(tuple(sorted(s.items())) for s in settings)
        x, y = _mnist1d_domains(frozen, int(num_per_domain), int(seed))
    return Split(jnp.asarray(x), jnp.asarray(y))


def split_domains(domains: Split, validation_fraction: float = 0.2, seed: int = 0
                  ) -> DomainSplits:
    """Each domain shuffled by ``numpy.random.default_rng([seed, d])``; the first
    ``round(validation_fraction n)`` examples are its validation part, the rest its train part.

    ``domains`` is a :class:`~sgldsim.nn.Split` with y of shape (S, n) (:func:`load_domains`);
    both parts must keep at least one example per domain, and ``seed`` is an int >= 0."""
    check_interval("validation_fraction", validation_fraction, 0.0, 1.0, (False, False))
    check_int("seed", seed, 0)
    if np.ndim(domains.y) != 2 or np.shape(domains.x)[:2] != np.shape(domains.y):
        raise ValueError(f"domains with x of shape {np.shape(domains.x)} and y of shape "
                         f"{np.shape(domains.y)} is not allowed: y must be (S, n) and x "
                         "(S, n, ...), as load_domains gives them")
    num_domains, n = domains.y.shape
    n_val = round(validation_fraction * n)
    if min(n_val, n - n_val) < 1:
        raise ValueError(f"validation_fraction={validation_fraction!r} is not allowed for "
                         f"{n} examples per domain: it gives {n - n_val} train and {n_val} "
                         "validation examples; each part needs at least 1")
    orders = np.stack([np.random.default_rng([seed, d]).permutation(n)
                       for d in range(num_domains)])
    take = lambda a, idx: jnp.take_along_axis(  # noqa: E731
        a, jnp.asarray(idx).reshape(idx.shape + (1,) * (a.ndim - 2)), axis=1)
    part = lambda idx: Split(take(domains.x, idx), take(domains.y, idx))  # noqa: E731
    return DomainSplits(part(orders[:, n_val:]), part(orders[:, :n_val]))


def leave_one_domain_out(splits: DomainSplits, test_domain: int
                         ) -> tuple[DomainSplits, Split]:
    """``(training domains' splits, test domain)``: the test domain is removed from both parts
    and returned whole (its train and validation examples together), for testing only."""
    num_domains = splits.train.y.shape[0]
    if (isinstance(test_domain, bool) or not isinstance(test_domain, int | np.integer)
            or not 0 <= test_domain < num_domains):
        raise ValueError(f"test_domain={test_domain!r} is not allowed: it must be an integer "
                         f"in [0, {num_domains - 1}]")
    keep = np.array([d for d in range(num_domains) if d != test_domain])
    training = jax.tree.map(lambda a: a[keep], splits)
    test = jax.tree.map(lambda a, b: jnp.concatenate([a[test_domain], b[test_domain]]),
                        splits.train, splits.validation)
    return training, test


def domain_batches(train: Split, indices) -> list[tuple[jax.Array, jax.Array]]:
    """``[(x_d[indices[d]], y_d[indices[d]]) for d]``: one batch per domain."""
    return [(train.x[d][indices[d]], train.y[d][indices[d]]) for d in range(train.y.shape[0])]


def fit_domains(key, method: optim.Method, model: Model, train: Split, *, epochs: int,
                batch_size: int, return_info: bool = False, warn: bool = True):
    """Train from ``model.init`` with one batch from each domain per step.

    ``train`` holds S domains of n examples each (x: (S, n, ...)). An epoch takes
    ``n // batch_size`` steps; each domain draws its own permutation, and step t feeds the
    method ``[(x_d, y_d) for d in domains]`` with batch t of every domain (the structure
    :func:`sgldsim.optim.check_domain_batches` checks; DGSAM and the domain baselines of
    :func:`sgldsim.optim.domain_method` take it). Keys as in :func:`sgldsim.nn.fit`:
    ``init_key, epochs_key = split(key)``; epoch e's key is split into a permutation key
    (split again per domain) and the step keys. Pure: ``jit`` and ``vmap`` over keys and
    hyperparameters work. A step whose loss or parameters become NaN or inf stops training
    there, as in :func:`sgldsim.nn.fit_with_history` (``info.diverged_at``, a warning with
    ``warn``).

    Returns:
      ``(params, epoch_losses)``: final parameters and the mean of each epoch's step losses;
      ``(params, epoch_losses, info)`` (:class:`~sgldsim._divergence.TrainInfo`) with
      ``return_info``.
    """
    num_domains, n = train.y.shape
    steps = steps_per_epoch(n, epochs, batch_size, "the examples per training domain")
    step = method.train_step(classification_loss(model))
    init_key, epochs_key = jax.random.split(key)
    params = model.init(init_key)

    def one_epoch(carry, inputs):
        epoch, epoch_key = inputs
        order_key, steps_key = jax.random.split(epoch_key)
        orders = jax.vmap(lambda k: jax.random.permutation(k, n)[: steps * batch_size])(
            jax.random.split(order_key, num_domains))
        batches = orders.reshape(num_domains, steps, batch_size).transpose(1, 0, 2)

        def one_step(carry, inputs):
            state, diverged_at = carry
            indices, step_key, number = inputs
            params, opt_state, info = step(step_key, *state, domain_batches(train, indices))
            state, diverged_at, applied = guard_step(
                number, diverged_at, info.loss, state, (params, opt_state),
                params=lambda s: s[0])
            return (state, diverged_at), jnp.where(applied, info.loss, jnp.nan)

        numbers = epoch * steps + 1 + jnp.arange(steps, dtype=jnp.int32)
        carry, losses = jax.lax.scan(one_step, carry,
                                     (batches, jax.random.split(steps_key, steps), numbers))
        return carry, jnp.mean(losses)

    start = ((params, method.optimizer.init(params)), jnp.asarray(NOT_DIVERGED, jnp.int32))
    ((params, _), diverged_at), epoch_losses = jax.lax.scan(
        one_epoch, start, (jnp.arange(epochs, dtype=jnp.int32),
                           jax.random.split(epochs_key, epochs)))
    if warn:
        report_training_divergence(diverged_at, "domain training")
    if return_info:
        return params, epoch_losses, TrainInfo(diverged_at)
    return params, epoch_losses


def domain_accuracy(model: Model, params, split: Split) -> jax.Array:
    """Accuracy over all examples of ``split`` (one domain, or stacked domains pooled)."""
    x = split.x.reshape(-1, *split.x.shape[split.y.ndim:])
    return jnp.mean(jnp.argmax(model.apply(params, x), axis=-1) == split.y.reshape(-1))

"""Many training runs in one compiled, vmapped program: a hyperparameter grid x seeds x label
noise draws, evaluated on all three splits, and their end-of-training curvature.

Methods come in three *families*, one compiled program each; a run's hyperparameters are
traced values, so every run of a family shares one compilation:

| family     | method built                                | members                             |
|------------|---------------------------------------------|-------------------------------------|
| "langevin" | ``optim.fsgld(lr, beta, sigma=sigma)``      | SGD (beta = inf, sigma = 0), SGLD   |
|            |                                             | (sigma = 0), RWP (beta = inf), fSGLD|
| "sam"      | ``optim.sam(lr, rho)``                      | SAM                                 |
| "asam"     | ``optim.asam(lr, rho, eta=asam_eta)``       | ASAM                                |

SGD, SGLD and RWP are fSGLD's special cases: sigma = 0 puts the gradient at theta, and
beta = inf makes the Langevin term sqrt(2 lr / beta) xi exactly 0 (docs/theory.md §1); the updates
are the same up to float32 rounding of a different compilation. (Members draw noise they multiply
by 0: wasted time, reported per method by the nn-cost experiment with the real methods.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import optim
from .._divergence import warn_training_divergence
from .data import Dataset, Split
from .models import Model
from .train import Curvature, accuracy, curvature, fit_with_history, with_weight_decay

METHOD_FAMILY = {"sgd": "langevin", "sgld": "langevin", "rwp": "langevin", "fsgld": "langevin",
                 "sam": "sam", "asam": "asam"}
"""The program family each method runs in."""


class Hyperparameters(NamedTuple):
    """One run's hyperparameters (float32 scalars, or arrays with a leading run axis).

    ``learning_rate`` is the initial learning rate (a step schedule may lower it, see
    :func:`step_schedule`), ``beta`` the inverse temperature of the mean loss (inf: no Langevin
    noise), ``sigma`` the perturbation scale (0: none), ``rho`` the SAM/ASAM radius,
    ``weight_decay`` the coupled L2 decay (:func:`~sgldsim.nn.with_weight_decay`); unused ones
    are ignored.
    """

    learning_rate: jax.Array
    beta: jax.Array
    sigma: jax.Array
    rho: jax.Array
    weight_decay: jax.Array


def hyperparameters(learning_rate, beta=math.inf, sigma=0.0, rho=0.0, weight_decay=0.0
                    ) -> Hyperparameters:
    """Float32 :class:`Hyperparameters`, broadcast to a common shape (defaults: no Langevin
    noise, no perturbation, no weight decay)."""
    values = jnp.broadcast_arrays(*(jnp.asarray(v, jnp.float32)
                                    for v in (learning_rate, beta, sigma, rho, weight_decay)))
    return Hyperparameters(*values)


def step_schedule(learning_rate, total_steps: int, milestones: Sequence[float] = (),
                  decay: float = 0.1):
    """The step (multi-step) learning-rate schedule t -> lr * decay^k(t), k(t) the number of
    milestones passed: milestone f in (0, 1) is step round(f * total_steps), t counted from 0
    (as ``optax.scale_by_learning_rate`` counts). The CIFAR convention is milestones (0.5, 0.75)
    with decay 0.1. No milestones: ``learning_rate`` itself (a constant, possibly traced).

    Args:
      learning_rate: the initial learning rate (may be traced: one per vmapped run).
      total_steps: steps of the whole run.
      milestones: fractions of the run in (0, 1), increasing.
      decay: the factor applied at each milestone, in (0, 1].
    """
    milestones = tuple(float(f) for f in milestones)
    if not all(0.0 < f < 1.0 for f in milestones) or list(milestones) != sorted(milestones):
        raise ValueError(f"milestones={milestones!r} is not allowed: increasing fractions of "
                         "the run in (0, 1)")
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay={decay!r} is not allowed: a factor in (0, 1]")
    if not milestones:
        return learning_rate
    boundaries = jnp.asarray([round(f * total_steps) for f in milestones], jnp.int32)

    def schedule(count):
        passed = jnp.sum(count >= boundaries)
        return learning_rate * jnp.asarray(decay, jnp.float32) ** passed

    return schedule


def build_method(family: str, hyper: Hyperparameters, asam_eta: float = 0.01,
                 learning_rate=None) -> optim.Method:
    """The family's :class:`optim.Method` at (possibly traced) ``hyper`` (its noise comes from
    the train step's keys), with ``hyper.weight_decay`` (:func:`~sgldsim.nn.with_weight_decay`).
    ``learning_rate``: a schedule to use instead of ``hyper.learning_rate`` (SGLD's and fSGLD's
    Langevin noise then follows it: sqrt(2 lr_t / beta))."""
    lr = hyper.learning_rate if learning_rate is None else learning_rate
    if family == "langevin":
        method = optim.fsgld(lr, hyper.beta, sigma=hyper.sigma)
    elif family == "sam":
        method = optim.sam(lr, hyper.rho)
    elif family == "asam":
        method = optim.asam(lr, hyper.rho, eta=asam_eta)
    else:
        raise ValueError(f"family={family!r} is not allowed; allowed: 'langevin', 'sam', "
                         "'asam'")
    return with_weight_decay(method, hyper.weight_decay)


class RunMetrics(NamedTuple):
    """Accuracies at the end of training (train and validation against their noisy labels,
    test against clean labels), the last epoch's mean training loss, and early stopping.

    ``memorized_fraction``: among training examples whose label was flipped, the fraction the
    final network assigns to the *flipped* label (NaN without flips). ``clean_train_accuracy``:
    train accuracy against the clean labels (how much of the signal it fits). ``best_epoch``: the
    first epoch (0-based) of highest noisy-validation accuracy, evaluated after every epoch;
    ``best_validation_accuracy`` and ``test_accuracy_at_best`` are the accuracies there.
    ``diverged_at``: the first training step (from 1) whose loss or parameters were NaN or inf,
    -1 if none; training stopped before it (:func:`~sgldsim.nn.fit_with_history`), so every
    other metric is that of the last finite parameters, and ``final_loss`` is NaN.
    """

    train_accuracy: jax.Array
    validation_accuracy: jax.Array
    test_accuracy: jax.Array
    final_loss: jax.Array
    memorized_fraction: jax.Array
    best_epoch: jax.Array
    best_validation_accuracy: jax.Array
    test_accuracy_at_best: jax.Array
    diverged_at: jax.Array
    clean_train_accuracy: jax.Array


def early_stopping(validation_history, test_history) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(best, validation_history[best], test_history[best])`` with ``best`` the first epoch of
    highest validation accuracy (histories: one value per epoch)."""
    best = jnp.argmax(validation_history)
    return best, validation_history[best], test_history[best]


@functools.cache
def _program(family: str, model: Model, epochs: int, batch_size: int, asam_eta: float,
             milestones: tuple[float, ...], decay: float):
    def one_run(key, hyper, train_labels, validation_labels, dataset):
        total = epochs * (dataset.train.y.shape[0] // batch_size)
        schedule = step_schedule(hyper.learning_rate, total, milestones, decay)
        method = build_method(family, hyper, asam_eta, learning_rate=schedule)
        train = Split(dataset.train.x, train_labels)
        validation = Split(dataset.validation.x, validation_labels)

        def evaluate(params):
            return accuracy(model, params, validation), accuracy(model, params, dataset.test)

        params, losses, (val_history, test_history), info = fit_with_history(
            key, method, model, train, epochs=epochs, batch_size=batch_size, evaluate=evaluate,
            return_info=True, warn=False)
        flipped = train_labels != dataset.train.y
        predicted = jnp.argmax(model.apply(params, train.x), axis=-1)
        memorized = jnp.sum(flipped & (predicted == train_labels)) / jnp.sum(flipped)
        metrics = RunMetrics(jnp.mean(predicted == train_labels), val_history[-1],
                             test_history[-1], losses[-1], memorized,
                             *early_stopping(val_history, test_history), info.diverged_at,
                             jnp.mean(predicted == dataset.train.y))
        return params, metrics

    return jax.jit(jax.vmap(one_run, in_axes=(0, 0, 0, 0, None)))


def train_classifier_runs(family: str, model: Model, dataset: Dataset, keys,
                          hyper: Hyperparameters, train_labels, validation_labels, *, epochs: int,
                          batch_size: int, asam_eta: float = 0.01,
                          milestones: Sequence[float] = (), decay: float = 0.1,
                          labels: Sequence[str] | None = None):
    """Train R classifiers at once: run r uses ``keys[r]`` (as in :func:`~sgldsim.nn.fit`),
    ``hyper[r]`` and its own noisy labels; accuracies are evaluated after every epoch.

    Args:
      family: "langevin", "sam" or "asam" (see :data:`METHOD_FAMILY`).
      model: the network.
      dataset: inputs of every split, clean train labels (to find the flipped ones) and clean
        test labels (shared by the runs).
      keys: PRNG keys, shape (R,).
      hyper: :class:`Hyperparameters` with leading axis R (weight decay per run).
      train_labels, validation_labels: int[R, n_train], int[R, n_validation].
      epochs, batch_size: as in :func:`~sgldsim.nn.fit`.
      asam_eta: ASAM's offset.
      milestones, decay: every run's step learning-rate schedule (:func:`step_schedule` over
        the run's epochs x steps per epoch); none: constant learning rates.
      labels: a name per run for the warning about runs that went non-finite (default: their
        indices).

    Returns:
      ``(params, metrics)``: stacked final parameters and :class:`RunMetrics`, leading axis R.
      A run whose loss or parameters became NaN or inf stops there (``metrics.diverged_at``)
      and is named in a ``RuntimeWarning``.
    """
    step_schedule(1.0, 1, milestones, decay)  # checks them before compiling
    program = _program(family, model, int(epochs), int(batch_size), float(asam_eta),
                       tuple(float(f) for f in milestones), float(decay))
    params, metrics = program(keys, hyper, train_labels, validation_labels, dataset)
    warn_training_divergence(metrics.diverged_at, f"{family} training", labels)
    return params, metrics


@functools.cache
def _curvature_program(model: Model, lanczos_iterations: int, trace_samples: int):
    def one(key, params, x, y):
        return curvature(key, model, params, Split(x, y), lanczos_iterations=lanczos_iterations,
                         trace_samples=trace_samples)

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None, 0)))


def curvature_runs(model: Model, keys, params, x, labels, *, lanczos_iterations: int = 20,
                   trace_samples: int = 20) -> Curvature:
    """:func:`~sgldsim.nn.curvature` of R stacked parameter sets, run r on inputs ``x``
    (shared) with labels ``labels[r]``; leading axis R in every field."""
    program = _curvature_program(model, int(lanczos_iterations), int(trace_samples))
    return program(keys, params, x, labels)

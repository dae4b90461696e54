"""Training and evaluation of a :class:`~sgldsim.nn.models.Model` with a
:class:`~sgldsim.optim.Method`: minibatch epochs in one ``lax.scan``, so a whole run is one pure,
``jit``- and ``vmap``-able function; end-of-training curvature by Lanczos and Hutchinson.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import optim
from .._divergence import NOT_DIVERGED, TrainInfo, guard_step, report_training_divergence
from .data import Split
from .models import Model, classification_loss


class Curvature(NamedTuple):
    """Top Hessian eigenvalue and Hutchinson trace (with its standard error) of a loss."""

    top_eigenvalue: jax.Array
    trace: jax.Array
    trace_stderr: jax.Array


def with_weight_decay(method: optim.Method, weight_decay) -> optim.Method:
    """The method with ``weight_decay * theta`` added to its direction before the optimiser
    (coupled L2 decay, as in the paper's code: 5e-4). Zero returns the method unchanged."""
    if isinstance(weight_decay, int | float) and weight_decay == 0:
        return method
    return method._replace(optimizer=optax.chain(optax.add_decayed_weights(weight_decay),
                                                 method.optimizer))


def fit(key, method: optim.Method, model: Model, train: Split, *, epochs: int,
        batch_size: int, return_info: bool = False, warn: bool = True):
    """Train; ``(params, epoch_losses)``: :func:`fit_with_history` without the history (and
    ``(params, epoch_losses, info)`` with ``return_info``)."""
    out = fit_with_history(key, method, model, train, epochs=epochs, batch_size=batch_size,
                           evaluate=lambda params: (), return_info=return_info, warn=warn)
    return (out[0], out[1], out[3]) if return_info else out[:2]


def fit_with_history(key, method: optim.Method, model: Model, train: Split, *, epochs: int,
                     batch_size: int, evaluate: Callable[[object], object],
                     return_info: bool = False, warn: bool = True):
    """Train from ``model.init`` for ``epochs`` passes of minibatch steps on the mean
    cross-entropy.

    Each epoch draws a fresh permutation and takes ``n // batch_size`` steps (the remainder is
    dropped). Key convention: ``init_key, epochs_key = jax.random.split(key)``; epoch e uses
    ``jax.random.split(epochs_key, epochs)[e]``, split into a permutation key and the step keys
    (``jax.random.split(.., steps_per_epoch)``) that drive the method's gradient rule. The
    step keys drive all of the method's randomness (perturbation and Langevin noise).

    Non-finite training is never silent (:mod:`sgldsim._divergence`, the convention of
    :func:`sgldsim.simulate`): the first step (counting from 1 over all epochs) whose loss or
    updated parameters are NaN or inf, and every later one, is not applied, so the parameters
    returned are those after the last finite step, and the losses of the steps not applied are
    NaN (so are the epoch means from that epoch on). The step is reported in
    ``info.diverged_at`` (with ``return_info``) and, with ``warn``, by a ``RuntimeWarning``
    (inside ``jit``: when the computation runs).

    Args:
      key: PRNG key.
      method: an optimiser with its gradient rule (e.g. ``optim.fsgld(0.1, 1e6)``).
      model: the network.
      train: training inputs and (possibly noisy) labels.
      epochs: passes over the data, >= 1.
      batch_size: examples per step, 1 <= batch_size <= n.
      evaluate: ``evaluate(params)`` -> a pytree of arrays, computed after every epoch (e.g.
        validation and test accuracies, for early stopping).
      return_info: also return a :class:`~sgldsim._divergence.TrainInfo`.
      warn: warn when training diverged (callers that report it themselves pass False).

    Returns:
      ``(params, epoch_losses, history)``: final parameters, the mean minibatch loss of each
      epoch (the loss at the point the rule differentiated, e.g. the perturbed point for fSGLD)
      and ``evaluate``'s outputs stacked over epochs (leading axis ``epochs``);
      ``(params, epoch_losses, history, info)`` with ``return_info``.
    """
    n = train.y.shape[0]
    steps = steps_per_epoch(n, epochs, batch_size, "the number of training examples")
    step = method.train_step(classification_loss(model))
    init_key, epochs_key = jax.random.split(key)
    params = model.init(init_key)

    def one_epoch(carry, inputs):
        epoch, epoch_key = inputs
        order_key, steps_key = jax.random.split(epoch_key)
        batches = jax.random.permutation(order_key, n)[: steps * batch_size].reshape(steps, -1)

        def one_step(carry, inputs):
            state, diverged_at = carry
            index, step_key, number = inputs
            params, opt_state, info = step(step_key, *state, (train.x[index], train.y[index]))
            state, diverged_at, applied = guard_step(
                number, diverged_at, info.loss, state, (params, opt_state),
                params=lambda s: s[0])
            return (state, diverged_at), jnp.where(applied, info.loss, jnp.nan)

        numbers = epoch * steps + 1 + jnp.arange(steps, dtype=jnp.int32)
        carry, losses = jax.lax.scan(one_step, carry,
                                     (batches, jax.random.split(steps_key, steps), numbers))
        return carry, (jnp.mean(losses), evaluate(carry[0][0]))

    start = ((params, method.optimizer.init(params)), jnp.asarray(NOT_DIVERGED, jnp.int32))
    ((params, _), diverged_at), (epoch_losses, history) = jax.lax.scan(
        one_epoch, start, (jnp.arange(epochs, dtype=jnp.int32),
                           jax.random.split(epochs_key, epochs)))
    if warn:
        report_training_divergence(diverged_at)
    if return_info:
        return params, epoch_losses, history, TrainInfo(diverged_at)
    return params, epoch_losses, history


def accuracy(model: Model, params, split: Split) -> jax.Array:
    """Fraction of ``split`` whose arg-max logit equals its label."""
    return jnp.mean(jnp.argmax(model.apply(params, split.x), axis=-1) == split.y)


def curvature(key, model: Model, params, data: Split, *, lanczos_iterations: int = 20,
              trace_samples: int = 30) -> Curvature:
    """Curvature of the mean cross-entropy over ``data`` at ``params`` (docs/theory.md §7).

    The top eigenvalue is Lanczos' largest Ritz value (``optim.hessian_top_eigenvalues``,
    start vector from ``jax.random.split(key)[0]``), the trace Hutchinson's estimate
    (``optim.hessian_trace``, probes from ``jax.random.split(key)[1]``).
    """
    loss = classification_loss(model)
    eig_key, trace_key = jax.random.split(key)
    top = optim.hessian_top_eigenvalues(loss, params, tuple(data), k=1,
                                        num_iterations=lanczos_iterations, key=eig_key)[0]
    trace = optim.hessian_trace(loss, params, tuple(data), trace_key, num_samples=trace_samples)
    return Curvature(top, trace.estimate, trace.standard_error)


def _whole(value) -> bool:
    """Whether ``value`` is a whole number (3 or 3.0; not True, 2.5 or nan)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and float(value).is_integer())


def steps_per_epoch(n: int, epochs, batch_size: int, what: str) -> int:
    """n // batch_size after checking that ``batch_size`` is a whole number in [1, n] (``what``
    names n in the error) and ``epochs`` a positive whole number (bools are neither)."""
    if not _whole(batch_size) or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size={batch_size!r} is not allowed: it must be in [1, {n}] "
                         f"({what})")
    if not _whole(epochs) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} is not allowed: a positive integer")
    return n // batch_size

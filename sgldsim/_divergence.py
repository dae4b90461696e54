"""Non-finite runs are never silent: find the first bad step inside a ``lax.scan``, keep the last
finite state, and report the step in one line.

The convention is :func:`sgldsim.simulate`'s: ``diverged_at`` counts steps from 1 (step k takes
the state after k - 1 steps to the state after k) and is -1 for a run that stayed finite. A
trainer that reaches a step whose loss or updated parameters are NaN or inf does not apply it, nor
any later step: its final parameters are those after step ``diverged_at - 1``, exactly what a run
stopped there returns. The check is one ``isfinite`` reduction over the loss and the parameters
per step (a ``where`` keeps the old state, fused into the update).

Reports are :class:`RuntimeWarning`\\ s (:func:`~sgldsim._warnings.warn_caller`): where the
trainer's result is concrete (called outside ``jit``), at once and naming each run; inside a
traced function (the user's ``jax.jit(lambda k: fit(...))``) through ``jax.debug.callback`` when
the computation runs, once per diverged run (under ``vmap`` the run's index is not known there;
the batched helpers of the package report the indices themselves).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._warnings import warn_caller

NOT_DIVERGED = -1
"""``diverged_at`` of a run whose steps all stayed finite."""
SHOWN = 5
"""Diverged runs named in one message (the rest are counted)."""


class TrainInfo(NamedTuple):
    """What a trainer reports besides its parameters and losses.

    Attributes:
      diverged_at: int32 (a leading runs axis under ``vmap``): the first step (from 1) whose loss
        or updated parameters were NaN or inf, -1 if none. Training stopped before it: the
        parameters returned are those after step ``diverged_at - 1``.
    """

    diverged_at: jax.Array


def tree_all_finite(tree) -> jax.Array:
    """Whether every floating leaf of ``tree`` is finite (one ``isfinite`` reduction per leaf)."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
              if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def guard_step(step, diverged_at, loss, old_state, new_state,
               params: Callable = lambda state: state):
    """Apply a step only while the run is finite.

    Args:
      step: this step's number, counting from 1.
      diverged_at: the run's first bad step so far (-1: none).
      loss: the step's loss (any shape; every entry must be finite).
      old_state, new_state: the carried state (a pytree: parameters, optimiser state, ...)
        before and after the step.
      params: picks the parameters out of a state; they and the loss are checked.

    Returns:
      ``(state, diverged_at, applied)``: ``new_state`` where the run was finite and this step
      is too, else ``old_state``; the updated first bad step; whether the step was applied.
    """
    finite = jnp.all(jnp.isfinite(loss)) & tree_all_finite(params(new_state))
    running = diverged_at < 0
    applied = running & finite
    diverged_at = jnp.where(running & ~finite, step, diverged_at).astype(jnp.int32)
    state = jax.tree.map(lambda new, old: jnp.where(applied, new, old), new_state, old_state)
    return state, diverged_at, applied


def divergence_message(diverged_at, cause: str, kept: str, subject: str = "run",
                       index_name: str = "cell",
                       labels: Sequence[str] | None = None) -> str | None:
    """One line naming the first bad step of each diverged run (None when none diverged):
    ``"<subject> diverged at step 7 (<index_name> 3), step 9 (...): <cause>; <kept>"``.
    ``labels[i]`` names run i of a 1-D ``diverged_at`` instead of its index."""
    diverged_at = np.asarray(diverged_at)
    bad = np.argwhere(diverged_at >= 0)  # (n_bad, ndim): a 0-d array gives (1, 0) or (0, 0)
    if bad.shape[0] == 0:
        return None

    def where(i):
        if labels is not None:
            return f" ({labels[int(i[0])]})"
        if not i.size:
            return ""
        if index_name == "cell" or i.size > 1:  # simulate's cells: always a tuple
            return f" ({index_name} {tuple(int(j) for j in i)})"
        return f" ({index_name} {int(i[0])})"

    parts = [f"step {int(diverged_at[tuple(i)])}{where(i)}" for i in bad[:SHOWN]]
    more = f" and {len(bad) - SHOWN} more {index_name}s" if len(bad) > SHOWN else ""
    return f"{subject} diverged at {', '.join(parts)}{more}: {cause}; {kept}"


TRAINING_CAUSE = "the loss or the parameters became NaN or inf"
TRAINING_KEPT = ("training stopped there: the parameters of the step before are kept and the "
                 "later losses are NaN")


def warn_training_divergence(diverged_at, subject: str = "training",
                             labels: Sequence[str] | None = None) -> None:
    """A :class:`RuntimeWarning` naming each diverged run's first bad step (none if none)."""
    message = divergence_message(diverged_at, TRAINING_CAUSE, TRAINING_KEPT, subject, "run",
                                 labels)
    if message is not None:
        warn_caller(message, RuntimeWarning)


def report_training_divergence(diverged_at, subject: str = "training") -> None:
    """:func:`warn_training_divergence` now where ``diverged_at`` is concrete; inside a traced
    function, when the computation runs (``jax.debug.callback``: once per diverged run, without
    its index under ``vmap``)."""
    if isinstance(diverged_at, jax.core.Tracer):
        jax.debug.callback(lambda d: warn_training_divergence(d, subject), diverged_at)
    else:
        warn_training_divergence(diverged_at, subject)

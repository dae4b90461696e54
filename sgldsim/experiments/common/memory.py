"""What the experiments' peak-memory estimates share (the runner's ``peak_memory`` hook,
:mod:`sgldsim.runner`).

An estimate counts the dominant arrays from the parameters alone, before anything is allocated:
particles x dimension x dtype bytes, stacked records, runs vmapped together x the working set of
one run. A network's working set per example is read off the traced computation (nothing is
compiled or run): the elements of every intermediate of its forward pass (or of loss and
gradient) at one and two examples, whose difference is the per-example part, times
:data:`sgldsim._memory.KEPT_FRACTION` (:func:`sgldsim._memory.working_elements`,
:func:`network_footprint`). The estimates are
meant to be within a few times the measured peak, and above it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ... import nn
from ..._memory import working_elements

FLOAT32 = 4
"""Bytes of a float32."""
FLOAT64 = 8
"""Bytes of a float64."""
ROW_BYTES = 600
"""One result row held as a Python dict (a measure, a value, a few labels) until the chunk's
checkpoints are written."""
GIBBS_CELLS_PER_RESOLUTION = 60
"""Cells of a :func:`sgldsim.measures.gibbs_1d` grid per unit of its ``resolution``: measured
25-45 for one or two wells at beta from 10 to 1e6 (its mesh covers about 20 local lengths of each
well)."""
GIBBS_ARRAYS = 12
"""float64 arrays of a grid's size alive while an exact 1-D measure is built and compared
(edges, masses, local lengths, log density, quantile functions and their merge)."""
TRAIN_STATE_COPIES = 10
"""Parameter-sized arrays of one training run: parameters, the optimiser's state (momentum or
Adam's two moments), the gradient, the direction, a perturbed copy (fSGLD, SAM), Langevin noise,
the updates and the copy the non-finite guard keeps."""


def gibbs_bytes(resolutions: Sequence[float]) -> float:
    """Bytes of exact 1-D measures built with these ``gibbs_1d`` resolutions, all alive at
    once (their grids are set by the resolution, not by beta)."""
    return FLOAT64 * GIBBS_ARRAYS * GIBBS_CELLS_PER_RESOLUTION * float(sum(resolutions))


class NetworkFootprint(NamedTuple):
    """A classifier's size: ``params`` parameters; per example, the elements a forward pass
    (``forward``) and the loss with its gradient (``train``) hold (:func:`working_elements`)."""

    params: int
    forward: float
    train: float


@functools.cache
def network_footprint(name: str, input_shape: tuple[int, ...],
                      widths: tuple[int, ...] | None) -> NetworkFootprint:
    """:class:`NetworkFootprint` of model ``name`` of :data:`sgldsim.nn.MODELS` (traced: a
    network too large to build is measured all the same)."""
    model = nn.model_from_name(name, input_shape, nn.NUM_CLASSES, widths)
    params = jax.eval_shape(model.init, jax.random.key(0))
    count = sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))
    x = lambda n: jax.ShapeDtypeStruct((n, *input_shape), jnp.float32)  # noqa: E731
    y = lambda n: jax.ShapeDtypeStruct((n,), jnp.int32)  # noqa: E731
    forward = working_elements(model.apply, lambda n: (params, x(n)))[1]
    train = working_elements(jax.value_and_grad(nn.classification_loss(model)),
                             lambda n: (params, (x(n), y(n))))[1]
    return NetworkFootprint(count, forward, train)


def training_bytes(footprint: NetworkFootprint, runs: int, batch_examples: int,
                   evaluated_examples: int, data_bytes_per_run: float = 0.0) -> float:
    """Bytes of ``runs`` training runs vmapped together: per run its parameter-sized state
    (:data:`TRAIN_STATE_COPIES`) and the larger of one step's loss and gradient over
    ``batch_examples`` and a forward pass over the ``evaluated_examples`` of an evaluation,
    float32, and its own data."""
    work = max(footprint.train * batch_examples, footprint.forward * evaluated_examples)
    return float(runs) * (FLOAT32 * (TRAIN_STATE_COPIES * footprint.params + work)
                          + data_bytes_per_run)


def curvature_bytes(footprint: NetworkFootprint, runs: int, examples: int,
                    lanczos_iterations: int) -> float:
    """Bytes of ``runs`` vmapped curvature measures: Lanczos keeps its basis
    (``lanczos_iterations`` parameter vectors) and a Hessian-vector product costs about two
    gradients over ``examples``."""
    per_run = (lanczos_iterations + TRAIN_STATE_COPIES) * footprint.params
    return float(runs) * FLOAT32 * (per_run + 2 * footprint.train * examples)


def split_bytes(split: nn.Split) -> float:
    """Bytes of a split's inputs and labels."""
    return float(split.x.size * split.x.dtype.itemsize + split.y.size * split.y.dtype.itemsize)

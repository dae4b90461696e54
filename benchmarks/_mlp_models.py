"""The two MLPs and the synthetic batch that ``nn_runs.py`` and ``draw_floor.py`` time.

The MNIST-1D benchmark's MLP on a flat parameter vector (15,210 parameters, as the experiments
train it) and an MLP 40-300-300-10 kept as a pytree of 6 arrays (105,610 parameters, as a user
would write it), on one batch of standard-normal inputs of MNIST-1D's shape (40 features) with
labels uniform over its 10 classes.
"""

from __future__ import annotations

import argparse
import os

import jax

from sgldsim import nn, optim


def add_timing_arguments(parser: argparse.ArgumentParser, steps: int) -> None:
    """``--batch``, ``--steps`` (scanned per call) and ``--repeats``."""
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=steps, help="steps scanned per call")
    parser.add_argument("--repeats", type=int, default=15)


def mlp_models_and_batch(batch_size: int):
    """``(models, (x, y))``: label -> :class:`sgldsim.nn.Model`, and the batch."""
    x = jax.random.normal(jax.random.key(0), (batch_size, 40))
    y = jax.random.randint(jax.random.key(1), (batch_size,), 0, nn.NUM_CLASSES)
    models = {"MNIST-1D MLP, flat (15,210)": nn.flat_model(nn.residual_mlp((40,), 10)),
              "MLP 40-300-300-10, 6-array pytree (105,610)": nn.mlp((40,), 10, (300, 300))}
    return models, (x, y)


def sgd_and_fsgld() -> dict:
    """The two methods compared, at the ``nn-cost`` experiment's learning rate and beta."""
    return {"sgd": optim.sgd(0.1), "fsgld": optim.fsgld(0.1, 1e4)}


def machine() -> str:
    """Where the timings ran: JAX's platform and the CPU count."""
    return f"device {jax.devices()[0].platform}, {os.cpu_count()} CPUs"

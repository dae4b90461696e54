"""Benchmark: fSGLD's cost per step relative to SGD when many runs train at once (``vmap``).

The training experiments (``nn.train_classifier_runs``) vmap seeds x configurations and scan
the steps; this times that shape of program with the library's own methods (``optim.sgd`` and
``optim.fsgld``, each through ``method.train_step``): R runs, each ``--steps`` steps scanned on
one fixed batch of synthetic inputs (40 features, 10 classes: the MNIST-1D shapes), one jitted
call per method. The baseline is SGD in the same program shape, so the printed ratio is what the
noise costs per run and step. Models: the MNIST-1D benchmark's MLP on a flat parameter vector
(15,210 parameters, as the experiments train it) and an MLP 40-300-300-10 kept as a pytree of 6
arrays (105,610 parameters, as a user would write it). The methods run in turn ``--repeats``
times after compilation, the order alternating; the table shows the median time per run-step
and the median per-repeat ratio to SGD with its 95 % interval (order statistics).

Run: python benchmarks/nn_runs.py [--runs 4] [--batch 128] [--steps 50] [--repeats 15]
"""

from __future__ import annotations

import argparse
import functools
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from _mlp_models import (  # noqa: E402
    add_timing_arguments,
    machine,
    mlp_models_and_batch,
    sgd_and_fsgld,
)

from sgldsim import nn, optim  # noqa: E402
from sgldsim.experiments.fsgld_networks.nn_cost import (  # noqa: E402
    _scanned_steps,
    interleaved_seconds,
    median_interval,
)


def runs_program(method: optim.Method, loss_fn, num_steps: int):
    """``(keys, params, opt_state, batch) -> (params, opt_state)``: R runs under ``vmap``, each
    the ``nn-cost`` program (``num_steps`` train steps under ``lax.scan``, step keys split from
    its own key)."""
    return jax.jit(jax.vmap(_scanned_steps(method, loss_fn, num_steps), in_axes=(0, 0, 0, None)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4, help="runs trained at once (vmap)")
    add_timing_arguments(parser, steps=50)
    args = parser.parse_args()

    models, (x, y) = mlp_models_and_batch(args.batch)
    methods = sgd_and_fsgld()
    keys = jax.random.split(jax.random.key(2), args.runs)
    print(f"{args.runs} runs at once, batch {args.batch}, {args.steps} steps per call, "
          f"{args.repeats} interleaved repeats, {machine()}")
    print("| model | SGD (us per run-step) | fSGLD (us per run-step) | fSGLD / SGD, median "
          "per repeat (95 % interval) |")
    print("|---|---:|---:|---:|")
    for label, model in models.items():
        loss_fn = nn.classification_loss(model)
        params = jax.vmap(model.init)(jax.random.split(jax.random.key(3), args.runs))
        calls = {}
        for name, method in methods.items():
            program = runs_program(method, loss_fn, args.steps)
            state = jax.vmap(method.optimizer.init)(params)
            calls[name] = functools.partial(program, keys, params, state, (x, y))
        seconds = interleaved_seconds(calls, args.repeats, args.steps * args.runs)  # alternating
        sgd, fsgld = seconds["sgd"], seconds["fsgld"]
        low, high = median_interval(fsgld / sgd)
        print(f"| {label} | {1e6 * np.median(sgd):.0f} | {1e6 * np.median(fsgld):.0f} | "
              f"{np.median(fsgld / sgd):.2f} ({low:.2f}-{high:.2f}) |")


if __name__ == "__main__":
    main()

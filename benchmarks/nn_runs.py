"""Benchmark: fSGLD's cost per step relative to SGD when many runs train at once (``vmap``).

The training experiments (``nn.train_runs``) vmap seeds x configurations and scan the steps;
this times that shape of program with the library's own methods (``optim.sgd`` and
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
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from sgldsim import nn, optim  # noqa: E402
from sgldsim.experiments.nn_cost import _scanned_steps, median_interval  # noqa: E402


def runs_program(method: optim.Method, loss_fn, num_steps: int):
    """``(keys, params, opt_state, batch) -> (params, opt_state)``: R runs under ``vmap``, each
    the ``nn-cost`` program (``num_steps`` train steps under ``lax.scan``, step keys split from
    its own key)."""
    return jax.jit(jax.vmap(_scanned_steps(method, loss_fn, num_steps), in_axes=(0, 0, 0, None)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4, help="runs trained at once (vmap)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=50, help="steps scanned per call")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    x = jax.random.normal(jax.random.key(0), (args.batch, 40))
    y = jax.random.randint(jax.random.key(1), (args.batch,), 0, nn.NUM_CLASSES)
    models = {"MNIST-1D MLP, flat (15,210)": nn.flat_model(nn.residual_mlp((40,), 10)),
              "MLP 40-300-300-10, 6-array pytree (105,610)": nn.mlp((40,), 10, (300, 300))}
    methods = {"sgd": optim.sgd(0.1), "fsgld": optim.fsgld(0.1, 1e4)}
    keys = jax.random.split(jax.random.key(2), args.runs)
    print(f"{args.runs} runs at once, batch {args.batch}, {args.steps} steps per call, "
          f"{args.repeats} interleaved repeats, device {jax.devices()[0].platform}, "
          f"{os.cpu_count()} CPUs")
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
            for _ in range(2):  # compile, then settle caches
                jax.block_until_ready(calls[name]())
        seconds = {name: [] for name in calls}
        for repeat in range(args.repeats):
            for name in list(calls)[repeat % 2:] + list(calls)[:repeat % 2]:  # alternate order
                start = time.perf_counter()
                jax.block_until_ready(calls[name]())
                seconds[name].append((time.perf_counter() - start) / (args.steps * args.runs))
        sgd, fsgld = np.array(seconds["sgd"]), np.array(seconds["fsgld"])
        low, high = median_interval(fsgld / sgd)
        print(f"| {label} | {1e6 * np.median(sgd):.0f} | {1e6 * np.median(fsgld):.0f} | "
              f"{np.median(fsgld / sgd):.2f} ({low:.2f}-{high:.2f}) |")


if __name__ == "__main__":
    main()

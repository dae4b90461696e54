"""Benchmark: the least fSGLD's Gaussian draws can cost per step relative to SGD, whatever the hash.

fSGLD draws two standard normals per parameter and step (the perturbation xi' and the Langevin
noise xi). ``nn-cost`` finds them to be the whole of fSGLD's overhead over SGD. This script asks
how much of that a cheaper generator could remove. It times, in the same interleaved rounds, one
SGD step, one fSGLD step and the draws alone (``nn_cost._scanned_draws``: the Box-Muller pair over
all parameters plus one update pass, no gradient), with the pair's two words coming from

- ``threefry20``: the package's generator (Threefry-2x32, 20 rounds, as ``jax.random``);
- ``threefry13``: the same cipher with 13 rounds, the fewest that Salmon et al. (SC 2011) found
  to pass TestU01's BigCrush, with no safety margin (not something to ship; a measure of what
  fewer rounds buy);
- ``no_hash``: each counter word multiplied by an odd constant. This is not a random-number
  generator. It is the floor: what the Box-Muller transform, the writes and the update pass
  cost with hashing taken to zero.

The draws alone over SGD's step is what they add to it (``nn-cost``'s ``sgd_plus_draws`` minus 1).
The 1.15x target of fSGLD/SGD leaves them 0.15. The variants are patched into
``sgldsim._random.threefry2x32`` only while their program is traced. Models as in
``benchmarks/nn_runs.py`` (``benchmarks/_mlp_models.py``): the MNIST-1D benchmark's MLP on a flat
vector (15,210 parameters) and an MLP 40-300-300-10 as a 6-array pytree (105,610), on a synthetic
MNIST-1D-shaped batch.

Run: python benchmarks/draw_floor.py [--batch 128] [--steps 100] [--repeats 15]
"""

from __future__ import annotations

import argparse
import functools
import os
from unittest import mock

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from _mlp_models import (  # noqa: E402
    add_timing_arguments,
    machine,
    mlp_models_and_batch,
    sgd_and_fsgld,
)

from sgldsim import _random, nn  # noqa: E402
from sgldsim.experiments.fsgld_networks.nn_cost import (  # noqa: E402
    SGD_LIKE,
    _scanned_draws,
    _scanned_steps,
    interleaved_seconds,
    median_interval,
)

_GOLDEN = np.uint32(0x9E3779B9)
_MURMUR = np.uint32(0x85EBCA6B)


def threefry13(key, x0, x1):
    """Threefry-2x32 with 13 rounds (key injections after rounds 4, 8 and 12)."""
    ks = (key[0], key[1], key[0] ^ key[1] ^ _random._KEY_PARITY)
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(13):
        r = _random._ROTATIONS[(i // 4) % 2][i % 4]
        x0 = x0 + x1
        x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        if i % 4 == 3:
            group = i // 4
            x0 = x0 + ks[(group + 1) % 3]
            x1 = x1 + ks[(group + 2) % 3] + np.uint32(group + 1)
    return x0, x1


def no_hash(key, x0, x1):
    """Not a generator: one multiply per word, so the timing is Box-Muller and the writes."""
    return (x0 * _GOLDEN) ^ key[0], (x1 * _MURMUR) ^ x0 ^ key[1]


TABLE_HEADER = ("| model (parameters) | SGD (us/step) | fSGLD / SGD | draws / SGD: threefry20 | "
                "threefry13 | no_hash (floor) | floor (ns/parameter) |\n"
                "|---|---:|---:|---:|---:|---:|---:|")

HASHES = {"threefry20": _random.threefry2x32, "threefry13": threefry13, "no_hash": no_hash}


def traced_draws(hash_fn, num_steps, key, params):
    """The draws-alone program with ``hash_fn`` in place of the package's hash, compiled."""
    call = functools.partial(_scanned_draws(num_steps), key, params)
    with mock.patch.object(_random, "threefry2x32", hash_fn):
        jax.block_until_ready(call())  # traced and compiled here
    return call


def ratio_to(seconds, baseline) -> str:
    """Median per-round ratio with its 95 % interval, as text."""
    r = seconds / baseline
    low, high = median_interval(r)
    return f"{np.median(r):.2f} ({low:.2f}-{high:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_timing_arguments(parser, steps=100)
    args = parser.parse_args()

    models, (x, y) = mlp_models_and_batch(args.batch)
    key = jax.random.key(2)
    budget = SGD_LIKE - 1
    print(f"batch {args.batch}, {args.steps} steps per call, {args.repeats} interleaved rounds, "
          f"{machine()}; budget for the draws: {budget:.2f} x SGD's step")
    print(TABLE_HEADER)
    for label, model in models.items():
        loss_fn = nn.classification_loss(model)
        params = model.init(jax.random.key(0))
        size = sum(leaf.size for leaf in jax.tree.leaves(params))
        calls = {name: functools.partial(_scanned_steps(method, loss_fn, args.steps), key,
                                         params, method.optimizer.init(params), (x, y))
                 for name, method in sgd_and_fsgld().items()}
        calls |= {name: traced_draws(fn, args.steps, key, params) for name, fn in HASHES.items()}
        seconds = interleaved_seconds(calls, args.repeats, args.steps)
        sgd = seconds["sgd"]
        ratios = {name: ratio_to(seconds[name], sgd) for name in ("fsgld", *HASHES)}
        print(f"| {label} | {1e6 * np.median(sgd):.0f} | {ratios['fsgld']} | "
              f"{ratios['threefry20']} | {ratios['threefry13']} | {ratios['no_hash']} | "
              f"{1e9 * np.median(seconds['no_hash']) / size:.2f} |")
    print("draws / SGD: median per round of the draws' time over SGD's step (95 % interval, "
          "order statistics); fSGLD / SGD <= 1.15 needs draws / SGD <= 0.15.")


if __name__ == "__main__":
    main()

"""Benchmark: cost of one domain-generalisation step (ERM, SAM, per-domain SAM, GSAM, SAGM,
DGSAM with and without the first gradient) relative to ERM, for S = 3 and S = 5 domains, at
batch 256 and 1024 per domain (DomainBed-like sizes, where the gradients, not the per-step
overhead, dominate).

Each step is a jitted ``domain_method(...).train_step`` on an MLP (rotated-digits input, 8x8,
hidden width 256) with one batch of each ``--batch`` size per domain (a domain's 299 digits
repeated to fill the batch). Two numbers per method:
per-domain gradient evaluations of one step, *counted* by a callback in the loss while the
compiled step runs (not taken from the formula), and the median CPU time per step (this
process's CPU seconds, robust to other jobs on a shared machine) over ``--repeats`` rounds in
which the methods take turns running ``--steps`` compiled steps, as a multiple of ERM's; the
wall time is shown too.

Run: python benchmarks/dg_step.py [--batch 256 1024] [--steps 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from sgldsim import nn, optim  # noqa: E402


def counted_evaluations(name, loss, params, batches) -> float:
    calls = []

    def counting(params, batch):
        jax.debug.callback(lambda x: calls.append(np.size(x) / batches[0][1].size), batch[1])
        return loss(params, batch)

    method = optim.domain_method(name, 1e-3, 0.05, 0.01)
    step = jax.jit(method.train_step(counting))
    jax.block_until_ready(step(jax.random.key(0), params, method.optimizer.init(params), batches))
    jax.effects_barrier()
    return float(sum(calls))


def compiled_block(name, loss, params, batches, steps):
    """A jitted function running ``steps`` steps of ``name`` (compiled here, before timing)."""
    method = optim.domain_method(name, 1e-3, 0.05, 0.01)
    step = method.train_step(loss)

    @jax.jit
    def block(params, state, key):
        def body(carry, k):
            p, s = carry
            p, s, _ = step(k, p, s, batches)
            return (p, s), None

        return jax.lax.scan(body, (params, state), jax.random.split(key, steps))[0]

    state = method.optimizer.init(params)
    jax.block_until_ready(block(params, state, jax.random.key(0)))
    return lambda key: jax.block_until_ready(block(params, state, key))


def interleaved_times(blocks: dict, steps: int, repeats: int) -> dict:
    """Median CPU time and wall time per step of each block; the methods take turns in every
    repeat, so load from other processes spreads over all of them. CPU time (this process's
    ``time.process_time``) is what the step costs; wall time also counts waiting for a core."""
    cpu, wall = {n: [] for n in blocks}, {n: [] for n in blocks}
    for r in range(repeats):
        for name, run in blocks.items():
            c0, w0 = time.process_time(), time.perf_counter()
            run(jax.random.key(r + 1))
            cpu[name].append((time.process_time() - c0) / steps)
            wall[name].append((time.perf_counter() - w0) / steps)
    return {n: (float(np.median(cpu[n])), float(np.median(wall[n]))) for n in blocks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[256, 1024],
                        help="examples per domain and step (one table row block each)")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (median)")
    args = parser.parse_args()

    domains = nn.load_domains("rotated_digits")
    model = nn.flat_model(nn.mlp((8, 8, 1), nn.NUM_CLASSES, (256,)))
    loss = nn.classification_loss(model)
    params = model.init(jax.random.key(0))
    print(f"one step, MLP 64-256-10 ({params.size} parameters), median of {args.repeats} x "
          f"{args.steps} steps, device {jax.devices()[0].platform}, {os.cpu_count()} CPUs")
    print("| batch / domain | S | method | gradients / step (counted) | expected | "
          "gradients / ERM | CPU time / step (ms) | CPU time / ERM | wall time / step (ms) |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
    for batch in args.batch:
        for num_domains in (3, 5):
            index = np.arange(batch) % domains.y.shape[1]
            batches = [(domains.x[d, index], domains.y[d, index]) for d in range(num_domains)]
            batches = jax.tree.map(jnp.asarray, batches)
            blocks = {name: compiled_block(name, loss, params, batches, args.steps)
                      for name in optim.DOMAIN_METHODS}
            times = interleaved_times(blocks, args.steps, args.repeats)
            for name in optim.DOMAIN_METHODS:
                count = counted_evaluations(name, loss, params, batches)
                expected = optim.gradient_evaluations(name, num_domains)
                cpu, wall = times[name]
                print(f"| {batch} | {num_domains} | {name} | {count:g} | {expected} | "
                      f"{count / num_domains:.2f}x | {1e3 * cpu:.3f} | "
                      f"{cpu / times['erm'][0]:.2f}x | {1e3 * wall:.3f} |", flush=True)


if __name__ == "__main__":
    main()

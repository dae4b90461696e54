"""Benchmark: the package's hand-written Threefry noise against ``jax.random``, in one run.

What ``simulate`` draws per fSGLD step is two float32 standard-normal arrays (xi' and xi) of the
particles' shape; :func:`sgldsim.dynamics.draw_noise` gets both from one unrolled Threefry-2x32
hash (two words) and ``sqrt(2) erfinv``. The baseline is what a user would write: two
``jax.random.normal`` draws from split keys. The optimisers' draw over a parameter pytree
(:func:`sgldsim._random.tree_normal_pair`: one hash, one Box-Muller pair per parameter) is timed
against two ``jax.random.normal`` draws per leaf, on a 6-leaf pytree and on a flat vector. Raw
bits (one uint32 word per element) are timed too, since that is where the generators themselves
differ most. Each variant is one jitted function; the variants run in turn ``--repeats`` times
after compilation (so they share the machine's load), and the table shows the best times and the
median ratio, on the CPU.

Run: python benchmarks/rng.py [--shape 10 100000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from sgldsim._random import tree_normal_pair  # noqa: E402
from sgldsim.dynamics import draw_noise, threefry2x32  # noqa: E402


def interleaved_times(fns, key, repeats: int) -> np.ndarray:
    """(repeats, len(fns)) wall times in seconds, compilation excluded. The functions run in
    turn within each repeat, so they share the machine's load (ratios are taken per repeat)."""
    for fn in fns:
        jax.block_until_ready(fn(key))
    times = np.empty((repeats, len(fns)))
    for i in range(repeats):
        k = jax.block_until_ready(jax.random.fold_in(key, i))
        for j, fn in enumerate(fns):
            start = time.perf_counter()
            jax.block_until_ready(fn(k))
            times[i, j] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=int, nargs="+", default=[10, 100_000],
                        help="array shape (d, N): the particles' internal layout")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    shape = tuple(args.shape)

    def ours_normals(key):
        noise = draw_noise(key, shape, jnp.float32)
        return noise.perturbation, noise.langevin

    def jax_normals(key):
        k1, k2 = jax.random.split(key)
        return (jax.random.normal(k1, shape, jnp.float32),
                jax.random.normal(k2, shape, jnp.float32))

    def ours_bits(key):
        words = jax.random.bits(key, (2,), jnp.uint32)
        index = jnp.arange(int(np.prod(shape)), dtype=jnp.uint32).reshape(shape)
        return threefry2x32((words[0], words[1]), index, jnp.zeros(shape, jnp.uint32))[0]

    def jax_bits(key):
        return jax.random.bits(key, shape, jnp.uint32)

    # the optimisers' draw: one Box-Muller pair per parameter against two jax.random.normal
    # draws per leaf, over the nn-cost pytree MLP's six arrays (105,610 parameters: split across
    # the cores) and the benchmark MLP's flat vector (15,210: one core, see _random._draw)
    pytree = {f"layer{i}": {"w": jnp.zeros((m, n), jnp.float32), "b": jnp.zeros(n, jnp.float32)}
              for i, (m, n) in enumerate([(40, 300), (300, 300), (300, 10)])}
    flat = jnp.zeros(15_210, jnp.float32)

    def ours_pair(tree):
        return lambda key: tree_normal_pair(key, tree)

    def jax_pair(tree):
        def draw(key):
            leaves, treedef = jax.tree.flatten(tree)
            keys = jax.random.split(key, 2 * len(leaves))
            return tuple(treedef.unflatten([jax.random.normal(k, x.shape, x.dtype) for k, x in
                                            zip(keys[w::2], leaves, strict=True)])
                         for w in (0, 1))
        return draw

    key = jax.random.key(0)
    rows = []
    for label, ours, theirs in (
            ("two float32 normals (xi', xi), as simulate uses", ours_normals, jax_normals),
            ("raw uint32 bits, one word per element", ours_bits, jax_bits),
            ("optimisers' pair (xi', xi) over a 105,610-parameter pytree of 6 arrays",
             ours_pair(pytree), jax_pair(pytree)),
            ("optimisers' pair (xi', xi) over a flat 15,210-parameter vector",
             ours_pair(flat), jax_pair(flat))):
        times = interleaved_times([jax.jit(ours), jax.jit(theirs)], key, args.repeats)
        rows.append((label, times))
    n = int(np.prod(shape))
    print(f"shape {shape} ({n:.3g} elements per array), device {jax.devices()[0].platform}, "
          f"{os.cpu_count()} CPUs; {args.repeats} interleaved repeats")
    print("| draw | sgldsim best (ms) | jax.random best (ms) | jax.random / sgldsim: ratio of "
          "bests | median ratio per repeat |")
    print("|---|---:|---:|---:|---:|")
    for label, times in rows:
        best = times.min(axis=0)
        ratio = np.median(times[:, 1] / times[:, 0])
        print(f"| {label} | {1e3 * best[0]:.2f} | {1e3 * best[1]:.2f} | "
              f"{best[1] / best[0]:.1f}x | {ratio:.1f}x |")

if __name__ == "__main__":
    main()

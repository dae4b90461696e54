"""Benchmark: a 64-cell (beta, sigma) fSGLD sweep as ONE compiled call vs 64 separate calls.

The flatness experiment's particle part: fSGLD on the sharp/flat double well, N particles per
cell started in the sharp well, over an 8 x 8 grid of (beta, sigma). ``sgldsim.simulate`` takes
array-valued sampler parameters, so the whole grid is one jitted ``lax.scan`` (one compilation,
one dispatch per step for all cells). The baseline loops over the 64 cells with scalar
parameters, which is what a user without cell batching would write; both timings include
compilation, because that is what a sweep costs. The batched run draws the whole grid's noise
from one key and the loop one key per cell, so the printed check is statistical: the flat-basin
fractions agree within a few binomial standard errors.

Run: python benchmarks/sweep.py [--n 2000] [--steps 2000]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import sgldsim as sg  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="particles per cell")
    parser.add_argument("--steps", type=int, default=2000, help="steps per run")
    parser.add_argument("--step-size", type=float, default=5e-3)
    args = parser.parse_args()

    u = sg.sharp_flat_double_well()
    betas = np.geomspace(1.0, 8.0, 8)
    sigmas = np.geomspace(0.01, 0.2, 8)
    beta_grid, sigma_grid = np.meshgrid(betas, sigmas, indexing="ij")
    x0 = np.full((args.n, 1), -1.0)
    key = jax.random.key(0)

    start = time.perf_counter()
    sampler = sg.fsgld_sampler(args.step_size, beta_grid, sigma_grid)
    batched = sg.simulate(key, u, sampler, np.broadcast_to(x0, (8, 8, args.n, 1)), args.steps)
    flat_batched = np.mean(np.asarray(batched.particles[..., -1, :, 0]) > 0, axis=-1)
    t_batched = time.perf_counter() - start

    start = time.perf_counter()
    flat_loop = np.empty((8, 8))
    for i, j in np.ndindex(8, 8):
        run = sg.simulate(jax.random.fold_in(key, 8 * i + j), u,
                          sg.fsgld_sampler(args.step_size, float(beta_grid[i, j]),
                                           float(sigma_grid[i, j])),
                          x0, args.steps)
        flat_loop[i, j] = np.mean(np.asarray(run.particles[-1, :, 0]) > 0)
    t_loop = time.perf_counter() - start

    se = np.sqrt(np.clip(flat_loop * (1 - flat_loop), 1e-12, None) * 2 / args.n)
    z = np.max(np.abs(flat_batched - flat_loop) / np.maximum(se, 1.0 / args.n))
    print(f"64 cells (8 beta x 8 sigma), N = {args.n} particles/cell, {args.steps} steps, "
          f"device {jax.devices()[0].platform}")
    print("| run | wall time (s) | cells / s |")
    print("|---|---:|---:|")
    print(f"| one compiled call (cells batched) | {t_batched:.2f} | {64 / t_batched:.1f} |")
    print(f"| 64 separate calls | {t_loop:.2f} | {64 / t_loop:.1f} |")
    print(f"speed-up of the batched sweep: {t_loop / t_batched:.1f}x")
    print(f"check: flat-basin fractions agree, max |z| = {z:.2f} over 64 cells")


if __name__ == "__main__":
    main()

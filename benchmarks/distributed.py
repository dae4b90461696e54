"""Benchmark: a sweep serial vs on a local Dask cluster, and ``simulate`` on 1 vs 2 devices.

1. Sweep: the demo-quadratic experiment (SGLD/fSGLD particles on a quadratic, 8 cells, one cell
   per chunk) at --sweep-particles particles, run by ``run_experiment`` serially in this process
   and with :class:`sgldsim.runner.DaskExecutor` on a ``LocalCluster`` of --workers
   single-threaded worker processes. Both are warmed up first by a 4-cell run of the same shapes
   (so every process has imported JAX and compiled the chunk program); the cluster's start-up
   and warm-up time is printed apart.
   Both runs write a run folder and their results tables must be equal.
2. Devices: ``simulate`` (fSGLD on Gaussian wells, d = --dim, N = --n) in two subprocesses with
   ``XLA_FLAGS=--xla_force_host_platform_device_count=1`` and ``=2`` (the particle axis sharded
   over the two host devices); best of 3 timed runs after a compiling one; the particles must be
   equal bit for bit.

Prints one markdown table with the ratios and the load average (``os.getloadavg``) before and
after, since other processes on the machine distort the timings.

Run: python benchmarks/distributed.py [--workers 2] [--sweep-particles 200000] [--n 200000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# This file's name shadows the ``distributed`` package for `python benchmarks/distributed.py`:
# drop its folder from the import path (worker processes inherit the path).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parents[1]

DEVICE_RUN = textwrap.dedent("""
    import hashlib, sys, time
    import jax, numpy as np
    import sgldsim as sg
    n, d, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(0)
    u = sg.GaussianWells(2 * rng.standard_normal((4, d)), np.ones(4), np.ones(4), 0.1)
    x0 = np.zeros((n, d))
    run = lambda: sg.simulate(jax.random.key(0), u, sg.fsgld_sampler(0.01, 10.0, 0.1), x0, steps)
    result = run()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    particles = np.asarray(result.particles)
    print(len(jax.devices()), min(times), hashlib.sha256(particles.tobytes()).hexdigest()[:16])
""")


def time_sweep(workers: int, n_particles: int, n_steps: int) -> dict:
    from distributed import Client

    from sgldsim.runner import DaskExecutor, local_cluster, run_experiment

    overrides = [f"params.n_particles={n_particles}", f"params.n_steps={n_steps}",
                 "chunk_size=1"]
    # same shapes, other cells: compiles the chunk program in every process before timing
    warm_up = [*overrides, "grid.beta=[0.5, 2.0]", "grid.step_size=[0.1, 0.3]"]
    with tempfile.TemporaryDirectory() as tmp:
        run_experiment("demo-quadratic", warm_up, out_dir=Path(tmp) / "warm-serial",
                       progress=False)
        start = time.perf_counter()
        serial = run_experiment("demo-quadratic", overrides, out_dir=Path(tmp) / "serial",
                                progress=False)
        t_serial = time.perf_counter() - start

        start = time.perf_counter()
        with local_cluster(workers) as cluster, Client(cluster) as client:
            executor = DaskExecutor(client)
            run_experiment("demo-quadratic", warm_up, out_dir=Path(tmp) / "warm-dask",
                           executor=executor, progress=False)
            t_start = time.perf_counter() - start
            start = time.perf_counter()
            dask = run_experiment("demo-quadratic", overrides, out_dir=Path(tmp) / "dask",
                                  executor=executor, progress=False)
            t_dask = time.perf_counter() - start
    if not dask.results.equals(serial.results):
        raise SystemExit("the Dask run's results differ from the serial run's")
    return {"serial": t_serial, "dask": t_dask, "start": t_start,
            "cells": serial.metadata["n_cells"]}


def time_devices(n: int, dim: int, steps: int) -> dict:
    out = {}
    for count in (1, 2):
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT),
               "XLA_FLAGS": f"--xla_force_host_platform_device_count={count}"}
        done = subprocess.run([sys.executable, "-c", DEVICE_RUN, str(n), str(dim), str(steps)],
                              capture_output=True, text=True, env=env, check=True)
        devices, seconds, digest = done.stdout.split()
        if int(devices) != count:
            raise SystemExit(f"expected {count} devices, the subprocess saw {devices}")
        out[count] = (float(seconds), digest)
    if out[1][1] != out[2][1]:
        raise SystemExit("particles on 2 devices differ from those on 1 device")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sweep-particles", type=int, default=200_000)
    parser.add_argument("--sweep-steps", type=int, default=400)
    parser.add_argument("--n", type=int, default=200_000, help="particles of the device run")
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()

    load_before = os.getloadavg()
    sweep = time_sweep(args.workers, args.sweep_particles, args.sweep_steps)
    devices = time_devices(args.n, args.dim, args.steps)
    load_after = os.getloadavg()

    print(f"{os.cpu_count()} CPUs; load average (1, 5, 15 min) before "
          f"{', '.join(f'{x:.1f}' for x in load_before)}, after "
          f"{', '.join(f'{x:.1f}' for x in load_after)}")
    print()
    print("| run | serial / 1 device (s) | parallel (s) | speed-up |")
    print("|---|---:|---:|---:|")
    print(f"| demo-quadratic sweep, {sweep['cells']} cells x {args.sweep_particles} particles x "
          f"{args.sweep_steps} steps: serial vs Dask, {args.workers} workers | "
          f"{sweep['serial']:.2f} | {sweep['dask']:.2f} | {sweep['serial'] / sweep['dask']:.2f}x |")
    print(f"| `simulate` fSGLD, N = {args.n}, d = {args.dim}, {args.steps} steps: 1 vs 2 host "
          f"devices | {devices[1][0]:.2f} | {devices[2][0]:.2f} | "
          f"{devices[1][0] / devices[2][0]:.2f}x |")
    print()
    print(f"Dask cluster start-up ({args.workers} workers, warm-up run included, not in the "
          f"sweep time): {sweep['start']:.1f} s. Results: Dask table equals the serial one; "
          f"particles on 2 devices equal those on 1 (sha256 {devices[1][1]}).")


if __name__ == "__main__":
    main()

"""Benchmark: particle-steps per second of SGLD and fSGLD (docs/theory.md §1) on Gaussian wells.

    theta - lam grad u(theta + sigma xi') + sqrt(2 lam / beta) xi   (SGLD: sigma = 0)

u: GaussianWells with 4 wells (centres ~ 2 N(0, I_d), depth 1, width 1, confinement 0.1), N
particles in float32, for d in --dims. Implementations of the same update:

- sgldsim: :func:`sgldsim.simulate` (one jitted nested scan; timed as a user calls it).
- NumPy: vectorised update, ``np.random.default_rng().standard_normal(dtype=float32)``.
- BlackJAX: ``blackjax.sgld(grad_estimator).step`` vmapped over particles (one key per particle
  and step, as its per-chain API expects), jit + ``lax.scan`` over steps. fSGLD uses the same
  kernel with the perturbation xi' passed as the minibatch: grad_estimator(p, xi') =
  -grad u(p + sigma xi'). Its Langevin step with temperature 1/beta is exactly the update above.
  BlackJAX draws float64 noise under x64 (``generate_gaussian_noise`` promotes), so each step is
  cast back to float32. "BlackJAX + XLA opt" compiles it with sgldsim's XLA:CPU options
  (YNNPACK fusions off, region-analysis copy insertion; see sgldsim/dynamics/simulate.py) to
  separate those options' share of the speed-up.

Times exclude compilation (a warm-up call first), use block_until_ready and report the fastest
of --repeats runs (round-robin over the implementations) of --steps steps; fewer steps for large
d: steps * min(1, 10/d), at least 10. NumPy is warmed up with one step, the jitted runners with
the timed number of steps (BlackJAX's scan length is static).

Run: python benchmarks/particles.py [--n 100000] [--steps 60] [--dims 1 10 100]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import blackjax  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import sgldsim  # noqa: E402
from sgldsim.dynamics.simulate import _CPU_COMPILER_OPTIONS  # noqa: E402

# A script owns its process: x64 on, the conditions the README's timings were measured under
# (BlackJAX then draws float64 noise, see above; sgldsim's runs are float32 either way).
jax.config.update("jax_enable_x64", True)

STEP_SIZE, BETA, SIGMA = 0.01, 10.0, 0.1
N_WELLS, CONFINEMENT = 4, 0.1


def gaussian_wells(d: int) -> sgldsim.GaussianWells:
    centers = 2.0 * np.random.default_rng(0).normal(size=(N_WELLS, d))
    return sgldsim.GaussianWells(centers, np.ones(N_WELLS), np.ones(N_WELLS), CONFINEMENT)


def numpy_grad(potential, x):
    """grad u(x) = m x + sum_j (a_j / s_j^2) exp(-|x - c_j|^2 / (2 s_j^2)) (x - c_j), x (N, d)."""
    c, a, s2 = (np.asarray(v, dtype=x.dtype) for v in
                (potential.centers, potential.depths, potential.widths**2))
    diff = x[:, None, :] - c
    bump = a / s2 * np.exp(-0.5 * np.einsum("nkd,nkd->nk", diff, diff) / s2)
    return x.dtype.type(potential.confinement) * x + np.einsum("nk,nkd->nd", bump, diff)


def numpy_runner(potential, x0, sigma):
    rng = np.random.default_rng(0)
    noise_scale = np.float32(np.sqrt(2 * STEP_SIZE / BETA))
    lam, sigma = np.float32(STEP_SIZE), np.float32(sigma)

    def run(n_steps):
        x = x0.copy()
        for _ in range(n_steps):
            y = x + sigma * rng.standard_normal(x.shape, dtype=np.float32) if sigma else x
            x = x - lam * numpy_grad(potential, y)
            x += noise_scale * rng.standard_normal(x.shape, dtype=np.float32)
        return x

    return run


def blackjax_runner(potential, x0, sigma, compiler_options=None):
    def scan(key, x, potential, n_steps):
        u = jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float32), potential)
        kernel = blackjax.sgld(lambda p, xi_prime: -u.grad(p if xi_prime is None
                                                            else p + sigma * xi_prime))

        def one_step(x, key):
            key_particles, key_perturbation = jax.random.split(key)
            keys = jax.random.split(key_particles, x.shape[0])
            if sigma:
                xi_prime = jax.random.normal(key_perturbation, x.shape, x.dtype)
                move = jax.vmap(lambda k, p, e: kernel.step(k, p, e, STEP_SIZE, 1 / BETA))
                return move(keys, x, xi_prime).astype(x.dtype), None
            move = jax.vmap(lambda k, p: kernel.step(k, p, None, STEP_SIZE, 1 / BETA))
            return move(keys, x).astype(x.dtype), None

        return jax.lax.scan(one_step, x, jax.random.split(key, n_steps))[0]

    compiled = jax.jit(scan, static_argnames="n_steps", compiler_options=compiler_options)
    x0 = jnp.asarray(x0)
    return lambda n_steps: compiled(jax.random.key(0), x0, potential, n_steps)


def sgldsim_runner(potential, x0, sigma):
    sampler = (sgldsim.fsgld_sampler(STEP_SIZE, BETA, sigma) if sigma
               else sgldsim.sgld_sampler(STEP_SIZE, BETA))
    key = jax.random.key(0)
    return lambda n_steps: sgldsim.simulate(key, potential, sampler, x0, n_steps,
                                            record_at=[n_steps]).particles


def seconds_per_step(runs: dict, n_steps: int, repeats: int) -> dict[str, float]:
    """Fastest time per step of each ``name: (run, compiled)``; the repeats go round-robin over
    the implementations so that load from other processes hits all of them alike."""
    for run, compiled in runs.values():
        jax.block_until_ready(run(n_steps if compiled else 1))  # compile (same n_steps) / warm up
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (run, _) in runs.items():
            start = time.perf_counter()
            jax.block_until_ready(run(n_steps))
            times[name].append(time.perf_counter() - start)
    return {name: min(t) / n_steps for name, t in times.items()}


def check_numpy_grad(potential, d: int) -> None:
    x = np.random.default_rng(1).normal(size=(7, d)).astype(np.float32)
    np.testing.assert_allclose(numpy_grad(potential, x), potential.grad(x), rtol=1e-4, atol=1e-5)


def main(n: int, steps: int, dims: list[int], repeats: int) -> None:
    runners = {  # name: (factory, compiled)
        "sgldsim": (sgldsim_runner, True),
        "NumPy": (numpy_runner, False),
        "BlackJAX": (blackjax_runner, True),
        "BlackJAX + XLA opt": (lambda *a: blackjax_runner(*a, _CPU_COMPILER_OPTIONS), True),
    }
    print(f"N = {n} particles, float32, GaussianWells ({N_WELLS} wells, confinement "
          f"{CONFINEMENT}), {jax.devices()[0].device_kind}, {os.cpu_count()} CPUs\n")
    header = ["method", "d", "steps", *(f"{k} (M particle-steps/s)" for k in runners),
              *(f"sgldsim / {k}" for k in list(runners)[1:])]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for d in dims:
        potential = gaussian_wells(d)
        check_numpy_grad(potential, d)
        x0 = np.zeros((n, d), np.float32)
        n_steps = max(10, round(steps * min(1.0, 10 / d)))
        for method, sigma in (("SGLD", 0.0), ("fSGLD", SIGMA)):
            runs = {name: (make(potential, x0, sigma), compiled)
                    for name, (make, compiled) in runners.items()}
            rate = {name: n / t for name, t in seconds_per_step(runs, n_steps, repeats).items()}
            ours = rate["sgldsim"]
            cells = [method, str(d), str(n_steps), *(f"{r / 1e6:.1f}" for r in rate.values()),
                     *(f"{ours / rate[k]:.1f}x" for k in list(runners)[1:])]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="particles")
    parser.add_argument("--steps", type=int, default=60, help="steps per timing (d <= 10)")
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeats", type=int, default=3, help="timings per cell (fastest kept)")
    args = parser.parse_args()
    main(args.n, args.steps, args.dims, args.repeats)

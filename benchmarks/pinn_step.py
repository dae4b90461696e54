"""Benchmark: time per PINN training step of every method relative to Adam, and the
forward-mode PDE operator against a naive ``jax.hessian`` residual (docs/theory.md §9).

Same network (tanh 3 x 50 by default), same batch (the paper's 1280 collocation points and 128
points per boundary part), float32, one run. Each step is ``make_train_step`` with Adam and the
method's gradient rule (:func:`sgldsim.optim.pcgrad`, :func:`sgldsim.optim.mgda`,
:func:`sgldsim.optim.dual_cone`); Adam uses the plain gradient (one forward, one backward pass),
the two-term rules one forward and two backward passes. LRA and DCGD+LRA add the weight
lambda_hat = max|g_r| / mean|g_b| to a two-term step; NTK adds, every ``--ntk-every`` steps, the
traces of the residual and boundary NTK blocks on ``--ntk-points`` points each (its cost is
amortised over those steps). "Adam, jax.hessian operator" is Adam with the residual's second
derivatives from full Hessians instead of forward-over-forward mode.

Times exclude compilation (a warm-up call first), use block_until_ready, and report the fastest
of --repeats rounds (round-robin over methods) of --steps calls each.

Run: python benchmarks/pinn_step.py [--problems helmholtz2d burgers] [--steps 20]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

from sgldsim import optim as so  # noqa: E402
from sgldsim import pinn  # noqa: E402


def lra_rule(combine):
    """A two-term step with the LRA weight on the boundary gradient (stateless for timing)."""

    def rule(key, params, batch, objective):
        gradients, info = so.term_gradients(objective, params, batch, "lra")
        g_r, g_b = gradients["residual"], gradients["boundary"]
        return combine(g_r, so.lra_weight(g_r, g_b) * g_b), info

    return rule


def ntk_update_fn(problem, net, batch):
    """The jitted NTK-weight update: traces of both NTK blocks on ``batch``, then weights."""

    @jax.jit
    def update(theta):
        res = so.ntk_trace(lambda p: jax.vmap(lambda x: problem.residual(
            lambda y: net.apply(p, y), x))(batch["residual"]), theta)
        bnd = so.ntk_trace(lambda p: jnp.concatenate(problem.boundary_misfits(
            lambda y: net.apply(p, y), batch["boundary"])), theta)
        return so.ntk_weights(res, bnd)

    return update


def time_call(fn, args, steps, repeats_out):
    jax.block_until_ready(fn(*args))
    start = time.perf_counter()
    for _ in range(steps):
        out = fn(*args)
    jax.block_until_ready(out)
    repeats_out.append((time.perf_counter() - start) / steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["helmholtz2d", "burgers"],
                        choices=pinn.PROBLEMS)
    parser.add_argument("--hidden", nargs="+", type=int, default=[50, 50, 50])
    parser.add_argument("--n-residual", type=int, default=1280)
    parser.add_argument("--n-boundary", type=int, default=128)
    parser.add_argument("--ntk-points", type=int, default=32)
    parser.add_argument("--ntk-every", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"# tanh {'x'.join(map(str, args.hidden))}, {args.n_residual} collocation + "
          f"{args.n_boundary} per boundary part, float32, {jax.devices()[0].platform}; "
          f"fastest of {args.repeats} x {args.steps} steps; load {os.getloadavg()[0]:.1f}")
    rules = {"adam": so.plain(), "lra": lra_rule(jnp.add), "ntk": so.plain(),
             "pcgrad": so.pcgrad(), "mgda": so.mgda(),
             "dcgd-projection": so.dual_cone("projection"),
             "dcgd-average": so.dual_cone("average"), "dcgd-center": so.dual_cone("center"),
             "dcgd-lra": lra_rule(so.DUAL_CONE_COMBINATIONS["center"]),
             "adam, jax.hessian operator": so.plain()}
    for name in args.problems:
        problem = pinn.problem(name)
        naive = pinn.problem(name, operator="hessian")
        net = pinn.tanh_mlp(problem.d_in, args.hidden)
        theta = net.init(jax.random.key(0))
        batch = problem.sample(jax.random.key(1), args.n_residual, args.n_boundary)
        optimizer = optax.adam(1e-3)
        opt_state = optimizer.init(theta)
        steps = {}
        for method, rule in rules.items():
            prob = naive if "hessian" in method else problem
            step = jax.jit(so.make_train_step(prob.loss(net.apply), optimizer, rule))
            steps[method] = (step, (jax.random.key(2), theta, opt_state, batch))

        ntk_batch = problem.sample(jax.random.key(3), args.ntk_points, args.ntk_points)

        ntk_update = ntk_update_fn(problem, net, ntk_batch)

        times = {m: [] for m in steps}
        ntk_times = []
        for _ in range(args.repeats):
            for method, (step, call_args) in steps.items():
                time_call(step, call_args, args.steps, times[method])
            time_call(ntk_update, (theta,), args.steps, ntk_times)
        best = {m: min(t) for m, t in times.items()}
        best["ntk"] += min(ntk_times) / args.ntk_every
        print(f"\n{name}: {'method':<28} {'ms/step':>8} {'x Adam':>7}")
        for method, t in best.items():
            print(f"{name}: {method:<28} {1e3 * t:8.2f} {t / best['adam']:7.2f}")


if __name__ == "__main__":
    main()

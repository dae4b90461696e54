"""Benchmark: one PINN training step at the DCGD paper's setup, sgldsim against a PyTorch loop
written like the official DCGD code and a plain JAX loop, in one run; then the cost of every
method in sgldsim's trainer relative to Adam (docs/dcgd.md, "Cost per step").

Setup (Hwang and Lim, NeurIPS 2024; the official Helmholtz code): Helmholtz 2-D, tanh 3 x 50,
inputs standardised, 1280 collocation points and 128 points on each of the four edges drawn
fresh every step, L_b the sum of the four edge means, the Center rule, Adam with the learning
rate decayed by 0.9 every 1000 steps, float32, on the CPU.

- **sgldsim, 1 run**: :func:`sgldsim.pinn.train_pinn_runs`'s compiled program
  (``training_program``) for ``--steps`` steps, divided by the steps: sampling, both
  gradients, the rule, Adam, the best-loss iterate and the per-block records, all included.
- **sgldsim, R runs in one program**: the same with R seeds (``--runs``), time per run-step.
- **plain JAX**: a jitted step in a Python loop with the Laplacian by nested ``jax.jvp`` per
  point and the Center rule; points sampled in the jitted step.
- **PyTorch (official-style)**: the official code's structure: an ``nn.Sequential`` tanh
  network, NumPy sampling and standardisation each step, second derivatives by
  ``torch.autograd.grad(create_graph=True)`` per input column, the two losses' gradients by
  ``torch.autograd.grad``, the Center combination written into ``.grad``, ``torch.optim.Adam``
  and ``StepLR``. torch is a benchmark-only dependency (``pip install torch``; here the CPU
  build ``torch==2.13.0``); without it that row is skipped.

Each time excludes compilation (a warm-up first) and is the fastest of ``--repeats`` rounds
(round-robin over the contenders) of ``--steps`` steps.

Then, per problem at its paper point counts, the cost of Center alone and of the nine methods
in one program (what ``pinn-dcgd-paper`` costs per run-step), and per method relative to Adam.

Run: python benchmarks/pinn_step.py [--steps 200] [--repeats 3] [--runs 4 9]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from sgldsim import optim as so  # noqa: E402
from sgldsim import pinn  # noqa: E402
from sgldsim.pinn.train import training_program, training_setup  # noqa: E402

N_RESIDUAL, N_EDGE, HIDDEN = 1280, 128, (50, 50, 50)


def sgldsim_program(problem, methods, steps):
    """The trainer's compiled program over ``len(methods)`` runs at the paper's point counts
    for ``problem`` (:data:`sgldsim.pinn.PAPER_SETUP`; Helmholtz 2-D: 1280 + 4 x 128)."""
    setup = training_setup(problem, hidden=HIDDEN, steps=steps, block_steps=min(steps, 100))
    run = training_program(problem, methods, setup)
    keys = jnp.stack([jax.random.key(i) for i in range(len(methods))])
    return lambda: jax.block_until_ready(run(keys))


def plain_jax_loop(problem, steps):
    """A plain JAX training loop: per-point network, nested jvp Laplacian, Center, Adam."""
    net = problem.network(HIDDEN)
    field = pinn.field_jet  # per-point autodiff: the nested-jvp reference

    def losses(theta, batch):
        f = field(lambda x: net.apply(theta, x))
        return problem.residual_loss(f, batch), problem.boundary_loss(f, batch)

    optimizer = optax.adam(optax.exponential_decay(1e-3, 1000, 0.9, staircase=True))
    center = so.DUAL_CONE_COMBINATIONS["center"]

    @jax.jit
    def step(theta, opt_state, key):
        batch = problem.sample(key, N_RESIDUAL, N_EDGE)
        g_r = jax.grad(lambda t: losses(t, batch)[0])(theta)
        g_b = jax.grad(lambda t: losses(t, batch)[1])(theta)
        updates, opt_state = optimizer.update(center(g_r, g_b), opt_state, theta)
        return optax.apply_updates(theta, updates), opt_state

    theta = net.init(jax.random.key(0))
    state = (theta, optimizer.init(theta))
    keys = jax.random.split(jax.random.key(1), steps)

    def call():
        th, st = state
        for k in keys:
            th, st = step(th, st, k)
        jax.block_until_ready(th)

    return call


def torch_loop(steps):
    """The official-style PyTorch loop for Helmholtz 2-D with Center (None without torch)."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    layers = []
    widths = [2, *HIDDEN, 1]
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        linear = torch.nn.Linear(a, b)
        torch.nn.init.xavier_normal_(linear.weight)
        torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(widths) - 2:
            layers.append(torch.nn.Tanh())
    dnn = torch.nn.Sequential(*layers)
    params = list(dnn.parameters())
    adam = torch.optim.Adam(params, lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(adam, step_size=1000, gamma=0.9)
    mu, sigma = np.zeros(2), np.full(2, 2 / np.sqrt(12))
    a1, a2, k = 1.0, 4.0, 1.0

    def forcing(x):
        u = np.sin(a1 * np.pi * x[:, :1]) * np.sin(a2 * np.pi * x[:, 1:2])
        return (k**2 - np.pi**2 * (a1**2 + a2**2)) * u

    def fetch(x):
        x = (x - mu) / sigma
        return torch.tensor(x, requires_grad=True).float()

    def edge(axis, value):
        x = rng.uniform(-1, 1, (N_EDGE, 2))
        x[:, axis] = value
        return fetch(x)

    def net_f(x1, x2):
        u = dnn(torch.cat([x1, x2], dim=1))
        ones = torch.ones_like(u)
        u_x1 = torch.autograd.grad(u, x1, ones, retain_graph=True, create_graph=True)[0]
        u_x1 = u_x1 / sigma[0]
        u_x2 = torch.autograd.grad(u, x2, ones, retain_graph=True, create_graph=True)[0]
        u_x2 = u_x2 / sigma[1]
        u_xx1 = torch.autograd.grad(u_x1, x1, torch.ones_like(u_x1), retain_graph=True,
                                    create_graph=True)[0] / sigma[0]
        u_xx2 = torch.autograd.grad(u_x2, x2, torch.ones_like(u_x2), retain_graph=True,
                                    create_graph=True)[0] / sigma[1]
        return u_xx1 + u_xx2 + k**2 * u

    def one_step():
        edges = [edge(0, -1.0), edge(0, 1.0), edge(1, -1.0), edge(1, 1.0)]
        x = rng.uniform(-1, 1, (N_RESIDUAL, 2))
        f = torch.tensor(forcing(x)).float()
        xs = fetch(x)
        loss_b = sum(torch.mean(dnn(torch.cat([e[:, :1], e[:, 1:]], dim=1)) ** 2)
                     for e in edges)
        f_pred = net_f(xs[:, :1], xs[:, 1:])
        loss_r = torch.mean((f_pred - f) ** 2)
        g_r = torch.cat([g.flatten() for g in torch.autograd.grad(loss_r, params,
                                                                  retain_graph=True)])
        g_b = torch.cat([g.flatten() for g in torch.autograd.grad(loss_b, params)])
        g_c = g_r / g_r.norm() + g_b / g_b.norm()
        direction = (g_c @ (g_r + g_b)) / (g_c @ g_c) * g_c
        start = 0
        for p in params:
            p.grad = direction[start:start + p.numel()].view_as(p).clone()
            start += p.numel()
        adam.step()
        scheduler.step()

    def call():
        for _ in range(steps):
            one_step()

    call.threads = torch.get_num_threads()
    call.version = torch.__version__
    return call


def fastest(contenders, steps, repeats):
    """ms per step (per run-step where a contender trains several runs), fastest round."""
    times = {name: [] for name in contenders}
    for call, _ in contenders.values():
        call()  # compile / warm up
    for _ in range(repeats):
        for name, (call, runs) in contenders.items():
            start = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - start) / steps / runs)
    return {name: 1e3 * min(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, nargs="+", default=[4, 9])
    parser.add_argument("--methods-problems", nargs="*", default=["helmholtz2d", "burgers"],
                        choices=pinn.PROBLEMS, help="problems for the per-method table")
    parser.add_argument("--cost-problems", nargs="*", default=list(pinn.PROBLEMS),
                        choices=pinn.PROBLEMS,
                        help="problems for the per-problem cost table (paper point counts)")
    args = parser.parse_args()
    problem = pinn.problem("helmholtz2d")
    center = "dcgd-center"
    contenders = {"sgldsim, 1 run": (sgldsim_program(problem, [center], args.steps), 1)}
    for r in args.runs:
        contenders[f"sgldsim, {r} runs in one program"] = (
            sgldsim_program(problem, [center] * r, args.steps), r)
    contenders["plain JAX loop (nested jvp)"] = (plain_jax_loop(problem, args.steps), 1)
    torch_call = torch_loop(args.steps)
    if torch_call is not None:
        contenders["PyTorch loop (official-style)"] = (torch_call, 1)
    print(f"# Helmholtz 2-D, tanh 3x50, {N_RESIDUAL} collocation + 4 x {N_EDGE} edge points, "
          f"Center, Adam, float32, CPU ({os.cpu_count()} cores"
          + (f"; torch {torch_call.version}, {torch_call.threads} threads" if torch_call
             else "; torch not installed") + f"); fastest of {args.repeats} x {args.steps} "
          f"steps; load {os.getloadavg()[0]:.1f}")
    best = fastest(contenders, args.steps, args.repeats)
    reference = best.get("PyTorch loop (official-style)")
    print(f"{'contender':<36} {'ms/run-step':>12} {'PyTorch / this':>15}")
    for name, ms in best.items():
        ratio = f"{reference / ms:15.2f}" if reference else f"{'-':>15}"
        print(f"{name:<36} {ms:12.2f} {ratio}")

    print(f"\n{'problem (Center, sgldsim)':<28} {'1 run ms/step':>14} "
          f"{'9 runs ms/run-step':>19}")
    for name in args.cost_problems:
        prob = pinn.problem(name)
        steps = max(100, args.steps // 2)
        costs = fastest({"1": (sgldsim_program(prob, [center], steps), 1),
                         "9": (sgldsim_program(prob, list(pinn.PINN_METHODS), steps), 9)},
                        steps, args.repeats)
        print(f"{name:<28} {costs['1']:14.2f} {costs['9']:19.2f}")

    for name in args.methods_problems:
        prob = pinn.problem(name)
        steps = max(100, args.steps // 2)
        per_method = {m: (sgldsim_program(prob, [m], steps), 1) for m in pinn.PINN_METHODS}
        times = fastest(per_method, steps, args.repeats)
        print(f"\n{name}: {'method (sgldsim, 1 run)':<28} {'ms/step':>8} {'x Adam':>7}")
        for method, ms in times.items():
            print(f"{name}: {method:<28} {ms:8.2f} {ms / times['adam']:7.2f}")


if __name__ == "__main__":
    main()

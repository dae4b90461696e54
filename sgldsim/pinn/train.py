"""Train PINNs with Adam on the direction of each method: many (method, seed) runs as one
vmapped, scanned computation (docs/theory.md §9).

Every step takes fresh collocation and boundary points, the gradients g_r, g_b of the two loss
terms from one forward and two backward passes (:func:`sgldsim.optim.term_gradients`),
weights them (lambda_r g_r, lambda_b g_b), combines them into a direction, and feeds it to Adam
with the learning rate decayed by ``decay_rate`` every ``decay_steps`` steps (the DCGD paper's
schedule). Methods (:data:`PINN_METHODS`), as (weighting, combination):

| method          | weighting                      | combination of (lambda_r g_r, lambda_b g_b) |
|-----------------|--------------------------------|--------------------------------------------|
| adam            | none                           | sum                                        |
| lra             | LRA moving average, every step | sum                                        |
| ntk             | NTK traces, every block        | sum                                        |
| pcgrad          | none                           | :func:`sgldsim.optim.pcgrad` direction     |
| mgda            | none                           | :func:`sgldsim.optim.mgda` direction       |
| dcgd-projection | none                           | dual cone, projection                      |
| dcgd-average    | none                           | dual cone, average                         |
| dcgd-center     | none                           | dual cone, center                          |
| dcgd-lra        | LRA                            | dual cone, center                          |

Runs of different methods compute every combination (cheap vector algebra) and select theirs,
so all methods and seeds of a problem share one compiled program.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..optim import (
    DUAL_CONE_COMBINATIONS,
    as_objective,
    lra_update,
    mgda_direction,
    ntk_trace,
    ntk_weights,
    pcgrad_direction,
    term_gradients,
)
from ._base import PinnProblem
from .network import tanh_mlp

COMBINATIONS = {"sum": jnp.add, "pcgrad": pcgrad_direction, "mgda": mgda_direction,
                **{v: DUAL_CONE_COMBINATIONS[v] for v in ("projection", "average", "center")}}
WEIGHTINGS = ("none", "lra", "ntk")
PINN_METHODS = {
    "adam": ("none", "sum"), "lra": ("lra", "sum"), "ntk": ("ntk", "sum"),
    "pcgrad": ("none", "pcgrad"), "mgda": ("none", "mgda"),
    "dcgd-projection": ("none", "projection"), "dcgd-average": ("none", "average"),
    "dcgd-center": ("none", "center"), "dcgd-lra": ("lra", "center"),
}
"""Training methods by name: (loss weighting, two-term gradient rule)."""


class PinnRuns(NamedTuple):
    """Results of R runs (leading axis) trained for B blocks of ``block_steps`` steps.

    Attributes:
      rel_l2_final: |u_theta - u_ref| / |u_ref| on the test grid at the final iterate.
      rel_l2_best_loss: the same at the iterate with the lowest training loss L_r + L_b (the
        unweighted loss on that step's batch, before its update; the DCGD code's convention).
      best_step: the step of that iterate.
      conflict_fraction: fraction of steps with <g_r, g_b> < 0.
      block_*: per block, float[R, B]: ``rel_l2`` at its end; means over its steps of the
        loss, ``residual`` L_r, ``boundary`` L_b, ``cos`` = cos(g_r, g_b) and ``log_ratio`` =
        log10(|g_r| / |g_b|); ``conflict`` the fraction of its steps in conflict;
        ``weight`` lambda_b / lambda_r at its end.
      final_params, best_params: float32[R, P], the two iterates.
    """

    rel_l2_final: np.ndarray
    rel_l2_best_loss: np.ndarray
    best_step: np.ndarray
    conflict_fraction: np.ndarray
    block_rel_l2: np.ndarray
    block_loss: np.ndarray
    block_residual: np.ndarray
    block_boundary: np.ndarray
    block_cos: np.ndarray
    block_log_ratio: np.ndarray
    block_conflict: np.ndarray
    block_weight: np.ndarray
    final_params: np.ndarray
    best_params: np.ndarray


class _Carry(NamedTuple):
    theta: jax.Array
    opt_state: optax.OptState
    weight_r: jax.Array
    weight_b: jax.Array
    best_loss: jax.Array
    best_theta: jax.Array
    best_step: jax.Array


def check_method(method: str) -> None:
    if method not in PINN_METHODS:
        raise ValueError(f"unknown PINN method {method!r}; allowed: "
                         f"{', '.join(map(repr, PINN_METHODS))}")


def relative_l2(prediction, reference) -> jax.Array:
    """|u - u_ref|_2 / |u_ref|_2 over the test points."""
    return jnp.linalg.norm(prediction - reference) / jnp.linalg.norm(reference)


def train_pinn_runs(problem: PinnProblem, methods: Sequence[str], keys: jax.Array, *,
                    hidden: Sequence[int] = (50, 50, 50), steps: int = 1000,
                    block_steps: int = 100, learning_rate: float = 1e-3, decay_steps: int = 1000,
                    decay_rate: float = 0.9, n_residual: int = 256, n_boundary: int = 64,
                    ntk_points: int = 32, lra_alpha: float = 0.1) -> PinnRuns:
    """Train R PINNs: run r with method ``methods[r]`` from key ``keys[r]`` (network
    initialisation and every batch; equal keys give paired runs), all runs in one vmapped
    ``lax.scan``.

    Args:
      problem: a :class:`sgldsim.pinn.PinnProblem`.
      methods: one name of :data:`PINN_METHODS` per run.
      keys: PRNG keys, shape (R,).
      hidden: widths of the tanh network's hidden layers.
      steps: training steps, a multiple of ``block_steps``.
      block_steps: steps per recorded block (and per NTK-weight update).
      learning_rate, decay_steps, decay_rate: Adam's staircase exponential schedule.
      n_residual, n_boundary: collocation points, and points per boundary part, per step.
      ntk_points: points per term for the NTK traces.
      lra_alpha: LRA's moving-average rate alpha.

    Returns:
      :class:`PinnRuns` as NumPy arrays.
    """
    for method in methods:
        check_method(method)
    if len(methods) != len(keys):
        raise ValueError(f"methods has {len(methods)} entries but keys has {len(keys)}; give "
                         "one key per run")
    if steps <= 0 or block_steps <= 0 or steps % block_steps:
        raise ValueError(f"steps={steps} is not allowed: it must be a positive multiple of "
                         f"block_steps={block_steps}")
    net = tanh_mlp(problem.d_in, hidden)
    objective = as_objective(problem.loss(net.apply))
    test_x = problem.test_points()
    u_ref = jnp.asarray(problem.reference(test_x), jnp.float32)
    test_x = jnp.asarray(test_x, jnp.float32)
    optimizer = optax.adam(optax.exponential_decay(learning_rate, decay_steps, decay_rate,
                                                   staircase=True))
    combinations = list(COMBINATIONS.values())

    def rel_l2(theta):
        return relative_l2(jax.vmap(lambda x: net.apply(theta, x))(test_x), u_ref)

    def ntk_traces(theta, key):
        batch = problem.sample(key, ntk_points, ntk_points)

        def residuals(th):
            return jax.vmap(lambda x: problem.residual(lambda y: net.apply(th, y), x))(
                batch["residual"])

        def misfits(th):
            return jnp.concatenate(problem.boundary_misfits(lambda y: net.apply(th, y),
                                                            batch["boundary"]))

        return ntk_trace(residuals, theta), ntk_trace(misfits, theta)

    def one_run(key, weighting, combination):
        k_init, k_data, k_ntk = jax.random.split(key, 3)
        theta = net.init(k_init)
        one = jnp.ones((), jnp.float32)
        carry = _Carry(theta, optimizer.init(theta), one, one, jnp.asarray(jnp.inf, jnp.float32),
                       theta, jnp.zeros((), jnp.int32))

        def step(c: _Carry, t):
            batch = problem.sample(jax.random.fold_in(k_data, t), n_residual, n_boundary)
            gradients, info = term_gradients(objective, c.theta, batch, "a PINN method")
            g_r, g_b = gradients["residual"], gradients["boundary"]  # by name, never position
            weight_b = jnp.where(weighting == 1, lra_update(c.weight_b, g_r, g_b, lra_alpha),
                                 c.weight_b)
            w_r, w_b = c.weight_r * g_r, weight_b * g_b
            direction = jnp.stack([f(w_r, w_b) for f in combinations])[combination]
            updates, opt_state = optimizer.update(direction, c.opt_state, c.theta)
            loss = info.loss
            better = loss < c.best_loss
            c = _Carry(optax.apply_updates(c.theta, updates), opt_state, c.weight_r, weight_b,
                       jnp.where(better, loss, c.best_loss),
                       jnp.where(better, c.theta, c.best_theta), jnp.where(better, t, c.best_step))
            n_r, n_b = jnp.linalg.norm(g_r), jnp.linalg.norm(g_b)
            dot = g_r @ g_b
            cos = dot / jnp.maximum(n_r * n_b, jnp.finfo(jnp.float32).tiny)
            trace = (loss, info.terms["residual"], info.terms["boundary"], cos,
                     jnp.log10(n_r / n_b), (dot < 0).astype(jnp.float32))
            return c, trace

        def block(c: _Carry, b):
            t_r, t_b = ntk_traces(c.theta, jax.random.fold_in(k_ntk, b))
            lam_r, lam_b = ntk_weights(t_r, t_b)
            c = c._replace(weight_r=jnp.where(weighting == 2, lam_r, c.weight_r),
                           weight_b=jnp.where(weighting == 2, lam_b, c.weight_b))
            t = b * block_steps + jnp.arange(block_steps, dtype=jnp.int32)
            c, trace = jax.lax.scan(step, c, t)
            means = [jnp.mean(x) for x in trace]
            return c, (rel_l2(c.theta), *means, c.weight_b / c.weight_r)

        blocks = jnp.arange(steps // block_steps, dtype=jnp.int32)
        carry, blocks = jax.lax.scan(block, carry, blocks)
        return carry, blocks

    weighting = jnp.asarray([WEIGHTINGS.index(PINN_METHODS[m][0]) for m in methods])
    combination = jnp.asarray([list(COMBINATIONS).index(PINN_METHODS[m][1]) for m in methods])
    carry, blocks = jax.jit(jax.vmap(one_run))(keys, weighting, combination)
    (b_rel, b_loss, b_res, b_bnd, b_cos, b_ratio, b_conflict, b_weight) = map(np.asarray, blocks)
    best_rel = np.asarray(jax.jit(jax.vmap(rel_l2))(carry.best_theta))
    return PinnRuns(
        rel_l2_final=b_rel[:, -1], rel_l2_best_loss=best_rel,
        best_step=np.asarray(carry.best_step), conflict_fraction=b_conflict.mean(axis=1),
        block_rel_l2=b_rel, block_loss=b_loss, block_residual=b_res, block_boundary=b_bnd,
        block_cos=b_cos, block_log_ratio=b_ratio, block_conflict=b_conflict,
        block_weight=b_weight, final_params=np.asarray(carry.theta),
        best_params=np.asarray(carry.best_theta))


def predict(problem: PinnProblem, hidden: Sequence[int], theta, points) -> np.ndarray:
    """u_theta at ``points`` (n, d_in) for the tanh network of ``hidden`` widths."""
    net = tanh_mlp(problem.d_in, hidden)
    x = jnp.asarray(points, jnp.float32)
    return np.asarray(jax.jit(jax.vmap(net.apply, in_axes=(None, 0)))(jnp.asarray(theta), x))

"""Train PINNs with Adam on the direction of each method: many (method, seed) runs as one
vmapped, scanned computation (one run: no runs axis), docs/theory.md §9.

Every step takes fresh collocation and boundary points, the gradients g_r = grad L_r and
g_b = grad L_b by name, as two reverse passes each over its own points through the network's
forward derivative propagation (:meth:`sgldsim.pinn.Network.jet`), weights them
(lambda_r g_r, lambda_b g_b), combines them into a direction, and feeds it to Adam with the
learning rate decayed by ``decay_rate`` every ``decay_steps`` steps (the DCGD paper's
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

Runs of different methods select their combination with ``lax.switch`` (under vmap every used
combination is computed, cheap vector algebra), so all methods and seeds of a problem share one
compiled program; combinations and weightings no run uses are left out of it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._divergence import NOT_DIVERGED, guard_step, warn_training_divergence
from .._memory import working_elements
from ..optim import (
    DUAL_CONE_COMBINATIONS,
    LRA_ESTIMATES,
    lra_update,
    mgda_direction,
    ntk_trace,
    ntk_weights,
    pcgrad_direction,
)
from ._base import PAPER_SETUP, PinnProblem

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
      diverged_at: int[R], the first step (from 1) whose loss or updated parameters were NaN or
        inf, -1 if none. Such a run stops there: its later steps are not applied, so its final
        parameters are those of the step before (and the metrics theirs), and the traces of the
        steps not applied are NaN (:mod:`sgldsim._divergence`, as :func:`sgldsim.simulate`).
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
    diverged_at: np.ndarray | None = None


class _Carry(NamedTuple):
    theta: jax.Array
    opt_state: optax.OptState
    weight_r: jax.Array
    weight_b: jax.Array
    best_loss: jax.Array
    best_theta: jax.Array
    best_step: jax.Array
    diverged_at: jax.Array


def check_method(method: str) -> None:
    if method not in PINN_METHODS:
        raise ValueError(f"unknown PINN method {method!r}; allowed: "
                         f"{', '.join(map(repr, PINN_METHODS))}")


def relative_l2(prediction, reference) -> jax.Array:
    """|u - u_ref|_2 / |u_ref|_2 over the test points; both of shape (n,) (no broadcasting)."""
    if jnp.shape(prediction) != jnp.shape(reference) or jnp.ndim(reference) != 1:
        raise ValueError(f"prediction has shape {jnp.shape(prediction)} and reference "
                         f"{jnp.shape(reference)}; both must have the same shape (n,)")
    return jnp.linalg.norm(prediction - reference) / jnp.linalg.norm(reference)


class TrainingSetup(NamedTuple):
    """The hyperparameters of :func:`train_pinn_runs` (see there), resolved: ``None`` point
    counts and learning rate replaced by the problem's :data:`sgldsim.pinn.PAPER_SETUP`."""

    hidden: tuple[int, ...]
    steps: int
    block_steps: int
    learning_rate: float
    decay_steps: int
    decay_rate: float
    n_residual: int
    n_boundary: int
    ntk_points: int
    lra_alpha: float
    lra_estimate: str = "code"


def training_setup(problem: PinnProblem, *, hidden: Sequence[int] = (50, 50, 50),
                   steps: int = 1000, block_steps: int = 100,
                   learning_rate: float | None = None, decay_steps: int = 1000,
                   decay_rate: float = 0.9, n_residual: int | None = None,
                   n_boundary: int | None = None, ntk_points: int = 32,
                   lra_alpha: float = 0.1, lra_estimate: str = "code") -> TrainingSetup:
    """Check the hyperparameters and fill in the paper's per-problem defaults."""
    if steps <= 0 or block_steps <= 0 or steps % block_steps:
        raise ValueError(f"steps={steps} is not allowed: it must be a positive multiple of "
                         f"block_steps={block_steps}")
    paper = PAPER_SETUP[problem.name]
    learning_rate = paper.learning_rate if learning_rate is None else learning_rate
    n_residual = paper.n_residual if n_residual is None else n_residual
    n_boundary = paper.n_boundary if n_boundary is None else n_boundary
    for name, value in (("n_residual", n_residual), ("n_boundary", n_boundary),
                        ("ntk_points", ntk_points), ("decay_steps", decay_steps),
                        *((f"hidden[{i}]", h) for i, h in enumerate(hidden))):
        if isinstance(value, bool) or not float(value).is_integer() or value < 1:
            raise ValueError(f"{name}={value!r} is not allowed: it must be a whole number >= 1")
    if not hidden:
        raise ValueError("hidden=() is not allowed: give at least one hidden layer width")
    for name, value, high in (("learning_rate", learning_rate, np.inf),
                              ("decay_rate", decay_rate, 1.0), ("lra_alpha", lra_alpha, 1.0)):
        if not (np.isfinite(value) and 0 < value <= high):
            allowed = "a finite number > 0" if high == np.inf else f"in (0, {high:g}]"
            raise ValueError(f"{name}={value!r} is not allowed: it must be {allowed}")
    if lra_estimate not in LRA_ESTIMATES:
        raise ValueError(f"unknown LRA estimate {lra_estimate!r}; allowed: "
                         f"{', '.join(map(repr, LRA_ESTIMATES))}")
    return TrainingSetup(
        tuple(int(h) for h in hidden), int(steps), int(block_steps),
        float(paper.learning_rate if learning_rate is None else learning_rate),
        int(decay_steps), float(decay_rate),
        int(paper.n_residual if n_residual is None else n_residual),
        int(paper.n_boundary if n_boundary is None else n_boundary), int(ntk_points),
        float(lra_alpha), lra_estimate)


RUN_STATE_COPIES = 24
"""Parameter-sized float32 arrays of one run: parameters, Adam's two moments, the best iterate,
both gradients, their weighted copies, the combinations computed under ``lax.switch``, the
updates and the copies the non-finite guard keeps."""
TRACED_WIDTH = 16
"""Hidden width of the small network :func:`training_memory` traces (its per-point work is
linear in the widths, so it is scaled up to the real ones)."""


@functools.cache
def _per_point_elements(problem: PinnProblem, depth: int) -> tuple[int, int, int]:
    """Elements held per point (:func:`sgldsim._memory.working_elements`) by
    the residual loss and its gradient, the boundary loss and its gradient, and the network's
    values (order 0), for a network of ``depth`` hidden layers of :data:`TRACED_WIDTH` (traced,
    nothing run)."""
    net = problem.network((TRACED_WIDTH,) * depth)
    theta = jax.ShapeDtypeStruct((net.num_params,), jnp.float32)

    def field(th):
        return lambda points, order=2, weights=None: net.jet(th, points, order, weights)

    def batch(n_residual, n_boundary):
        return jax.eval_shape(lambda k: problem.sample(k, n_residual, n_boundary),
                              jax.random.key(0))

    residual = jax.value_and_grad(lambda th, b: problem.residual_loss(field(th), b))
    boundary = jax.value_and_grad(lambda th, b: problem.boundary_loss(field(th), b))
    points = lambda n: jax.ShapeDtypeStruct((n, problem.d_in), jnp.float32)  # noqa: E731
    return (working_elements(residual, lambda n: (theta, batch(n, 1)))[1],
            working_elements(boundary, lambda n: (theta, batch(1, n)))[1],
            working_elements(lambda th, x: net.jet(th, x, 0).u, lambda n: (theta, points(n)))[1])


def training_memory(problem: PinnProblem, n_runs: int, setup: TrainingSetup) -> float:
    """Peak bytes of :func:`training_program` for ``n_runs`` runs vmapped together: per run,
    one step's residual and boundary gradients over their points (every intermediate of the
    network's forward derivative propagation and its reverse pass), the NTK traces' Jacobians,
    :data:`RUN_STATE_COPIES` parameter vectors and a pass over the test points; float32. The
    network is not built (an estimate of a network too large to build still works)."""
    widths = [*setup.hidden]
    params = sum(a * b + b for a, b in zip([problem.d_in, *widths], [*widths, 1], strict=True))
    scale = sum(widths) / (TRACED_WIDTH * len(widths))
    residual, boundary, value = (scale * e for e in _per_point_elements(problem, len(widths)))
    n_boundary_points = sum(math.prod(v.shape[:-1]) for v in jax.tree.leaves(jax.eval_shape(
        lambda k: problem.sample(k, 1, setup.n_boundary), jax.random.key(0))["boundary"]))
    step = residual * setup.n_residual + boundary * n_boundary_points
    ntk = 2 * setup.ntk_points * (params + setup.ntk_points * residual)
    test = value * problem.test_points().shape[0]
    return 4.0 * n_runs * (RUN_STATE_COPIES * params + max(step, ntk, test))


def training_program(problem: PinnProblem, methods: Sequence[str], setup: TrainingSetup):
    """The jitted program ``run(keys) -> (carry, blocks)`` that trains ``len(methods)`` runs
    (run r: method ``methods[r]``, key ``keys[r]``), for timing and reuse without
    recompiling; :func:`train_pinn_runs` calls it and converts the output.

    Per step and run: fresh points from the run's key, g_r = grad L_r and g_b = grad L_b
    as two separate reverse passes (each over its own points only: together the cost of
    one gradient of L_r + L_b), the derivatives of the network by its forward propagation
    (:meth:`sgldsim.pinn.Network.jet`), the weighting and combination of the run's method,
    then Adam. A rule that no run uses is not computed; NTK traces only when a run uses NTK.
    """
    for method in methods:
        check_method(method)
    net = problem.network(setup.hidden)
    test_x = problem.test_points()
    u_ref = jnp.asarray(problem.reference(test_x), jnp.float32)
    test_x = jnp.asarray(test_x, jnp.float32)
    optimizer = optax.adam(optax.exponential_decay(setup.learning_rate, setup.decay_steps,
                                                   setup.decay_rate, staircase=True))
    used_weightings = sorted({WEIGHTINGS.index(PINN_METHODS[m][0]) for m in methods})
    used_combinations = sorted({list(COMBINATIONS).index(PINN_METHODS[m][1]) for m in methods})
    rules = [list(COMBINATIONS.values())[c] for c in used_combinations]
    weighting = jnp.asarray([WEIGHTINGS.index(PINN_METHODS[m][0]) for m in methods])
    combination = jnp.asarray([used_combinations.index(list(COMBINATIONS).index(
        PINN_METHODS[m][1])) for m in methods])
    uses_lra = WEIGHTINGS.index("lra") in used_weightings
    uses_ntk = WEIGHTINGS.index("ntk") in used_weightings
    block_steps = setup.block_steps

    def field(theta):
        return lambda points, order=2, weights=None: net.jet(theta, points, order, weights)

    residual_grad = jax.value_and_grad(lambda th, b: problem.residual_loss(field(th), b))
    boundary_grad = jax.value_and_grad(lambda th, b: problem.boundary_loss(field(th), b))

    def rel_l2(theta):
        return relative_l2(net.jet(theta, test_x, 0).u, u_ref)

    def ntk_traces(theta, key):
        batch = problem.sample(key, setup.ntk_points, setup.ntk_points)
        return (ntk_trace(lambda th: problem.residuals(field(th), batch["residual"]), theta),
                ntk_trace(lambda th: jnp.concatenate(problem.boundary_misfits(
                    field(th), batch["boundary"])), theta))

    def one_run(key, weighting, combination):
        k_init, k_data, k_ntk = jax.random.split(key, 3)
        theta = net.init(k_init)
        one = jnp.ones((), jnp.float32)
        carry = _Carry(theta, optimizer.init(theta), one, one, jnp.asarray(jnp.inf, jnp.float32),
                       theta, jnp.zeros((), jnp.int32), jnp.asarray(NOT_DIVERGED, jnp.int32))

        def step(c: _Carry, t):
            batch = problem.sample(jax.random.fold_in(k_data, t), setup.n_residual,
                                   setup.n_boundary)
            loss_r, g_r = residual_grad(c.theta, batch)   # by name, never position
            loss_b, g_b = boundary_grad(c.theta, batch)
            weight_b = c.weight_b
            if uses_lra:
                weight_b = jnp.where(weighting == 1, lra_update(
                    c.weight_b, g_r, g_b, setup.lra_alpha, setup.lra_estimate), c.weight_b)
            w_r, w_b = c.weight_r * g_r, weight_b * g_b
            if len(rules) == 1:
                direction = rules[0](w_r, w_b)
            else:
                direction = jax.lax.switch(combination, rules, w_r, w_b)
            updates, opt_state = optimizer.update(direction, c.opt_state, c.theta)
            loss = loss_r + loss_b
            # a step whose loss or new parameters are not finite stops the run (t + 1: steps
            # counted from 1): it and every later step keep the state before it
            (theta, opt_state, weight_b), diverged_at, applied = guard_step(
                t + 1, c.diverged_at, loss, (c.theta, c.opt_state, c.weight_b),
                (optax.apply_updates(c.theta, updates), opt_state, weight_b),
                params=lambda s: s[0])
            better = applied & (loss < c.best_loss)
            c = _Carry(theta, opt_state, c.weight_r, weight_b,
                       jnp.where(better, loss, c.best_loss),
                       jnp.where(better, c.theta, c.best_theta), jnp.where(better, t, c.best_step),
                       diverged_at)
            n_r, n_b = jnp.linalg.norm(g_r), jnp.linalg.norm(g_b)
            dot = g_r @ g_b
            cos = dot / jnp.maximum(n_r * n_b, jnp.finfo(jnp.float32).tiny)
            trace = (loss, loss_r, loss_b, cos, jnp.log10(n_r / n_b),
                     (dot < 0).astype(jnp.float32))
            return c, tuple(jnp.where(applied, v, jnp.nan) for v in trace)

        def block(c: _Carry, b):
            if uses_ntk:
                t_r, t_b = ntk_traces(c.theta, jax.random.fold_in(k_ntk, b))
                lam_r, lam_b = ntk_weights(t_r, t_b)
                c = c._replace(weight_r=jnp.where(weighting == 2, lam_r, c.weight_r),
                               weight_b=jnp.where(weighting == 2, lam_b, c.weight_b))
            t = b * block_steps + jnp.arange(block_steps, dtype=jnp.int32)
            c, trace = jax.lax.scan(step, c, t)
            means = [jnp.mean(x) for x in trace]
            return c, (rel_l2(c.theta), *means, c.weight_b / c.weight_r)

        blocks = jnp.arange(setup.steps // block_steps, dtype=jnp.int32)
        return jax.lax.scan(block, carry, blocks)

    @jax.jit
    def run(keys):
        if len(methods) == 1:  # no runs axis: vmap would turn every matmul into a batched one
            out = one_run(keys[0], weighting[0], combination[0])
            carry, blocks = jax.tree.map(lambda v: v[None], out)
        else:
            carry, blocks = jax.vmap(one_run)(keys, weighting, combination)
        return carry, blocks, jax.vmap(rel_l2)(carry.best_theta)

    return run


def train_pinn_runs(problem: PinnProblem, methods: Sequence[str], keys: jax.Array, *,
                    hidden: Sequence[int] = (50, 50, 50), steps: int = 1000,
                    block_steps: int = 100, learning_rate: float | None = None,
                    decay_steps: int = 1000, decay_rate: float = 0.9,
                    n_residual: int | None = None, n_boundary: int | None = None,
                    ntk_points: int = 32, lra_alpha: float = 0.1,
                    lra_estimate: str = "code") -> PinnRuns:
    """Train R PINNs: run r with method ``methods[r]`` from key ``keys[r]`` (network
    initialisation and every batch; equal keys give paired runs), all runs in one vmapped
    ``lax.scan`` (:func:`training_program`).

    Args:
      problem: a :class:`sgldsim.pinn.PinnProblem`; the network standardises its inputs when
        the problem says so (:meth:`~sgldsim.pinn.PinnProblem.network`).
      methods: one name of :data:`PINN_METHODS` per run.
      keys: PRNG keys, shape (R,).
      hidden: widths of the tanh network's hidden layers.
      steps: training steps, a multiple of ``block_steps``.
      block_steps: steps per recorded block (and per NTK-weight update).
      learning_rate, decay_steps, decay_rate: Adam's staircase exponential schedule
        (``None``: the problem's :data:`sgldsim.pinn.PAPER_SETUP` rate).
      n_residual, n_boundary: collocation points, and points per boundary set, per step
        (``None``: the problem's :data:`sgldsim.pinn.PAPER_SETUP` counts).
      ntk_points: points per term for the NTK traces.
      lra_alpha: LRA's moving-average rate alpha.
      lra_estimate: ``"code"`` (the LRA authors' code) or ``"paper"`` (their Eq. 2.11), see
        :func:`sgldsim.optim.lra_update`.

    Returns:
      :class:`PinnRuns` as NumPy arrays. A run whose loss or parameters became NaN or inf
      stopped at that step (``diverged_at``) and is named in a ``RuntimeWarning``.
    """
    if len(methods) != len(keys):
        raise ValueError(f"methods has {len(methods)} entries but keys has {len(keys)}; give "
                         "one key per run")
    setup = training_setup(problem, hidden=hidden, steps=steps, block_steps=block_steps,
                           learning_rate=learning_rate, decay_steps=decay_steps,
                           decay_rate=decay_rate, n_residual=n_residual,
                           n_boundary=n_boundary, ntk_points=ntk_points, lra_alpha=lra_alpha,
                           lra_estimate=lra_estimate)
    carry, blocks, best_rel = training_program(problem, methods, setup)(keys)
    diverged_at = np.asarray(carry.diverged_at)
    warn_training_divergence(diverged_at, f"{problem.name} training", [
        f"run {r}: {method}" for r, method in enumerate(methods)])
    (b_rel, b_loss, b_res, b_bnd, b_cos, b_ratio, b_conflict, b_weight) = map(np.asarray, blocks)
    return PinnRuns(
        rel_l2_final=b_rel[:, -1], rel_l2_best_loss=np.asarray(best_rel),
        best_step=np.asarray(carry.best_step), conflict_fraction=b_conflict.mean(axis=1),
        block_rel_l2=b_rel, block_loss=b_loss, block_residual=b_res, block_boundary=b_bnd,
        block_cos=b_cos, block_log_ratio=b_ratio, block_conflict=b_conflict,
        block_weight=b_weight, final_params=np.asarray(carry.theta),
        best_params=np.asarray(carry.best_theta), diverged_at=diverged_at)


def predict(problem: PinnProblem, hidden: Sequence[int], theta, points) -> np.ndarray:
    """u_theta at ``points`` (n, d_in) for the problem's tanh network of ``hidden`` widths
    (:meth:`~sgldsim.pinn.PinnProblem.network`)."""
    net = problem.network(hidden)
    x = jnp.asarray(points, jnp.float32)
    return np.asarray(jax.jit(jax.vmap(net.apply, in_axes=(None, 0)))(jnp.asarray(theta), x))

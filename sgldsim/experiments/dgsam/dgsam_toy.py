"""Fake flat minima on a bounded two-domain landscape: from many starts, where do GD, SAM,
per-domain SAM, GSAM, SAGM and DGSAM end? (docs/theory.md §8; this project's construction, not
the DGSAM paper's.)

w = (x, v) with v = (v1, v2). Two domains d = 1, 2, each with a 2 x 2 positive definite matrix
B_d^- at the left minimum and B_d^+ at the right one, blended along a valley in x:

    t(x) = (1 + tanh(k x) / tanh(k)) / 2            (t(-1) = 0, t(1) = 1),
    B_d(x) = (1 - t(x)) B_d^- + t(x) B_d^+,
    h_d(w) = beta (x^2 - 1)^2 / 8 + v' B_d(x) v / 2,
    L_d(w) = 1 - exp(-h_d(w)) in [0, 1),       L = (L_1 + L_2) / 2.

For every x, t(x) lies in [t_lo, t_hi] = [(1 - 1/tanh k) / 2, (1 + 1/tanh k) / 2] and B_d(x)
stays positive definite (:func:`blend_bounds`), so h_d >= 0 with equality only at the two
points p_- = (-1, 0, 0) and p_+ = (1, 0, 0): both are strict global minima of every L_d and of
L, with value 0. There ``grad h_d = 0`` and the Hessian is exact:

    Hess L_d(p_-+) = diag(beta, B_d^-+)       (:func:`domain_hessians_at_minima`).

Here k = 2, beta = 0.1 and s, f, m = 4, 0.5, 3 (:data:`SHARP`, :data:`FLAT`,
:data:`INDIVIDUAL`). x = 0 is a saddle of every L_d (curvature -(beta/2) exp(-beta/8) along x),
the low barrier h = beta/8 between the basins.

With u = (1, 1)/sqrt(2), z = (1, -1)/sqrt(2) and D(a, b) = a u u^T + b z z^T:

- ``fake_flat`` landscape: B_1^- = D(s, f), B_2^- = D(f, s) (each domain sharp, s, in its own
  direction), B_d^+ = m I. Pooled top curvature (s + f)/2 at p_- (smallest), m at p_+; each
  domain's s at p_- (largest), m at p_+. p_- is the fake flat minimum, p_+ the individually
  flat one.
- ``control``: B_d^- = ((s + f)/2) I, B_1^+ = D(2m - f, f), B_2^+ = D(f, 2m - f). The pooled
  matrices (1/2) sum_d B_d(x) equal the fake_flat landscape's for every x (same pooled Hessian
  all along the valley floor), but now p_- is flat for every domain too and p_+ is sharp for
  each (2m - f). A rule that follows only the pooled loss ends at the same minimum on both
  landscapes; a rule that seeks individual flatness switches from p_+ to p_-.

Rules (:func:`sgldsim.optim.domain_rule`) take plain gradient steps w <- w - eta_t c direction
from ``n_starts`` uniform starts (the same for every cell), eta_t = ``learning_rate`` then
decaying linearly to 0 over the last ``decay_steps`` steps (so each run settles at its rule's
fixed point). c = 1 for every rule except DGSAM, whose direction (S/n) sum_k g_k sums S + 1
(or S) single-domain gradients, about S times a mean gradient: its direction is divided by S
(c = 1/S), so that at rho = 0 it is a mean of single-domain gradients like the others'.
A cell is (landscape, rho, method); DGSAM runs ``repeats`` times per start (its domain order is
random), the deterministic rules once.

At the end point the rows hold the distances to p_- and p_+, the smallest eigenvalue of every
domain's Hessian (autodiff) and the largest domain gradient norm; :func:`classify` calls the end
point a minimum only if it is within ``distance_tol`` of one, every domain Hessian's eigenvalues
exceed ``curvature_floor`` and every domain gradient is below ``gradient_tol``: a saddle is never
a minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from ... import optim
from ..._memory import MemoryEstimate
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure
from ...runner import Cell, ConfigError, ExperimentConfig, ExperimentParams, Summary
from ...verdicts import Verdict, paired_comparison
from ..common.checks import check_range
from ..common.memory import ROW_BYTES

CHUNK_SIZE = 8
COMPARED_METHODS = ("gd", "sam", "domain_sam", "gsam", "sagm", "dgsam", "dgsam_no_first")
"""The direction rules compared (the cells' ``method``), in the order figures show."""
RULE_NAMES = {"gd": "erm"}
LABELS = {"gd": "GD", "sam": "SAM", "domain_sam": "per-domain SAM", "gsam": "GSAM",
          "sagm": "SAGM", "dgsam": "DGSAM", "dgsam_no_first": "DGSAM (no first grad.)"}
COLORS = {"gd": "#000000", "sam": "#009988", "domain_sam": "#EE7733", "gsam": "#0077BB",
          "sagm": "#33BBEE", "dgsam": "#CC3311", "dgsam_no_first": "#AA3377"}
LANDSCAPES = ("fake_flat", "control")
MINIMUM_NAMES = {"fake_flat": ("fake flat", "individually flat"),
                 "control": ("flat", "individually sharp")}
"""What p_- and p_+ are on each landscape."""
OUTCOMES = ("left", "right", "other", "diverged")
"""End-point classes of :func:`classify`: at p_-, at p_+, neither (a saddle, a plateau, still
moving), not finite."""

SHARP, FLAT, INDIVIDUAL = 4.0, 0.5, 3.0
"""s, f and m of the module docstring."""
VALLEY_CURVATURE = 0.1
"""The curvature along x at both minima, called beta in the formulas (the barrier at x = 0 is
h = beta / 8)."""
BLEND_STEEPNESS = 2.0
"""k of t(x)."""
MINIMA = np.array([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
NUM_DOMAINS = 2
MAX_LEARNING_RATE = 0.2
"""Largest allowed eta: eta times the largest domain curvature at a minimum (5.5) is 1.1 < 2,
and DGSAM's eta / S is smaller still (:func:`largest_curvature`)."""
EFFECT_MARGIN = 0.1
"""The claims' smallest effect: a difference of 0.1 in the fraction of starts."""
START_BOX = (np.array([-1.8, -0.5, -0.5]), np.array([1.8, 0.5, 0.5]))
"""Starts are uniform in this box (low, high corners): both basins, off the valley floor."""


def _directional(a, b):
    """D(a, b) = a u u^T + b z z^T, u = (1, 1)/sqrt(2), z = (1, -1)/sqrt(2)."""
    u = np.array([1.0, 1.0]) / np.sqrt(2.0)
    w = np.array([1.0, -1.0]) / np.sqrt(2.0)
    return a * np.outer(u, u) + b * np.outer(w, w)


def valley_matrices(landscape: str) -> np.ndarray:
    """B_d^-+ of ``landscape``: float[domain, minimum (p_-, p_+), 2, 2] (module docstring)."""
    s, f, m = SHARP, FLAT, INDIVIDUAL
    eye = np.eye(2)
    if landscape == "fake_flat":
        left, right = [_directional(s, f), _directional(f, s)], [m * eye, m * eye]
    elif landscape == "control":
        left = [(s + f) / 2 * eye] * 2
        right = [_directional(2 * m - f, f), _directional(f, 2 * m - f)]
    else:
        raise ValueError(f"landscape={landscape!r} is not allowed; allowed: {LANDSCAPES}")
    return np.stack([np.stack(left), np.stack(right)], axis=1)


def blend(x):
    """t(x) = (1 + tanh(k x) / tanh(k)) / 2: 0 at x = -1, 1 at x = 1."""
    return 0.5 * (1.0 + jnp.tanh(BLEND_STEEPNESS * x) / jnp.tanh(BLEND_STEEPNESS))


def blend_bounds() -> tuple[float, float]:
    """(t_lo, t_hi): the range of t over all x (its limits at -+ infinity)."""
    half = 0.5 / np.tanh(BLEND_STEEPNESS)
    return 0.5 - half, 0.5 + half


def domain_loss(w, batch):
    """L_d(w) = 1 - exp(-h_d(w)) with ``batch = (B_d^-, B_d^+)`` (module docstring)."""
    left, right = batch
    x, v = w[0], w[1:]
    t = blend(x)
    matrix = (1.0 - t) * left + t * right
    h = VALLEY_CURVATURE * (x**2 - 1.0) ** 2 / 8.0 + 0.5 * v @ matrix @ v
    return 1.0 - jnp.exp(-h)


def domains(landscape: str) -> list[tuple]:
    """The per-domain batches ``[(B_1^-, B_1^+), (B_2^-, B_2^+)]`` the rules take."""
    b = jnp.asarray(valley_matrices(landscape))
    return [(b[d, 0], b[d, 1]) for d in range(NUM_DOMAINS)]


def pooled_loss(w, landscape: str):
    """L(w) = (1/S) sum_d L_d(w)."""
    return sum(domain_loss(w, batch) for batch in domains(landscape)) / NUM_DOMAINS


def domain_hessians_at_minima(landscape: str) -> np.ndarray:
    """Hess L_d(p_-+) = diag(beta, B_d^-+): float[domain, minimum, 3, 3] (closed form)."""
    b = valley_matrices(landscape)
    out = np.zeros((NUM_DOMAINS, 2, 3, 3))
    out[:, :, 0, 0] = VALLEY_CURVATURE
    out[:, :, 1:, 1:] = b
    return out


def top_curvatures(landscape: str) -> dict[str, np.ndarray]:
    """Top Hessian eigenvalues at (p_-, p_+): ``pooled`` float[2], ``domain`` float[S, 2]."""
    h = domain_hessians_at_minima(landscape)
    return {"pooled": np.linalg.eigvalsh(h.mean(axis=0))[:, -1],
            "domain": np.linalg.eigvalsh(h)[..., -1]}


def largest_curvature() -> float:
    """The largest top eigenvalue of any domain's Hessian at a minimum of either landscape."""
    return float(max(top_curvatures(name)["domain"].max() for name in LANDSCAPES))


def direction_scale(method: str) -> float:
    """c of the step w <- w - eta c direction: 1/S for DGSAM (its direction sums ~S + 1
    single-domain gradients scaled by S/n, about S times a mean gradient), 1 otherwise."""
    return 1.0 / NUM_DOMAINS if method.startswith("dgsam") else 1.0


def start_points(n: int, seed: int) -> np.ndarray:
    """``n`` starts uniform in :data:`START_BOX`: float[n, 3] (the same for every cell)."""
    low, high = START_BOX
    return np.random.default_rng(seed).uniform(low, high, (n, 3))


@jax.jit
def end_measures(points, left, right):
    """At each point (float[n, 3]), on the landscape with per-domain matrices ``left[i]``,
    ``right[i]`` (float[n, S, 2, 2]): the distances to p_- and p_+, the smallest eigenvalue over the
    domains' Hessians (autodiff) and the largest domain gradient norm, each float[n]."""

    def measure(w, left, right):
        def per_domain(b_left, b_right):
            batch = (b_left, b_right)
            hessian = jax.hessian(domain_loss)(w, batch)
            gradient = jax.grad(domain_loss)(w, batch)
            return jnp.linalg.eigvalsh(hessian)[0], jnp.linalg.norm(gradient)

        eig, grad = jax.vmap(per_domain)(left, right)
        minima = jnp.asarray(MINIMA)
        return (jnp.linalg.norm(w - minima[0]), jnp.linalg.norm(w - minima[1]), eig.min(),
                grad.max())

    return jax.vmap(measure)(points, left, right)


def classify(distance_left, distance_right, min_eigenvalue, max_gradient, *, distance_tol,
             curvature_floor, gradient_tol) -> np.ndarray:
    """Index into :data:`OUTCOMES` per end point (arrays of equal shape).

    "left"/"right": within ``distance_tol`` of p_-/p_+, every domain Hessian's eigenvalues
    > ``curvature_floor`` and every domain gradient norm < ``gradient_tol`` (a minimum of every
    L_d); "diverged": a non-finite measure; "other": anything else (a saddle has an eigenvalue
    <= 0 and is never a minimum).
    """
    measures = [np.asarray(a, dtype=float) for a in (distance_left, distance_right,
                                                      min_eigenvalue, max_gradient)]
    left, right, eig, grad = measures
    finite = np.logical_and.reduce([np.isfinite(a) for a in measures])
    with np.errstate(invalid="ignore"):
        minimum = finite & (eig > curvature_floor) & (grad < gradient_tol)
        out = np.full(left.shape, OUTCOMES.index("other"))
        out[minimum & (left < distance_tol)] = OUTCOMES.index("left")
        out[minimum & (right < distance_tol)] = OUTCOMES.index("right")
    out[~finite] = OUTCOMES.index("diverged")
    return out


@dataclass(frozen=True)
class Params(ExperimentParams):
    """dgsam-toy's parameters (each may be swept in ``[grid]`` unless marked fixed).

    Attributes:
      landscape: ``fake_flat`` or ``control`` (:data:`LANDSCAPES`).
      rho: the methods' perturbation radius; > 0.
      method: the direction rule, from :data:`COMPARED_METHODS` (``gd``: plain gradient).
      learning_rate: eta of the plain gradient steps before the decay; in (0, 0.2] (so that
        eta times the largest domain curvature at a minimum, 5.5, is below 2).
      n_starts: starts per cell, uniform in :data:`START_BOX`, the same in every cell (fixed).
      n_steps: steps per run (fixed); > decay_steps.
      decay_steps: final steps over which eta decays linearly to 0 (fixed); > 0.
      repeats: runs per start of the DGSAM variants (fixed; random domain order); > 0.
      alpha: GSAM's and SAGM's alpha (fixed); >= 0.
      distance_tol: an end point within this distance of p_-+ may count as at it (fixed).
      curvature_floor: every domain Hessian eigenvalue must exceed it at a minimum (fixed).
      gradient_tol: every domain gradient norm must be below it at a minimum (fixed).
    """

    NOT_SWEPT = ("n_starts", "n_steps", "decay_steps", "repeats", "alpha", "distance_tol",
                 "curvature_floor", "gradient_tol")

    landscape: Literal[LANDSCAPES] = "fake_flat"
    rho: float = 0.1
    method: Literal[COMPARED_METHODS] = "gd"
    learning_rate: float = 0.05
    n_starts: int = 256
    n_steps: int = 4000
    decay_steps: int = 1000
    repeats: int = 4
    alpha: float = 0.1
    distance_tol: float = 0.1
    curvature_floor: float = 0.02
    gradient_tol: float = 0.02


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    """Ranges (each message names the key and the range), decay_steps < n_steps."""
    p = Params.from_config(config)
    check_range(config, p, "rho", 0.0)
    check_range(config, p, "learning_rate", 0.0, MAX_LEARNING_RATE)
    check_range(config, p, "alpha", 0.0, low_inclusive=True)
    for name in ("n_starts", "n_steps", "decay_steps", "repeats"):
        check_range(config, p, name, 0)
    check_range(config, p, "distance_tol", 0.0, 1.0)
    check_range(config, p, "curvature_floor", 0.0, VALLEY_CURVATURE)
    check_range(config, p, "gradient_tol", 0.0, 1.0)
    if p.decay_steps >= p.n_steps:
        raise ConfigError(f"params.decay_steps={p.decay_steps} is not allowed: it must be "
                          f"below params.n_steps={p.n_steps}")


RUN_FLOATS = 128
"""float64 values of one run besides its step keys: its start, rho and per-domain matrices, the
state and gradients of a step, and its end measures (two 3 x 3 Hessians per domain)."""


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: its cells' runs (starts x repeats; DGSAM's repeats, the other
    rules once) vmapped together per method, each holding its ``n_steps`` step keys (two
    uint32) and :data:`RUN_FLOATS` numbers, and the result rows of every run of the chunk."""
    p = Params.from_config(config)
    runs = [p.n_starts * (p.repeats if Params.from_cell(c).method.startswith("dgsam") else 1)
            for c in cells]
    per_method = {}
    for c, n in zip(cells, runs, strict=True):
        method = Params.from_cell(c).method
        per_method[method] = per_method.get(method, 0) + n
    widest = max(per_method.values())
    needed = (widest * (8.0 * p.n_steps + 8.0 * RUN_FLOATS) + sum(runs) * len(MEASURES)
              * ROW_BYTES + 24.0 * p.n_starts)
    return MemoryEstimate(needed, f"a chunk of {len(cells)} cells, {widest} runs (n_starts = "
                          f"{p.n_starts} x repeats) of {p.n_steps} steps in one program",
                          "lower params.n_starts, params.repeats, params.n_steps or chunk_size")


def learning_rate_schedule(learning_rate: float, n_steps: int, decay_steps: int):
    """eta_t: ``learning_rate`` for n_steps - decay_steps steps, then linearly to 0."""
    return optax.linear_schedule(learning_rate, 0.0, decay_steps, n_steps - decay_steps)


@partial(jax.jit, static_argnames=("method", "n_steps", "decay_steps"))
def end_points(keys, starts, rho, left, right, learning_rate, alpha, method: str, n_steps: int,
               decay_steps: int):
    """End points of ``method`` (vmapped over runs): float[runs, 3].

    Step: w <- w - eta_t c direction(w), the method's direction from
    :func:`sgldsim.optim.domain_rule` on the domains ``(left[d], right[d])``, c from
    :func:`direction_scale`; ``keys[i]`` drives run i's randomness (DGSAM's domain order);
    ``rho``, ``left``, ``right`` are per run.
    """
    schedule = learning_rate_schedule(learning_rate * direction_scale(method), n_steps,
                                      decay_steps)
    optimizer = optax.sgd(schedule)

    def run(key, w, rho, left, right):
        rule = optim.domain_rule(RULE_NAMES.get(method, method), rho, alpha)
        step = optim.make_train_step(domain_loss, optimizer, rule)
        batch = [(left[d], right[d]) for d in range(NUM_DOMAINS)]

        def one(carry, step_key):
            w, state = carry
            w, state, _ = step(step_key, w, state, batch)
            return (w, state), None

        (w, _), _ = jax.lax.scan(one, (w, optimizer.init(w)), jax.random.split(key, n_steps))
        return w

    return jax.vmap(run)(keys, starts, rho, left, right)


MEASURES = ("x_start", "x_end", "distance_left", "distance_right", "domain_min_eigenvalue",
            "domain_max_gradient")
"""The rows of each run (one row per measure, labelled ``start`` and ``repeat``)."""


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """All cells of one method in one vmapped program (runs = cells x starts x repeats)."""
    params = [Params.from_cell(c) for c in cells]
    fixed = params[0]
    starts = start_points(fixed.n_starts, config.seed)
    out = {}
    for method in dict.fromkeys(p.method for p in params):
        group = [(c, p, k) for c, p, k in zip(cells, params, keys, strict=True)
                 if p.method == method]
        repeats = fixed.repeats if method.startswith("dgsam") else 1
        per_run = [(p, i, r) for _, p, _ in group for i in range(len(starts))
                   for r in range(repeats)]
        matrices = np.stack([valley_matrices(p.landscape) for p, _, _ in per_run])
        run_keys = jnp.concatenate([jax.random.split(jax.random.wrap_key_data(k),
                                                     len(starts) * repeats)
                                    for _, _, k in group])
        ends = end_points(run_keys, jnp.asarray(starts[[i for _, i, _ in per_run]]),
                          jnp.asarray([p.rho for p, _, _ in per_run]),
                          jnp.asarray(matrices[:, :, 0]), jnp.asarray(matrices[:, :, 1]),
                          fixed.learning_rate, fixed.alpha, method, fixed.n_steps,
                          fixed.decay_steps)
        measured = np.stack([np.asarray(a) for a in end_measures(
            ends, jnp.asarray(matrices[:, :, 0]), jnp.asarray(matrices[:, :, 1]))], axis=1)
        ends = np.asarray(ends)
        per_cell = len(starts) * repeats
        for g, (cell, _, _) in enumerate(group):
            rows = []
            for j in range(g * per_cell, (g + 1) * per_cell):
                _, i, r = per_run[j]
                values = (starts[i, 0], ends[j, 0], *measured[j])
                rows += [{"measure": name, "value": float(v), "start": i, "repeat": r}
                         for name, v in zip(MEASURES, values, strict=True)]
            out[cell.id] = rows
    return [out[c.id] for c in cells]


def outcomes(results: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """One row per run (landscape, rho, method, start, repeat): its measures and ``outcome``
    (a name from :data:`OUTCOMES`, :func:`classify` with the run's tolerances)."""
    p = Params.from_config(config)
    keys = [c for c in ("landscape", "rho", "learning_rate", "method", "start", "repeat")
            if c in results.columns]
    # unstack keeps a diverged run's NaN measures and adds no (start, repeat) pairs
    runs = results.set_index([*keys, "measure"]).value.unstack("measure").reset_index()
    code = classify(runs.distance_left, runs.distance_right, runs.domain_min_eigenvalue,
                    runs.domain_max_gradient, distance_tol=p.distance_tol,
                    curvature_floor=p.curvature_floor, gradient_tol=p.gradient_tol)
    runs["outcome"] = np.asarray(OUTCOMES)[code]
    return runs


def _per_start(runs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Fraction of a start's repeats ending at ``outcome``: index (landscape, rho, start),
    one column per method."""
    hit = runs.assign(hit=(runs.outcome == outcome).astype(float))
    return hit.pivot_table(index=["landscape", "rho", "start"], columns="method",
                           values="hit", aggfunc="mean")


def _fake_flat_verdict(per: pd.DataFrame, rho: float, method: str, baseline: str
                       ) -> tuple[Verdict, float]:
    """fake_flat landscape, one rho: paired over starts, is ``method``'s fraction at p_- below
    ``baseline``'s by more than :data:`EFFECT_MARGIN`?"""
    claim = (f"rho={rho:g}: {LABELS[method]} ends at the fake flat minimum less often than "
             f"{LABELS[baseline]} (by at least {EFFECT_MARGIN:g} of the starts)")
    try:
        part = per.loc[("fake_flat", rho)]
    except KeyError:
        return Verdict(claim, "inconclusive", "no fake_flat runs at this rho"), np.nan
    if method not in part or baseline not in part:
        return Verdict(claim, "inconclusive", "missing runs"), np.nan
    a, b = part[method].to_numpy(), part[baseline].to_numpy()
    result = paired_comparison(a + EFFECT_MARGIN, b, direction="a < b", claim=claim)
    reason = (f"fraction at the fake flat minimum: {LABELS[method]} {np.nanmean(a):.3f}, "
              f"{LABELS[baseline]} {np.nanmean(b):.3f}; "
              f"{_margin_reason(result, -EFFECT_MARGIN, 'below')}")
    return result.verdict._replace(reason=reason), result.mean - EFFECT_MARGIN


def _margin_reason(result, shift: float, side: str) -> str:
    """The paired difference a - b (undoing the margin's shift of a) and its interval."""
    low, high = (x + shift for x in result.interval)
    return (f"a - b = {result.mean + shift:+.3f} +- {result.stderr:.2g} (SE) over "
            f"{result.n_pairs} starts paired, 95 % interval [{low:+.3f}, {high:+.3f}] (t, "
            f"{result.dof} dof); consistent when it lies {side} {shift:+g}, inconsistent when "
            f"it lies {'above' if side == 'below' else 'below'} {shift:+g}")


def _individual_verdict(per_left: pd.DataFrame, per_right: pd.DataFrame, rho: float,
                        method: str, baseline: str) -> tuple[Verdict, float]:
    """Both landscapes, one rho: per start, the mean over the two landscapes of the fraction at
    the individually flat minimum (p_+ on fake_flat, p_- on control); paired over starts, is
    ``method``'s above ``baseline``'s by more than :data:`EFFECT_MARGIN`? A preference for one
    basin by geometry alone scores the same on both and cancels."""
    claim = (f"rho={rho:g}: over both landscapes, {LABELS[method]} ends at the individually "
             f"flat minimum more often than {LABELS[baseline]} (by at least {EFFECT_MARGIN:g})")
    try:
        score = (per_right.loc[("fake_flat", rho)] + per_left.loc[("control", rho)]) / 2
    except KeyError:
        return Verdict(claim, "inconclusive", "needs both landscapes at this rho"), np.nan
    if method not in score or baseline not in score:
        return Verdict(claim, "inconclusive", "missing runs"), np.nan
    a, b = score[method].to_numpy(), score[baseline].to_numpy()
    result = paired_comparison(a - EFFECT_MARGIN, b, direction="a > b", claim=claim)
    reason = (f"fraction at the individually flat minimum (mean of the two landscapes): "
              f"{LABELS[method]} {np.nanmean(a):.3f}, {LABELS[baseline]} {np.nanmean(b):.3f}; "
              f"{_margin_reason(result, EFFECT_MARGIN, 'above')}")
    return result.verdict._replace(reason=reason), result.mean + EFFECT_MARGIN


FAKE_FLAT_CLAIMS = (("dgsam", "sam"), ("dgsam", "gd"), ("dgsam_no_first", "sam"),
                    ("domain_sam", "sam"))
"""(method, baseline) pairs judged on the fake_flat landscape at every rho."""
INDIVIDUAL_CLAIMS = (("dgsam", "sam"), ("dgsam_no_first", "sam"), ("domain_sam", "sam"))
"""(method, baseline) pairs judged over both landscapes at every rho."""
POSITIVE_CONTROL = ("domain_sam", "sam")
"""The pair that must show a claim's effect at a rho before the others are judged there:
per-domain SAM steps on each domain's own SAM gradient, so where it does not end at the fake
flat minimum less often than SAM (or at the individually flat one more often), no rule can be
seen to, and the DGSAM claims at that rho are "untestable", not "inconsistent"."""


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    runs = outcomes(results, config)
    fractions = (runs.groupby(["landscape", "rho", "method"], sort=False).outcome
                 .value_counts(normalize=True).unstack(fill_value=0.0)
                 .reindex(columns=list(OUTCOMES), fill_value=0.0))
    fractions["runs"] = runs.groupby(["landscape", "rho", "method"], sort=False).size()
    order = {name: i for i, name in enumerate([*LANDSCAPES, *COMPARED_METHODS])}
    fractions = fractions.sort_index(key=lambda level: level.map(lambda v: order.get(v, v)))
    per_left, per_right = _per_start(runs, "left"), _per_start(runs, "right")
    fitted, verdicts = {}, []
    rhos = sorted(runs.rho.unique())
    for (landscape, rho, method), row in fractions.iterrows():
        fitted[f"fraction_left[{landscape},rho={rho:g},{method}]"] = row["left"]
    for rho in rhos:
        for kind, claims in (("fake_flat", FAKE_FLAT_CLAIMS),
                             ("individual", INDIVIDUAL_CLAIMS)):
            judged = {pair: (_fake_flat_verdict(per_left, rho, *pair) if kind == "fake_flat"
                             else _individual_verdict(per_left, per_right, rho, *pair))
                      for pair in claims}
            control = judged.get(POSITIVE_CONTROL)
            if control is not None and not np.isfinite(control[1]):
                control = None  # no per-domain SAM runs: nothing to gate on
            for (method, baseline), (v, diff) in judged.items():
                if np.isfinite(diff):
                    fitted[f"{kind}_diff[rho={rho:g},{method}-{baseline}]"] = diff
                if (method, baseline) != POSITIVE_CONTROL and control is not None \
                        and control[0].verdict != "consistent":
                    v = v._replace(verdict="untestable", reason=(
                        f"the positive control fails at this rho ({LABELS[POSITIVE_CONTROL[0]]}"
                        f", built to follow each domain's flatness, is "
                        f"{control[0].verdict} on the same claim), so the landscape cannot "
                        f"show it here; {v.reason}"))
                verdicts.append(v)
    curvature = "\n".join(
        f"  {name}: p_- is {MINIMUM_NAMES[name][0]} (pooled top {top['pooled'][0]:g}, domains "
        f"{', '.join(f'{x:g}' for x in top['domain'][:, 0])}), p_+ is {MINIMUM_NAMES[name][1]}"
        f" (pooled top {top['pooled'][1]:g}, domains "
        f"{', '.join(f'{x:g}' for x in top['domain'][:, 1])})"
        for name in LANDSCAPES for top in [top_curvatures(name)])
    text = "\n\n".join([
        "fraction of runs per end point (left = p_- = (-1, 0, 0), right = p_+ = (1, 0, 0)):\n"
        + fractions.to_string(float_format=lambda x: f"{x:.3f}"),
        "top Hessian eigenvalues at the minima:\n" + curvature])
    p = Params.from_config(config)
    legend = {
        "left / right": f"at p_- / p_+: within {p.distance_tol:g}, every domain Hessian "
                        f"eigenvalue > {p.curvature_floor:g}, every domain gradient norm < "
                        f"{p.gradient_tol:g}",
        "other": "none of these (a saddle of a domain loss, the plateau, still moving)",
        "diverged": "a non-finite end point",
        "runs": "starts x repeats (DGSAM repeats its random domain order; the other rules are "
                "deterministic and run once per start)",
        "step": "w <- w - eta_t c direction; c = 1/S for DGSAM (its direction is about S times a "
                "mean gradient), 1 otherwise; eta_t decays to 0 over the last "
                f"{p.decay_steps} of {p.n_steps} steps"}
    return Summary(table=text, fitted=fitted, verdicts=verdicts, legend=legend)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """``fractions``: per landscape (columns), the fraction of runs ending at p_- (top row) and
    at neither minimum (bottom row) against rho, one line per method; the dashed reference is
    the fraction of starts with x < 0 (the left half of the box). ``ends``: where each start
    goes at the largest rho (:func:`_ends_figure`)."""
    from matplotlib.ticker import NullLocator

    runs = outcomes(results, config)
    starts = start_points(Params.from_config(config).n_starts, config.seed)
    left_starts = float((starts[:, 0] < 0).mean())
    landscapes = [name for name in LANDSCAPES if name in set(runs.landscape)]
    rhos = sorted(runs.rho.unique())
    fig, axes = new_figure(2, len(landscapes), width_in=PAGE_WIDTH_IN, aspect=0.62,
                           squeeze=False, sharex=True, sharey="row")
    for col, landscape in enumerate(landscapes):
        part = runs[runs.landscape == landscape]
        share = part.groupby(["method", "rho"]).outcome.value_counts(normalize=True).unstack(
            fill_value=0.0).reindex(columns=list(OUTCOMES), fill_value=0.0)
        for row, (what, ylabel) in enumerate((
                (["left"], "fraction at p_-"), (["other", "diverged"], "fraction at neither"))):
            ax = axes[row, col]
            for method in [m for m in COMPARED_METHODS if m in share.index.get_level_values(0)]:
                values = share.loc[method][what].sum(axis=1)
                ax.plot(values.index, values.to_numpy(), marker="o", markersize=3,
                        color=COLORS[method], label=LABELS[method])
            if row == 0:
                ax.axhline(left_starts, color="0.5", linestyle="--", linewidth=0.8,
                           label="starts with x < 0")
                names = MINIMUM_NAMES[landscape]
                ax.set_title(f"{landscape}: p_- {names[0]}, p_+ {names[1]}", fontsize="small")
            ax.set_xscale("log")
            ax.set_xticks(rhos, [f"{r:g}" for r in rhos])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_ylim(-0.03, 1.03)
            if col == 0:
                ax.set_ylabel(ylabel)
            if row == 1:
                ax.set_xlabel("rho")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="x-small")
    return [*save_figure(fig, out_dir, "fractions"), *_ends_figure(runs, landscapes, out_dir)]


OUTCOME_COLORS = {"left": "#0077BB", "right": "#EE7733", "other": "#BBBBBB",
                  "diverged": "#000000"}


def _ends_figure(runs: pd.DataFrame, landscapes: list[str], out_dir: Path) -> list[Path]:
    """``ends``: at the largest rho, where each start goes: one row per method (DGSAM's repeats
    spread vertically), the start's x on the horizontal axis, coloured by the end point's
    outcome; one panel per landscape."""
    rho = runs.rho.max()
    methods = [m for m in COMPARED_METHODS if m in set(runs.method)]
    fig, axes = new_figure(1, len(landscapes), width_in=PAGE_WIDTH_IN, aspect=0.75,
                           squeeze=False, sharey=True)
    for ax, landscape in zip(axes[0], landscapes, strict=True):
        part = runs[(runs.landscape == landscape) & (runs.rho == rho)]
        for row, method in enumerate(methods):
            own = part[part.method == method]
            spread = (own.repeat - own.repeat.max() / 2) * 0.15
            for outcome in OUTCOMES:
                hit = own.outcome == outcome
                ax.scatter(own.x_start[hit], row + spread[hit], s=2, linewidths=0,
                           color=OUTCOME_COLORS[outcome],
                           label=outcome if row == 0 and landscape == landscapes[0] else None)
        ax.axvline(0.0, color="0.5", linestyle="--", linewidth=0.8)
        names = MINIMUM_NAMES[landscape]
        ax.set_title(f"{landscape} (p_- {names[0]}, p_+ {names[1]}), rho = {rho:g}",
                     fontsize="x-small")
        ax.set_yticks(range(len(methods)), [LABELS[m] for m in methods], fontsize="x-small")
        ax.invert_yaxis()
    handles, labels = axes[0, 0].get_legend_handles_labels()
    labels = ["ends at p_-" if x == "left" else "ends at p_+" if x == "right" else x
              for x in labels]
    fig.legend(handles, labels, loc="outside right upper", fontsize="x-small", markerscale=3)
    fig.supxlabel("x of the start (dashed: the barrier's saddle, x = 0)", fontsize="small")
    return save_figure(fig, out_dir, "ends")

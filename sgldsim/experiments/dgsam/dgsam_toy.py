"""DGSAM's fake flat minima on a 3-D two-domain landscape: where do GD, SAM, per-domain SAM and
DGSAM end on the valley of global minimisers? (docs/theory.md §8.)

w = (u, v1, v2),  m(u) = 8 + (u + 1)^2,  dd(u) = 2 (u - 1)^2,  A = m + dd,  B = m - dd,

    L_1 = A(u) v1^2 / 2 + B(u) v2^2 / 2,   L_2 = B(u) v1^2 / 2 + A(u) v2^2 / 2,
    L = (L_1 + L_2) / 2 = m(u) |v|^2 / 2.

Every (u, 0, 0) is a global minimiser of L. There the pooled Hessian has top eigenvalue m(u),
smallest at u = -1 (8: the "fake flat" point, where each domain's top eigenvalue is
A(-1) = 16), and each domain's Hessian has eigenvalues A(u) = m + dd (top, smallest at
u = 1/3: 10.67) and B(u) = m - dd = (7 - u)(u + 1): each (u, 0, 0) is a minimiser of every
L_d only for -1 <= u <= 7; outside, it is a saddle of each L_d (B < 0) while still a minimiser
of L. A cell is (rho, method, u_start): trajectories from (u_start, v0, v0) with
plain gradient steps of size ``learning_rate`` on each method's direction, ``repeats`` times
(DGSAM's domain order is random; the other methods repeat exactly). At the end point the rows
hold u, |v|, the closed-form curvatures m(u), A(u), and the measured sharpness of each domain
and of the pooled loss (:func:`sgldsim.optim.domain_sharpness`: zeroth-order in a
``rho``-ball, Lanczos top eigenvalue).
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
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure
from ...runner import Cell, ConfigError, ExperimentConfig, ExperimentParams, Summary, cell_values
from ...verdicts import Verdict, paired_comparison
from ..common.checks import check_range

CHUNK_SIZE = 90
COMPARED_METHODS = ("gd", "sam", "domain_sam", "dgsam", "dgsam_no_first")
"""The direction rules compared (the cells' ``method``), in the order figures show."""
RULE_NAMES = {"gd": "erm"}
LABELS = {"gd": "GD", "sam": "SAM", "domain_sam": "per-domain SAM", "dgsam": "DGSAM",
          "dgsam_no_first": "DGSAM (no first grad.)"}
COLORS = {"gd": "#000000", "sam": "#009988", "domain_sam": "#EE7733", "dgsam": "#CC3311",
          "dgsam_no_first": "#AA3377"}
FAKE_FLAT_U = -1.0
DOMAIN_FLAT_U = 1.0 / 3.0
NEAR = 0.1
"""An end point within this distance in u of a special point counts as "at" it."""


def pooled_curvature(u):
    """m(u) = 8 + (u + 1)^2: top eigenvalue of the pooled Hessian at (u, 0, 0)."""
    return 8.0 + (u + 1.0) ** 2


def domain_curvature(u):
    """A(u) = m(u) + 2 (u - 1)^2: top eigenvalue of each domain's Hessian at (u, 0, 0)."""
    return pooled_curvature(u) + 2.0 * (u - 1.0) ** 2


def domain_loss(w, batch):
    """L_d(w) with ``batch = (swap,)``: swap 0 is domain 1, swap 1 domain 2."""
    (swap,) = batch
    u, v1, v2 = w[0], w[1], w[2]
    a = domain_curvature(u)
    b = 2.0 * pooled_curvature(u) - a
    first, second = a + swap * (b - a), b + swap * (a - b)
    return 0.5 * (first * v1**2 + second * v2**2)


DOMAINS = [(jnp.array(0.0),), (jnp.array(1.0),)]


@dataclass(frozen=True)
class Params(ExperimentParams):
    """dgsam-toy's parameters (each may be swept in ``[grid]`` unless marked fixed).

    Attributes:
      rho: the methods' perturbation radius; > 0.
      method: the direction rule, from :data:`COMPARED_METHODS` (``gd``: plain gradient).
      u_start: start (u_start, v_start, v_start) on the valley's axis; in [-2, 2].
      learning_rate: plain gradient steps w <- w - learning_rate * direction; in (0, 0.05]
        (stable where the top curvature is below 2 / learning_rate).
      v_start: the start's distance from the valley in each v coordinate; in (0, 1].
      n_steps: steps per run (fixed); > 0 and a multiple of record_every.
      record_every: steps between the path points kept for the figure (fixed); > 0.
      repeats: runs per start (fixed; DGSAM's domain order is random); > 0.
      ascent_steps: projected ascent steps of the zeroth-order sharpness at the end point
        (fixed); > 0.
    """

    NOT_SWEPT = ("n_steps", "record_every", "repeats", "ascent_steps")

    rho: float = 0.1
    method: Literal[COMPARED_METHODS] = "gd"
    u_start: float = -2.0
    learning_rate: float = 0.01
    v_start: float = 0.05
    n_steps: int = 40000
    record_every: int = 1000
    repeats: int = 4
    ascent_steps: int = 20


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    """Ranges (each message names the key and the range) and record_every dividing n_steps."""
    p = Params.from_config(config)
    check_range(config, p, "rho", 0.0)
    check_range(config, p, "learning_rate", 0.0, 0.05)
    check_range(config, p, "u_start", -2.0, 2.0, low_inclusive=True)
    check_range(config, p, "v_start", 0.0, 1.0)
    for name in ("n_steps", "record_every", "repeats", "ascent_steps"):
        check_range(config, p, name, 0)
    if p.n_steps % p.record_every:
        raise ConfigError(f"params.record_every={p.record_every} is not allowed: "
                          f"it must divide params.n_steps={p.n_steps}")


@partial(jax.jit, static_argnames=("method", "n_steps", "record_every"))
def trajectories(keys, starts, rho, learning_rate, method: str, n_steps: int,
                 record_every: int):
    """Paths of ``method`` (vmapped over runs): float[runs, n_steps // record_every + 1, 3].

    Step: w <- w - learning_rate * direction(w), the method's direction from
    :func:`sgldsim.optim.domain_rule` on the two domains; ``keys[i]`` drives run i's
    randomness (DGSAM's domain order); ``rho`` and ``learning_rate`` are per run.
    """

    def run(key, w, rho, learning_rate):
        rule = optim.domain_rule(RULE_NAMES.get(method, method), rho)
        step = optim.make_train_step(domain_loss, optax.sgd(learning_rate), rule)

        def chunk(carry, chunk_key):
            def one(carry, step_key):
                w, state = carry
                w, state, _ = step(step_key, w, state, DOMAINS)
                return (w, state), None

            carry, _ = jax.lax.scan(one, carry, jax.random.split(chunk_key, record_every))
            return carry, carry[0]

        _, path = jax.lax.scan(chunk, (w, optax.sgd(learning_rate).init(w)),
                               jax.random.split(key, n_steps // record_every))
        return jnp.concatenate([w[None], path])

    return jax.vmap(run)(keys, starts, rho, learning_rate)


def _toy_data_loss(w, data):
    """``domain_loss`` on a one-example "dataset" ``(swap[1],)`` (domain_sharpness's form)."""
    (swap,) = data
    return domain_loss(w, (swap[0],))


@partial(jax.jit, static_argnames=("ascent_steps",))
def end_sharpness(points, rho, key, ascent_steps: int):
    """:func:`sgldsim.optim.domain_sharpness` at each end point (vmapped, rho per point):
    per-domain zeroth-order [runs, 2], pooled [runs], per-domain top eigenvalue [runs, 2],
    pooled [runs]."""
    data = [(jnp.array([swap]),) for swap in (0.0, 1.0)]

    def measure(w, rho):
        s = optim.domain_sharpness(_toy_data_loss, w, data, rho, key, ascent_steps=ascent_steps,
                                   lanczos_iterations=3, trace_samples=2)
        return (s.per_domain.zeroth_order, s.pooled.zeroth_order, s.per_domain.top_eigenvalue,
                s.pooled.top_eigenvalue)

    return jax.vmap(measure)(points, rho)


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """All cells of one method in one vmapped program (runs = cells x repeats)."""
    params = [Params.from_cell(c) for c in cells]
    fixed = params[0]
    repeats, every = fixed.repeats, fixed.record_every
    out = {}
    for method in dict.fromkeys(p.method for p in params):
        group = [(c, p, k) for c, p, k in zip(cells, params, keys, strict=True)
                 if p.method == method]
        per_run = [p for _, p, _ in group for _ in range(repeats)]
        rho = jnp.asarray([p.rho for p in per_run], jnp.float32)
        starts = np.array([[p.u_start, p.v_start, p.v_start] for p in per_run])
        run_keys = jnp.concatenate([jax.random.split(jax.random.wrap_key_data(k), repeats)
                                    for _, _, k in group])
        learning_rate = jnp.asarray([p.learning_rate for p in per_run], jnp.float32)
        paths = np.asarray(trajectories(run_keys, jnp.asarray(starts, jnp.float32), rho,
                                        learning_rate, method, fixed.n_steps, every))
        zo_d, zo_p, top_d, top_p = map(np.asarray, end_sharpness(
            jnp.asarray(paths[:, -1]), rho, jax.random.key(config.seed), fixed.ascent_steps))
        for g, (cell, _, _) in enumerate(group):
            rows = []
            for r in range(repeats):
                i = g * repeats + r
                u, v = float(paths[i, -1, 0]), float(np.linalg.norm(paths[i, -1, 1:]))
                values = {"u_end": u, "v_norm_end": v,
                          "pooled_curvature_closed": float(pooled_curvature(u)),
                          "domain_curvature_closed": float(domain_curvature(u)),
                          "domain_min_curvature_closed": float(2 * pooled_curvature(u)
                                                               - domain_curvature(u)),
                          "domain_sharpness": float(zo_d[i].mean()),
                          "pooled_sharpness": float(zo_p[i]),
                          "domain_top_eigenvalue": float(top_d[i].mean()),
                          "pooled_top_eigenvalue": float(top_p[i])}
                rows += [{"measure": k, "value": x, "repeat": r} for k, x in values.items()]
            for t, (u, v1, v2) in enumerate(paths[g * repeats]):
                rows.append({"measure": "path_u", "value": float(u), "repeat": 0,
                             "step": t * every})
                rows.append({"measure": "path_v_norm", "value": float(np.hypot(v1, v2)),
                             "repeat": 0, "step": t * every})
            out[cell.id] = rows
    return [out[c.id] for c in cells]


def end_points(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (rho, learning_rate, v_start, method, u_start, repeat): the end measures."""
    ends = results[~results.measure.str.startswith("path_")]
    keys = [c for c in ("rho", "learning_rate", "v_start", "method", "u_start", "repeat")
            if c in ends.columns]
    return ends.pivot_table(index=keys, columns="measure", values="value",
                            sort=False).reset_index()


def _fake_flat_verdict(ends: pd.DataFrame) -> Verdict:
    sam = ends[ends.method == "sam"]
    claim = "SAM settles at the fake flat point u = -1 (pooled flattest, domains sharp)"
    if sam.empty:
        return Verdict(claim, "inconclusive", "no SAM runs")
    near = (sam.u_end - FAKE_FLAT_U).abs() < NEAR
    reason = (f"{int(near.sum())} of {len(sam)} SAM runs end within {NEAR} of u = -1; end u "
              f"from {sam.u_end.min():.2f} to {sam.u_end.max():.2f} (median "
              f"{sam.u_end.median():.2f})")
    verdict = ("consistent" if near.mean() >= 0.9 else
               "inconsistent" if near.mean() <= 0.1 else "inconclusive")
    return Verdict(claim, verdict, reason)


def _avoid_verdict(ends: pd.DataFrame, method: str, diverged: int) -> Verdict:
    runs = ends[ends.method == method]
    claim = f"{LABELS[method]} avoids the fake flat point u = -1"
    if runs.empty:
        return Verdict(claim, "inconclusive", f"no {LABELS[method]} runs")
    near = ((runs.u_end - FAKE_FLAT_U).abs() < NEAR).mean()
    saddle = (runs.domain_min_curvature_closed < 0).mean()
    reason = (f"{100 * near:.0f}% of {len(runs)} runs end within {NEAR} of u = -1; end u from "
              f"{runs.u_end.min():.2f} to {runs.u_end.max():.2f} (median "
              f"{runs.u_end.median():.2f}); {100 * saddle:.0f}% end where each L_d has a "
              f"negative curvature B(u) < 0 (u < -1); {diverged} more runs diverged (non-finite)")
    verdict = "consistent" if near <= 0.1 else "inconsistent" if near >= 0.9 else "inconclusive"
    return Verdict(claim, verdict, reason)


def _paired_verdict(ends: pd.DataFrame, method: str, baseline: str) -> tuple[Verdict, dict]:
    """Mean over repeats per (rho, start), then :func:`sgldsim.verdicts.paired_comparison` of
    method against baseline in the domains' top curvature A(u_end), rho as the unit (the starts
    at one rho share its perturbation radius: SE between the per-rho means, t quantiles with
    rhos - 1 degrees of freedom)."""
    claim = (f"{LABELS[method]} ends where the domains are flatter than where "
             f"{LABELS[baseline]} ends (top per-domain curvature A(u))")
    keys = [c for c in ("rho", "learning_rate", "v_start", "u_start") if c in ends.columns]
    per = ends.groupby([*keys, "method"]).domain_curvature_closed.mean().unstack("method")
    if method not in per or baseline not in per:
        return Verdict(claim, "inconclusive", "missing runs"), {}
    result = paired_comparison(per[method].to_numpy(), per[baseline].to_numpy(),
                               units=per.index.get_level_values("rho"), direction="a < b",
                               claim=claim)
    diff = (per[method] - per[baseline]).dropna()
    lower, higher = int((diff < -1e-3).sum()), int((diff > 1e-3).sum())
    reason = (f"A({method}) - A({baseline}) lower in {lower}, higher in {higher} of {len(diff)} "
              f"(rho, start) pairs; mean A: {per[method].mean():.2f} vs "
              f"{per[baseline].mean():.2f} (minimum 10.67 at u = 1/3); {result.verdict.reason}")
    fitted = ({f"domain_curvature_diff[{method}-{baseline}]": result.mean}
              if np.isfinite(result.mean) else {})
    return result.verdict._replace(reason=reason), fitted


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    ends = end_points(results)
    diverged = results[results.measure == "u_end"].groupby(["rho", "method"], sort=False).value
    table = ends.groupby(["rho", "method"], sort=False).agg(
        u_end_mean=("u_end", "mean"), u_end_min=("u_end", "min"), u_end_max=("u_end", "max"),
        v_end=("v_norm_end", "max"), pooled_top=("pooled_curvature_closed", "mean"),
        domain_top=("domain_curvature_closed", "mean"),
        domain_min=("domain_min_curvature_closed", "mean"),
        pooled_sharp=("pooled_sharpness", "mean"), domain_sharp=("domain_sharpness", "mean"),
        lanczos_domain_top=("domain_top_eigenvalue", "mean"))
    table["diverged"] = diverged.apply(lambda v: int((~np.isfinite(v)).sum()))
    by_start = ends.pivot_table(index=["rho", "u_start"], columns="method", values="u_end",
                                aggfunc="mean")
    legend = (
        "u_end_mean/min/max: end point u over starts and repeats; v_end: largest |v| at the end "
        "(0 = on the valley of minimisers);\npooled_top = m(u_end), domain_top = A(u_end) "
        "(closed-form top Hessian eigenvalues of L and of each L_d at (u_end, 0, 0));\n"
        "domain_min = B(u_end), each L_d's other nonzero eigenvalue (< 0: a saddle of L_d);\n"
        "pooled_sharp / domain_sharp: measured zeroth-order sharpness max_{|e|<=rho} L(w+e) - "
        "L(w) of the pooled loss / mean over domains, at the end point;\nlanczos_domain_top: "
        "mean per-domain top eigenvalue by Lanczos at the end point (check of domain_top);\n"
        "diverged: runs whose end point is not finite (left out of the other columns).")
    u_rows = results[results.measure == "u_end"]
    diverged = int((~np.isfinite(u_rows.value[u_rows.method == "dgsam"])).sum())
    verdicts = [_fake_flat_verdict(ends), _avoid_verdict(ends, "dgsam", diverged)]
    fitted = {}
    for method, baseline in (("dgsam", "sam"), ("dgsam", "gd"), ("domain_sam", "sam"),
                             ("dgsam_no_first", "sam")):
        v, f = _paired_verdict(ends, method, baseline)
        verdicts.append(v)
        fitted.update(f)
    for method in COMPARED_METHODS:
        m = ends[ends.method == method]
        if len(m):
            near = ((m.u_end - DOMAIN_FLAT_U).abs() < NEAR).mean()
            fitted[f"fraction_at_domain_flat[{method}]"] = near
            fitted[f"fraction_at_fake_flat[{method}]"] = ((m.u_end - FAKE_FLAT_U).abs()
                                                           < NEAR).mean()
    text = "\n\n".join([
        "end points per rho and method (means over starts and repeats):\n"
        + table.to_string(float_format=lambda x: f"{x:.3g}"),
        "end u by start (mean over repeats):\n"
        + by_start.to_string(float_format=lambda x: f"{x:.2f}"),
        legend])
    return Summary(table=text, fitted=fitted, verdicts=verdicts)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """``paths``: one panel per rho, u along the run (repeat 0) for each method and start,
    beside the two curvature curves m(u) (pooled) and A(u) (per domain) against u, with the
    curvature 2 / lr beyond which gradient steps of size lr are unstable. Horizontal lines:
    u = -1 (fake flat, teal) and u = 1/3 (flattest per domain, red)."""
    paths = results[results.measure == "path_u"]
    rhos = sorted(paths.rho.unique())
    fig, axes = new_figure(1, len(rhos) + 1, width_in=PAGE_WIDTH_IN,
                           aspect=2.4 * (len(rhos) + 1) / PAGE_WIDTH_IN, squeeze=False)
    low = min(-2.0, float(paths.value.min()))
    u = np.linspace(low, 2.0, 200)
    ax = axes[0, 0]
    ax.plot(pooled_curvature(u), u, color="0.3", linestyle="--", label="pooled m(u)")
    ax.plot(domain_curvature(u), u, color="0.3", linestyle=":", label="per domain A(u)")
    ax.axhline(FAKE_FLAT_U, color="#009988", linewidth=0.6)
    ax.axhline(DOMAIN_FLAT_U, color="#CC3311", linewidth=0.6)
    for lr in cell_values(config, Params.from_config(config), "learning_rate"):
        ax.axvline(2.0 / lr, color="0.6", linewidth=0.6)
        ax.text(2.0 / lr, low, f" lr·A = 2\n (lr {lr:g})", fontsize=5, va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel("top Hessian eigenvalue")
    ax.set_ylabel("u")
    ax.set_title("curvature on the valley")
    ax.legend(fontsize="x-small")
    for ax, rho in zip(axes[0, 1:], rhos, strict=True):
        part = paths[paths.rho == rho]
        for method in [m for m in COMPARED_METHODS if m in set(part.method)]:
            for i, (_, run) in enumerate(part[part.method == method].groupby("u_start")):
                run = run.sort_values("step")
                ax.plot(run.step, run.value, color=COLORS[method], linewidth=0.9,
                        label=LABELS[method] if i == 0 else None)
        ax.axhline(FAKE_FLAT_U, color="#009988", linewidth=0.6)
        ax.axhline(DOMAIN_FLAT_U, color="#CC3311", linewidth=0.6)
        ax.set_xlabel("step")
        ax.set_title(f"rho = {rho:g}")
    axes[0, 1].legend(fontsize="xx-small", loc="lower left")
    return save_figure(fig, out_dir, "paths")

"""DCGD on physics-informed networks: does the dual-cone direction lower the relative L2 error
against Adam, LRA, NTK weighting, PCGrad and MGDA? (Hwang and Lim, NeurIPS 2024, the main table;
docs/theory.md §9.)

A cell is (problem, method, seed[, learning_rate]). Cells of one problem (and learning rate)
train together: every method and seed in one vmapped, scanned program
(:func:`sgldsim.pinn.train_pinn_runs`). Seed s uses the key ``fold_in(key(seed), s)`` for every
method: the same initial network and the same collocation/boundary points at every step, so
the methods' errors are paired by seed.

Per cell: the relative L2 error on the test grid at the final iterate (``rel_l2_final``) and
at the iterate with the lowest training loss (``rel_l2_best_loss``, the DCGD code's
convention), the fraction of steps with <g_r, g_b> < 0, and per block of ``block_steps``
steps the traces of rel-L2, the loss, cos(g_r, g_b), log10 |g_r|/|g_b| and the loss weight;
for the first seed on ``error_map_problem``, |u - u_ref| on a coarse grid at the best-loss
iterate.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pandas as pd
from scipy import stats

from ... import pinn
from ..._memory import MemoryEstimate
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure
from ...pinn.train import training_memory, training_setup
from ...runner import Cell, ConfigError, ExperimentConfig, ExperimentParams, Summary, cell_values
from ...verdicts import Verdict, paired_comparison
from ..common.checks import check_range

CHUNK_SIZE = 45

METHOD_LABELS = {
    "adam": "Adam", "lra": "LRA", "ntk": "NTK", "pcgrad": "PCGrad", "mgda": "MGDA",
    "dcgd-projection": "DCGD-Proj.", "dcgd-average": "DCGD-Avg.", "dcgd-center": "DCGD-Center",
    "dcgd-lra": "DCGD+LRA",
}
PAPER = {  # Hwang and Lim 2024, main table: mean relative L2 over 10 runs (50k iterations)
    "adam": {"helmholtz2d": 0.0609, "burgers": 0.0683, "klein-gordon": 0.0792,
             "heat5d": 0.0097, "helmholtz3d": 0.6109},
    "lra": {"helmholtz2d": 0.0066, "burgers": 0.0180, "klein-gordon": 0.0069,
            "heat5d": 0.0052, "helmholtz3d": 0.0831},
    "pcgrad": {"helmholtz2d": 0.0109, "burgers": 0.0159, "klein-gordon": 0.0286,
               "heat5d": 0.0083, "helmholtz3d": 0.2532},
    "dcgd-center": {"helmholtz2d": 0.0029, "burgers": 0.0124, "klein-gordon": 0.0069,
                    "heat5d": 0.0008, "helmholtz3d": 0.0774},
    "dcgd-lra": {"helmholtz2d": 0.0023, "burgers": 0.0104, "klein-gordon": 0.0050,
                 "heat5d": 0.0012, "helmholtz3d": 0.1045},
}
CLAIMS = [  # (method, baseline, claim): the paper's claims tested with paired seeds
    ("dcgd-center", "adam", "DCGD-Center beats Adam"),
    ("dcgd-center", "lra", "DCGD-Center beats LRA"),
    ("dcgd-center", "pcgrad", "DCGD-Center beats PCGrad"),
    ("dcgd-center", "mgda", "DCGD-Center beats MGDA"),
    ("dcgd-center", "dcgd-projection", "DCGD-Center beats DCGD-Projection"),
    ("dcgd-center", "dcgd-average", "DCGD-Center beats DCGD-Average"),
    ("dcgd-lra", "lra", "DCGD+LRA beats LRA"),
]
MEASURES = ("rel_l2_final", "rel_l2_best_loss", "best_step", "conflict_fraction")
TRACES = ("rel_l2", "loss", "residual", "boundary", "cos", "log_ratio", "conflict", "weight")


@dataclass(frozen=True)
class Params(ExperimentParams):
    """pinn-dcgd's parameters (each may be swept in ``[grid]``).

    Attributes:
      problem: the PDE (:data:`sgldsim.pinn.PROBLEMS`).
      method: the training method (:data:`sgldsim.pinn.PINN_METHODS`).
      seed: the run's seed; the key ``fold_in(key(config seed), seed)`` is shared by every
        method (paired); >= 0.
      hidden: widths of the tanh network's hidden layers; each > 0.
      steps: training steps per run; > 0 and a multiple of block_steps.
      block_steps: steps per recorded block (and per NTK-weight update); > 0.
      learning_rate: Adam's initial learning rate; > 0.
      decay_steps: steps between the schedule's decays; > 0.
      decay_rate: factor of each decay; in (0, 1].
      n_residual: collocation points per step; > 0; unset: the paper's count for the problem
        (:data:`sgldsim.pinn.PAPER_SETUP`, 1280).
      n_boundary: points per boundary set (edge, face, initial line, side) per step; > 0;
        unset: the paper's count for the problem (128; Burgers 42, as in the DCGD code).
      ntk_points: points per term for the NTK traces; > 0.
      lra_alpha: LRA's moving-average rate; in (0, 1].
      lra_estimate: how LRA estimates its weight: ``"code"``, from the gradient of the weighted
        boundary loss as the LRA authors' code does (the DCGD paper's LRA numbers come from it),
        or ``"paper"``, Eq. 2.11 as written (:func:`sgldsim.optim.lra_update`).
      error_map_problem: the problem whose |u - u_ref| map of the first seed is recorded.
      error_map_size: [n_first, n_last] points of that map along the first and last input
        columns (x by t); each > 0.
    """

    problem: Literal[pinn.PROBLEMS] = "helmholtz2d"
    method: Literal[tuple(pinn.PINN_METHODS)] = "adam"
    seed: int = 0
    hidden: tuple[int, ...] = (50, 50, 50)
    steps: int = 10000
    block_steps: int = 100
    learning_rate: float = 1e-3
    decay_steps: int = 1000
    decay_rate: float = 0.9
    n_residual: int | None = None
    n_boundary: int | None = None
    ntk_points: int = 32
    lra_alpha: float = 0.1
    lra_estimate: Literal["code", "paper"] = "code"
    error_map_problem: Literal[pinn.PROBLEMS] = "burgers"
    error_map_size: tuple[int, ...] = (49, 25)

    def training(self) -> dict:
        """The keyword arguments of :func:`sgldsim.pinn.train_pinn_runs` these parameters set."""
        return {"hidden": self.hidden, "steps": self.steps, "block_steps": self.block_steps,
                "learning_rate": self.learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "n_residual": self.n_residual,
                "n_boundary": self.n_boundary, "ntk_points": self.ntk_points,
                "lra_alpha": self.lra_alpha, "lra_estimate": self.lra_estimate}


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    """Ranges (each message names the key and the range) and steps a multiple of block_steps."""
    p = Params.from_config(config)
    for name in ("steps", "block_steps", "decay_steps", "n_residual", "n_boundary",
                 "ntk_points", "hidden", "error_map_size"):
        check_range(config, p, name, 0)  # unset point counts (None) pass: the paper's
    check_range(config, p, "seed", 0, low_inclusive=True)
    check_range(config, p, "learning_rate", 0.0)
    check_range(config, p, "lra_alpha", 0.0, 1.0)
    check_range(config, p, "decay_rate", 0.0, 1.0)
    for size in cell_values(config, p, "error_map_size"):
        if len(size) != 2:
            raise ConfigError(f"{config.key_path('error_map_size')}={list(size)!r} is not "
                              "allowed: [n_first, n_last], two point counts")
    for steps in cell_values(config, p, "steps"):
        for block in cell_values(config, p, "block_steps"):
            if steps % block:
                raise ConfigError(f"{config.key_path('steps')}={steps} is not allowed: it must "
                                  f"be a multiple of block_steps={block}")


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: each group of cells sharing everything but the method and seed
    trains as one vmapped program, one group at a time
    (:func:`sgldsim.pinn.train.training_memory`)."""
    groups = defaultdict(int)
    for cell in cells:
        groups[_group_key(Params.from_cell(cell))] += 1
    worst = (0.0, "")
    for p, runs in groups.items():
        problem = pinn.problem(p.problem)
        setup = training_setup(problem, **p.training())
        worst = max(worst, (training_memory(problem, runs, setup),
                            f"{p.problem}: {runs} runs of a {list(setup.hidden)} network on "
                            f"n_residual = {setup.n_residual} and n_boundary = "
                            f"{setup.n_boundary} points per step"))
    return MemoryEstimate(*worst, "lower params.n_residual, params.n_boundary, params.hidden "
                                  "or chunk_size")


def _group_key(p: Params) -> Params:
    """What the runs trained together share: every parameter but the method and the seed
    (those two set to placeholders)."""
    return dataclasses.replace(p, method="adam", seed=0)


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """Train each (problem, other parameters) group's methods and seeds together."""
    del keys  # paired seeds: the key depends on the seed only (module docstring)
    groups = defaultdict(list)
    for i, cell in enumerate(cells):
        groups[_group_key(Params.from_cell(cell))].append(i)
    out: list[list[dict]] = [[] for _ in cells]
    for members in groups.values():
        for i, rows in zip(members, _run_group(config, [cells[i] for i in members]),
                           strict=True):
            out[i] = rows
    return out


def _run_group(config, cells):
    params = [Params.from_cell(c) for c in cells]
    p = params[0]  # every parameter but the method and the seed is shared (_group_key)
    problem = pinn.problem(p.problem)
    keys = jnp.stack([jax.random.fold_in(jax.random.key(config.seed), q.seed) for q in params])
    runs = pinn.train_pinn_runs(problem, [q.method for q in params], keys, **p.training())
    block = p.block_steps
    first_seed = min(q.seed for q in params)
    out = []
    for r, q in enumerate(params):
        rows = [{"measure": m, "value": float(getattr(runs, m)[r])} for m in MEASURES]
        rows.append({"measure": "diverged_at", "value": float(runs.diverged_at[r])})
        for name in TRACES:
            values = getattr(runs, f"block_{name}")[r]
            rows += [{"measure": f"trace_{name}", "value": float(v), "step": (b + 1) * block}
                     for b, v in enumerate(values)]
        if p.problem == p.error_map_problem and q.seed == first_seed:
            points = _map_points(problem, p.error_map_size)
            error = np.abs(pinn.predict(problem, p.hidden, runs.best_params[r], points)
                           - problem.reference(points))
            rows += [{"measure": "abs_error", "value": float(e), "x": float(x[0]),
                      "y": float(x[-1])} for e, x in zip(error, points, strict=True)]
        out.append(rows)
    return out


def _map_points(problem, size):
    """A coarse grid over the first and last columns (other columns at their midpoint 0)."""
    full = problem.test_points()
    lo, hi = full.min(axis=0), full.max(axis=0)
    a, b = np.linspace(lo[0], hi[0], size[0]), np.linspace(lo[-1], hi[-1], size[1])
    points = np.zeros((a.size * b.size, problem.d_in))
    points[:, 0] = np.repeat(a, b.size)
    points[:, -1] = np.tile(b, a.size)
    return points


# ------------------------------------------------------------------------------- summary


def per_run(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (problem, method, seed[, learning_rate]) with a column per scalar measure."""
    scalar = results[results.measure.isin(MEASURES)]
    keys = [c for c in ("problem", "learning_rate", "method", "seed") if c in results]
    return scalar.pivot_table(index=keys, columns="measure", values="value",
                              sort=False).reset_index()


def _selected(runs: pd.DataFrame) -> pd.DataFrame:
    """With a learning-rate grid: per (problem, method) the rate with the lowest mean error."""
    if "learning_rate" not in runs:
        return runs
    mean = runs.groupby(["problem", "method", "learning_rate"]).rel_l2_best_loss.mean()
    best = mean.groupby(["problem", "method"]).idxmin()
    chosen = pd.MultiIndex.from_tuples(best.values, names=mean.index.names)
    index = runs.set_index(["problem", "method", "learning_rate"]).index
    return runs[index.isin(chosen)]


def per_method(runs: pd.DataFrame) -> pd.DataFrame:
    table = runs.groupby(["problem", "method"], sort=False).agg(
        best_mean=("rel_l2_best_loss", "mean"), best_std=("rel_l2_best_loss", "std"),
        final_mean=("rel_l2_final", "mean"), final_std=("rel_l2_final", "std"),
        conflict=("conflict_fraction", "mean"), n=("seed", "size"),
        log_mean=("rel_l2_best_loss", lambda v: np.log(v).mean()),
        log_std=("rel_l2_best_loss", lambda v: np.log(v).std(ddof=1) if len(v) > 1 else 0.0))
    return table.reset_index()


def geometric_interval(row, level: float = 0.05) -> tuple[float, float, float]:
    """(geometric mean, lower, upper) of one (problem, method)'s best-loss errors: exp of the
    mean log error -+ t_{1 - level/2, n - 1} times its standard error."""
    half = (stats.t.ppf(1 - level / 2, row.n - 1) * row.log_std / np.sqrt(row.n)
            if row.n > 1 else 0.0)
    return np.exp(row.log_mean), np.exp(row.log_mean - half), np.exp(row.log_mean + half)


def _paired(runs: pd.DataFrame, method: str, baseline: str) -> pd.DataFrame:
    """log err_method and log err_baseline at the best-loss iterate, per (problem, seed)."""
    wide = runs.pivot_table(index=["problem", "seed"], columns="method",
                            values="rel_l2_best_loss")
    if method not in wide or baseline not in wide:
        return pd.DataFrame(columns=["problem", "a", "b"])
    pairs = pd.DataFrame({"a": np.log(wide[method]), "b": np.log(wide[baseline])}).dropna()
    return pairs.reset_index()


def _verdicts(runs: pd.DataFrame) -> tuple[list[Verdict], dict]:
    """Each claim of :data:`CLAIMS` by :func:`sgldsim.verdicts.paired_comparison` of the log
    errors at the best-loss iterate, first over all problems, problems as units (seeds of one
    problem share it: SE between the per-problem mean log ratios, t quantiles with problems - 1
    degrees of freedom; with a single problem the seeds are the units), then on each problem
    alone with its seeds as units (t quantiles with seeds - 1 degrees of freedom): the paper
    claims its ranking on every problem, so a claim can hold on one and fail on another."""
    verdicts, per_problem_verdicts, fitted = [], [], {}
    for method, baseline, claim in CLAIMS:
        d = _paired(runs, method, baseline)
        if d.problem.nunique() > 1:
            per_problem_verdicts += _verdicts_per_problem(d, claim)
        units = d.problem.to_numpy() if d.problem.nunique() > 1 else None
        result = paired_comparison(d.a.to_numpy(float), d.b.to_numpy(float), units=units,
                                   direction="a < b", claim=claim)
        if np.isfinite(result.mean):
            fitted[f"log_error_ratio[{method}/{baseline}]"] = result.mean
            fitted[f"log_error_ratio[{method}/{baseline}]_stderr"] = result.stderr
        per_problem = (d.a - d.b).groupby(d.problem, sort=False).mean()
        wins = ", ".join(f"{prob} {np.exp(v):.2f}" for prob, v in per_problem.items())
        verdicts.append(result.verdict._replace(reason=(
            f"geometric-mean error ratio {METHOD_LABELS[method]}/{METHOD_LABELS[baseline]} = "
            f"{np.exp(result.mean):.3f}; per problem: {wins}; log ratio: "
            f"{result.verdict.reason}")))
    return verdicts + per_problem_verdicts, fitted


def _verdicts_per_problem(d: pd.DataFrame, claim: str) -> list[Verdict]:
    """One claim on each problem of its pairs ``d`` (:func:`_paired`), the seeds as units."""
    out = []
    for prob, part in d.groupby("problem", sort=False):
        result = paired_comparison(part.a.to_numpy(float), part.b.to_numpy(float),
                                   direction="a < b", claim=f"{claim} on {prob}")
        out.append(result.verdict._replace(reason=(
            f"geometric-mean error ratio {np.exp(result.mean):.3f} over {len(part)} paired "
            f"seeds; log ratio: {result.verdict.reason}")))
    return out


def _convergence(results: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, method): rel-L2 (seed mean) at the last block over its value at 80% of
    the steps; near 1 means the error has stopped falling."""
    trace = results[results.measure == "trace_rel_l2"]
    mean = trace.groupby(["problem", "method", "step"]).value.mean().reset_index()
    rows = []
    for (prob, method), part in mean.groupby(["problem", "method"], sort=False):
        steps = part.step.to_numpy()
        at = part.value.to_numpy()
        ref = at[np.searchsorted(steps, 0.8 * steps.max())]
        rows.append({"problem": prob, "method": method, "last_over_80pct": at[-1] / ref})
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    runs = _selected(per_run(results))
    table = per_method(runs)
    problems = [p for p in pinn.PROBLEMS if p in set(table.problem)]
    methods = [m for m in pinn.PINN_METHODS if m in set(table.method)]
    conv = _convergence(results).set_index(["problem", "method"])

    def wide(cell):
        t = table.assign(shown=table.apply(cell, axis=1)).pivot_table(
            index="method", columns="problem", values="shown", aggfunc="first", sort=False)
        return t.reindex(index=methods, columns=problems)

    paper = pd.DataFrame({p: {m: (f"{PAPER[m][p]:.4f}" if m in PAPER else "-")
                              for m in methods} for p in problems}).reindex(methods)
    side = pd.concat({"here": wide(lambda r: f"{r.best_mean:.3g} ± {r.best_std:.2g}"),
                      "paper": paper}, axis=1)
    ratio = wide(lambda r: (f"{r.best_mean / PAPER[r.method][r.problem]:.1f}"
                            if r.problem in PAPER.get(r.method, {}) else "-"))
    geometric = wide(lambda r: "{:.3g} [{:.3g}, {:.3g}]".format(*geometric_interval(r)))
    final = wide(lambda r: f"{r.final_mean:.3g} ± {r.final_std:.2g}")
    conflict = wide(lambda r: f"{r.conflict:.2f}")
    convergence = conv.last_over_80pct.unstack("problem").reindex(index=methods,
                                                                   columns=problems)
    n = int(table.n.min()) if len(table) else 0
    steps = cell_values(config, Params.from_config(config), "steps")
    text = "\n\n".join([
        f"relative L2 error at the best-loss iterate, mean ± std over {n} seeds "
        f"({', '.join(map(str, steps))} steps), beside the paper's mean over 10 runs "
        "(50k steps):\n" + side.to_string(),
        "ratio of the mean error here to the paper's mean ('-': not in the paper):\n"
        + ratio.to_string(),
        "geometric mean of the best-loss errors over seeds [95 % t interval]:\n"
        + geometric.to_string(),
        "relative L2 error at the final iterate, mean ± std over seeds:\n" + final.to_string(),
        "fraction of steps with conflicting gradients <g_r, g_b> < 0:\n" + conflict.to_string(),
        "convergence: seed-mean rel-L2 at the last step / at 80% of the steps:\n"
        + convergence.to_string(float_format=lambda v: f"{v:.2f}"),
        "legend: here = this run, paper = Hwang and Lim (NeurIPS 2024), main table ('-': not "
        "reported); best-loss iterate = the step with the lowest training loss L_r + L_b on "
        "its batch (the DCGD code's convention); conflict = share of steps with "
        "<g_r, g_b> < 0; convergence near 1 = the error stopped falling, well below 1 = "
        "still falling (more steps would lower it).",
    ])
    verdicts, fitted = _verdicts(runs)
    fitted.update({f"rel_l2_best_loss[{r.problem},{r.method}]": r.best_mean
                   for r in table.itertuples()})
    return Summary(table=text, fitted=fitted, verdicts=verdicts)


# ------------------------------------------------------------------------------- figures


def _color(method: str):
    """tab10 by method (the paper style's cycle has fewer colours); DCGD-Center black."""
    if method == "dcgd-center":
        return "k"
    return matplotlib.colormaps["tab10"](list(pinn.PINN_METHODS).index(method))


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """``rel_l2``: best-loss error by method per problem: every seed, the geometric mean with
    its 95 % t interval, and the paper's mean (its own colour and legend entry).
    ``error_map``: |u - u_ref| of the best and worst method (seed 0, best-loss iterate) beside
    u_ref. ``conflict``: cos(g_r, g_b), log10 |g_r|/|g_b| and
    rel-L2 over training (seed means)."""
    runs = _selected(per_run(results))
    table = per_method(runs)
    problems = [p for p in pinn.PROBLEMS if p in set(table.problem)]
    methods = [m for m in pinn.PINN_METHODS if m in set(table.method)]

    fig, axes = new_figure(1, len(problems), width_in=PAGE_WIDTH_IN, aspect=0.9, squeeze=False)
    paper_colour = "gold"   # no method's colour (tab10 by method, DCGD-Center black)
    for ax, prob in zip(axes[0], problems, strict=True):
        part = table[table.problem == prob].set_index("method")
        seeds = runs[runs.problem == prob]
        for x, method in enumerate(methods):
            if method not in part.index:
                continue
            r = part.loc[method]
            values = seeds[seeds.method == method].rel_l2_best_loss.to_numpy()
            jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
            ax.scatter(x + np.asarray(jitter), values, s=6, color=_color(method), alpha=0.5,
                       lw=0)
            centre, low, high = geometric_interval(r)
            ax.errorbar(x + 0.3, centre, yerr=[[centre - low], [high - centre]], fmt="o",
                        ms=4, color=_color(method), capsize=2)
            if method in PAPER and prob in PAPER[method]:
                ax.plot(x + 0.3, PAPER[method][prob], marker="*", ms=8, ls="none",
                        color=paper_colour, mec="k", mew=0.5)
        ax.set_yscale("log")
        ax.set_xticks(range(len(methods)), [METHOD_LABELS[m] for m in methods], rotation=70,
                      fontsize="x-small")
        ax.set_title(prob)
    axes[0, 0].set_ylabel("relative L2 error (best-loss iterate)")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="none", marker="o", ms=3, color="0.5", alpha=0.5),
               Line2D([], [], ls="-", marker="o", ms=4, color="0.3"),
               Line2D([], [], ls="none", marker="*", ms=8, color=paper_colour, mec="k",
                      mew=0.5)]
    labels = ["one seed", "geometric mean over seeds, 95 % t interval",
              "the paper's mean (10 runs, 50k steps)"]
    fig.legend(handles, labels, loc="upper center", ncol=3, fontsize="x-small",
               bbox_to_anchor=(0.5, 1.06), frameon=False)
    paths = save_figure(fig, out_dir, "rel_l2")

    maps = results[results.measure == "abs_error"]
    if len(maps):
        prob = maps.problem.iloc[0]
        order = table[table.problem == prob].sort_values("best_mean")
        shown = [order.method.iloc[0], order.method.iloc[-1]]
        fig, axes = new_figure(1, 3, width_in=PAGE_WIDTH_IN, aspect=0.8)
        problem = pinn.problem(prob)
        m0 = maps[maps.method == shown[0]]
        pts = np.zeros((len(m0), problem.d_in))
        pts[:, 0], pts[:, -1] = m0.x.to_numpy(), m0.y.to_numpy()
        xs, ys = np.unique(m0.x), np.unique(m0.y)
        extent = (xs.min(), xs.max(), ys.min(), ys.max())
        ref = problem.reference(pts).reshape(len(xs), len(ys)).T
        im = axes[0].imshow(ref, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r")
        fig.colorbar(im, ax=axes[0])
        axes[0].set_title(f"{prob}: u_ref")
        errors = [maps[maps.method == m].value.to_numpy().reshape(len(xs), len(ys)).T
                  for m in shown]
        vmax = max(e.max() for e in errors)
        for ax, method, err in zip(axes[1:], shown, errors, strict=True):
            im = ax.imshow(err, origin="lower", extent=extent, aspect="auto", vmin=0,
                           vmax=vmax, cmap="magma")
            ax.set_title(f"|u - u_ref|, {METHOD_LABELS[method]}")
        fig.colorbar(im, ax=axes[2])
        for ax in axes:
            ax.set_xlabel(problem.columns[0])
        axes[0].set_ylabel(problem.columns[-1])
        paths += save_figure(fig, out_dir, "error_map")

    traces = results[results.measure.str.startswith("trace_")]
    if "learning_rate" in traces:
        keep = runs.set_index(["problem", "method", "learning_rate"]).index.unique()
        traces = traces[traces.set_index(["problem", "method", "learning_rate"]).index
                        .isin(keep)]
    mean = traces.groupby(["problem", "method", "measure", "step"]).value.mean()
    rows = [("trace_cos", "cos(g_r, g_b)"), ("trace_log_ratio", "log10 |g_r|/|g_b|"),
            ("trace_rel_l2", "relative L2")]
    fig, axes = new_figure(len(rows), len(problems), width_in=PAGE_WIDTH_IN, aspect=0.7,
                           squeeze=False, sharex="col")
    for col, prob in enumerate(problems):
        for row, (measure, label) in enumerate(rows):
            ax = axes[row, col]
            for method in methods:
                width = 1.6 if method == "dcgd-center" else 0.9
                try:
                    s = mean.loc[(prob, method, measure)]
                except KeyError:
                    continue
                ax.plot(s.index, s.values, color=_color(method), lw=width,
                        label=METHOD_LABELS[method])
            if measure == "trace_rel_l2":
                ax.set_yscale("log")
                ax.set_xlabel("step")
            if measure == "trace_cos":
                ax.axhline(0.0, color="0.5", ls=":", lw=0.8)
                ax.set_title(prob)
            if col == 0:
                ax.set_ylabel(label)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center",
               ncol=(len(methods) + 1) // 2, fontsize="x-small", bbox_to_anchor=(0.5, 1.07),
               frameon=False)
    return paths + save_figure(fig, out_dir, "conflict")


def markdown_table(results: pd.DataFrame) -> str:
    """The results page's table: per method and problem, rel-L2 at the best-loss iterate (mean ±
    std over seeds, the paper's statistic), the paper's mean, and their ratio here / paper
    (``-``: not in the paper's main table)."""
    table = per_method(_selected(per_run(results)))
    problems = [p for p in pinn.PROBLEMS if p in set(table.problem)]
    methods = [m for m in pinn.PINN_METHODS if m in set(table.method)]
    head = "| method | " + " | ".join(f"{p} here | paper | ratio" for p in problems) + " |"
    lines = [head, "|---|" + "---:|---:|---:|" * len(problems)]
    for method in methods:
        cells = []
        for prob in problems:
            r = table[(table.problem == prob) & (table.method == method)].iloc[0]
            paper = PAPER.get(method, {}).get(prob)
            cells += [f"{r.best_mean:.4f} ± {r.best_std:.4f}",
                      "-" if paper is None else f"{paper:.4f}",
                      "-" if paper is None else f"{r.best_mean / paper:.1f}"]
        lines.append(f"| {METHOD_LABELS[method]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

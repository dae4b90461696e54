"""Cost per step: SGD, SGLD, RWP, fSGLD, SAM and ASAM on the same model and batch
(docs/theory.md §7).

The paper: fSGLD costs about what SGD costs (one gradient per step) and about half of SAM
(two sequential gradients); ResNet-34 on CIFAR-100N, 23.7 s/epoch against SAM's 41.3 (0.57).
Each method is the library's own (``optim.sgd``, ``optim.fsgld``, ...) on the model's flat
parameter vector (as in the training experiments) or, for the models in ``pytree_models``, on
its parameter pytree as a user would write it (one array per weight and bias), compiled as
``steps_per_call`` steps in one ``lax.scan`` on a fixed batch; after two warm-up calls the
methods are timed in turn, ``repeats`` rounds (the order rotates each round), each call ending
in ``block_until_ready``. Reported: the median seconds per step, and per round the ratio to
SGD's time in the same round (median and its distribution-free 95 % interval), which cancels
slow drifts of the machine.
Extra per-step work on top of one gradient: Gaussian draws over all parameters (SGLD one,
RWP one, fSGLD two: the Box-Muller pair of one counter-based Threefry hash per parameter, see
:func:`sgldsim._random.tree_normal_pair`), a second gradient (SAM, ASAM). That work is fixed per
parameter while SGD's grows with the batch, so the ratio to SGD falls as the batch grows; the
grid has the training batch (128) and a larger one, and the table gives the extra microseconds
per step and nanoseconds per parameter. fSGLD's draws are also timed alone, in the same rounds
(:func:`_scanned_draws`): 1 + draws / SGD is the ratio fSGLD would have if its step added
nothing to SGD's but them.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jax
import numpy as np
import pandas as pd
import scipy.stats

from ... import nn, optim
from ..._memory import MemoryEstimate
from ..._random import tree_normal_pair
from ...coupling import coupled_sigma
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure, style_for
from ...runner import Cell, ConfigError, ExperimentConfig, Summary, cell_values
from ...verdicts import Verdict
from ..common.checks import check_range
from ..common.nn_setup import (
    WIDTHS,
    DatasetName,
    ModelName,
    NetworkParams,
    check_dataset_fits,
    classifier_runs_memory,
    dataset_from_params,
    model_from_params,
)

TIMED_METHODS = ("sgd", "sgld", "rwp", "fsgld", "sam", "asam")
"""The methods nn-cost can time (``methods`` picks some), in the order tables and bars show."""
REQUIRED = ("sgd", "fsgld", "sam")
"""Methods the verdicts compare (the others are reported for context)."""
GRADIENTS_PER_STEP = {"sgd": 1, "sgld": 1, "rwp": 1, "fsgld": 1, "sam": 2, "asam": 2}
SGD_LIKE = 1.15
"""fSGLD "costs about SGD" when its time per step is at most this multiple of SGD's."""
HALF_OF_SAM = 0.7
"""fSGLD "costs about half of SAM" when at most this fraction (the paper measured 0.57)."""


@dataclass(frozen=True)
class Params(NetworkParams):
    """nn-cost's parameters (each may be swept in ``[grid]`` unless marked fixed), besides the
    data split and widths of :class:`~sgldsim.experiments.common.nn_setup.NetworkParams`.

    Attributes:
      methods: the methods timed (fixed), from :data:`TIMED_METHODS`; must include sgd, fsgld
        and sam.
      dataset: the dataset whose first ``batch_size`` training examples make the batch.
      model: the model timed (a name of :data:`sgldsim.nn.MODELS`).
      batch_size: examples in the fixed batch; > 0 and at most the training split.
      pytree_models: models kept as their parameter pytree (one array per weight and bias);
        the others train on one flat vector.
      learning_rate: every method's learning rate; > 0.
      beta: SGLD's and fSGLD's inverse temperature; > 0.
      coupling_eta: fSGLD's sigma = beta^(-(1+eta)/4) at this eta.
      sigma: RWP's perturbation scale; >= 0.
      rho: SAM's radius; >= 0.
      asam_rho: ASAM's radius; >= 0.
      asam_eta: ASAM's eta; >= 0.
      steps_per_call: steps scanned inside one compiled call; > 0.
      repeats: timed rounds per method, methods interleaved; >= 6 (a 95 % interval of the
        median needs 6).
    """

    NOT_SWEPT = (*NetworkParams.NOT_SWEPT, "methods")

    methods: tuple[Literal[TIMED_METHODS], ...] = TIMED_METHODS
    dataset: DatasetName = "mnist1d"
    model: ModelName = "residual_mlp"
    batch_size: int = 128
    mlp_hidden: tuple[int, ...] | None = (300, 300)
    residual_mlp_hidden: tuple[int, ...] | None = (100, 100)
    strided_cnn_channels: tuple[int, ...] | None = (25, 25, 25)
    pytree_models: tuple[ModelName, ...] = ("mlp",)
    learning_rate: float = 0.1
    beta: float = 1e4
    coupling_eta: float = 0.1
    sigma: float = 0.02
    rho: float = 0.05
    asam_rho: float = 0.5
    asam_eta: float = 0.01
    steps_per_call: int = 100
    repeats: int = 25


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    """Ranges (each message names the key and the range), the compared methods, and the batch
    against the dataset."""
    p = Params.from_config(config)
    for name in ("batch_size", "steps_per_call", "num_samples_mnist1d", *WIDTHS):
        check_range(config, p, name, 0)
    check_range(config, p, "repeats", 6, low_inclusive=True)
    for name in ("learning_rate", "beta"):
        check_range(config, p, name, 0.0)
    for name in ("sigma", "rho", "asam_rho", "asam_eta"):
        check_range(config, p, name, 0.0, low_inclusive=True)
    if not set(REQUIRED) <= set(p.methods):
        raise ConfigError(f"params.methods={list(p.methods)!r} is not allowed: a list of methods "
                          f"from {', '.join(TIMED_METHODS)} that includes {', '.join(REQUIRED)}")
    check_dataset_fits(config, p, cell_values(config, p, "dataset"),
                       config.key_path("dataset"), cell_values(config, p, "batch_size"))


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk (its cells run one at a time): every method's state and compiled
    scan are alive together, each step one gradient (SAM, ASAM: two) over the fixed batch,
    beside the dataset (:func:`~sgldsim.experiments.common.nn_setup.classifier_runs_memory`
    with one run per method)."""
    worst = (0.0, "")
    for cell in cells:
        p = Params.from_cell(cell)
        needed, params = classifier_runs_memory(p, p.dataset, p.model, len(p.methods) + 1,
                                                2 * p.batch_size, evaluate=False)
        worst = max(worst, (needed, f"{p.model} ({params} parameters) at batch_size = "
                                    f"{p.batch_size}"))
    return MemoryEstimate(*worst, "lower the model's widths or batch_size")


def methods_from_params(p: Params) -> dict[str, optim.Method]:
    """The methods of ``p.methods`` at the configured hyperparameters."""
    lr = p.learning_rate
    methods = {
        "sgd": optim.sgd(lr),
        "sgld": optim.sgld(lr, p.beta),
        "rwp": optim.rwp(lr, p.sigma),
        "fsgld": optim.fsgld(lr, p.beta, sigma=float(coupled_sigma(p.beta, p.coupling_eta))),
        "sam": optim.sam(lr, p.rho),
        "asam": optim.asam(lr, p.asam_rho, eta=p.asam_eta),
    }
    return {name: methods[name] for name in p.methods}


def _scanned_steps(method: optim.Method, loss_fn, num_steps: int):
    step = method.train_step(loss_fn)

    def run(key, params, opt_state, batch):
        def body(carry, step_key):
            params, opt_state, _ = step(step_key, *carry, batch)
            return (params, opt_state), None

        carry, _ = jax.lax.scan(body, (params, opt_state), jax.random.split(key, num_steps))
        return carry

    return jax.jit(run)


def _scanned_draws(num_steps: int):
    """fSGLD's random work alone, scanned like the steps: per step the Box-Muller pair over the
    parameters (the draw a fSGLD step makes, :func:`sgldsim._random.tree_normal_pair`) and one
    update with both noises, theta + 1e-3 (xi_0 + xi_1); no gradient."""

    def run(key, params):
        def body(params, step_key):
            perturbation, noise = tree_normal_pair(step_key, params)
            return jax.tree.map(lambda p, a, b: p + 1e-3 * (a + b), params, perturbation,
                                noise), None

        return jax.lax.scan(body, params, jax.random.split(key, num_steps))[0]

    return jax.jit(run)


def interleaved_seconds(calls: dict, repeats: int, steps_per_call: int) -> dict[str, np.ndarray]:
    """Seconds per step of each call in ``calls`` (name -> no-argument function running
    ``steps_per_call`` steps), ``repeats`` rounds each. Every call is run twice first (compile,
    settle caches); then each round runs all calls in turn, the order rotated by one per round,
    so all share the machine's load and none is always first (ratios are taken per round)."""
    for call in calls.values():
        for _ in range(2):
            jax.block_until_ready(call())
    seconds = {name: [] for name in calls}
    order = list(calls)
    for round_ in range(repeats):
        for name in order[round_ % len(order):] + order[:round_ % len(order)]:
            start = time.perf_counter()
            jax.block_until_ready(calls[name]())
            seconds[name].append((time.perf_counter() - start) / steps_per_call)
    return {name: np.array(t) for name, t in seconds.items()}


def run_cell(config: ExperimentConfig, cell: Cell, key) -> list[dict]:
    """Median seconds per step of each method and of fSGLD's draws alone (``draws``), and their
    per-round ratio to SGD."""
    p = Params.from_cell(cell)
    dataset = dataset_from_params(p, p.dataset)
    model = model_from_params(p, p.model, dataset, flat=p.model not in p.pytree_models)
    loss_fn = nn.classification_loss(model)
    batch = (dataset.train.x[: p.batch_size], dataset.train.y[: p.batch_size])
    params = model.init(jax.random.key(0))
    num_steps = p.steps_per_call
    calls = {}
    for name, method in methods_from_params(p).items():
        calls[name] = functools.partial(_scanned_steps(method, loss_fn, num_steps), key, params,
                                        method.optimizer.init(params), batch)
    names = list(calls)
    calls["draws"] = functools.partial(_scanned_draws(num_steps), key, params)
    seconds = interleaved_seconds(calls, p.repeats, num_steps)
    sgd, draws = seconds["sgd"], seconds["draws"]
    rows = [{"measure": "num_parameters",
             "value": float(sum(x.size for x in jax.tree.leaves(params)))},
            {"measure": "num_leaves", "value": float(len(jax.tree.leaves(params)))},
            {"measure": "draws_seconds", "value": float(np.median(draws))},
            {"measure": "draws_relative_to_sgd", "value": float(np.median(draws / sgd))}]
    for name in names:
        t = seconds[name]
        rows += [{"measure": "seconds_per_step", "method": name, "value": float(np.median(t))},
                 {"measure": "extra_seconds", "method": name, "value": float(np.median(t - sgd))}]
        for baseline in ("sgd", "sam"):
            if name != baseline:
                ratio = t / seconds[baseline]
                low, high = median_interval(ratio)
                rows += [{"measure": f"relative_to_{baseline}{suffix}", "method": name,
                          "value": float(value)} for suffix, value in (
                              ("", np.median(ratio)), ("_low", low), ("_high", high))]
    rows += [{"measure": f"relative_to_sgd{suffix}", "method": "sgd", "value": 1.0}
             for suffix in ("", "_low", "_high")]
    return rows


def median_interval(x, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval for the median of i.i.d. ``x``: the order
    statistics (x_(j), x_(n+1-j)) with the largest j such that P(j <= B <= n - j) >= ``level``,
    B ~ Binomial(n, 1/2) (the number of draws below the median). Needs n >= 6 for 95 %."""
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    # j = the number of k with P(B <= k) <= (1 - level) / 2, so P(B < j) <= (1 - level) / 2
    j = int(np.sum(scipy.stats.binom.cdf(np.arange(n), n, 0.5) <= (1 - level) / 2))
    if j < 1:
        raise ValueError(f"{n} rounds are too few for a {level:.0%} interval of the median: "
                         "at least 6 are needed")
    return x[j - 1], x[n - j]


CELL_MEASURES = ("num_parameters", "num_leaves", "draws_seconds", "draws_relative_to_sgd")
"""Measures of a (model, batch size) cell rather than of a method."""


def per_method(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, batch size, method) with a column per measure."""
    rows = results[results.method.notna()]
    keys = [c for c in ("model", "batch_size", "dataset") if c in rows] + ["method"]
    wide = rows.pivot_table(index=keys, columns="measure", values="value", sort=False)
    wide = wide.reset_index()
    for measure in CELL_MEASURES:
        if not (results.measure == measure).any():  # run folders from before the draws column
            continue
        values = results[results.measure == measure].set_index(
            [c for c in ("model", "batch_size", "dataset") if c in rows]).value
        wide = wide.merge(values.rename(measure), left_on=values.index.names, right_index=True)
    return wide


def _verdict(claim: str, low: float, mid: float, high: float, limit: float, what: str):
    verdict = ("consistent" if high <= limit else "inconsistent" if low > limit else
               "inconclusive")
    return Verdict(claim, verdict, f"{what} = {mid:.2f} (95 % interval of the median over rounds "
                                   f"{low:.2f}-{high:.2f}); limit {limit:g}")


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table = per_method(results)
    cells = [c for c in ("model", "batch_size", "dataset") if c in table]
    table = table.assign(gradients=table.method.map(GRADIENTS_PER_STEP),
                         microseconds_per_step=1e6 * table.seconds_per_step,
                         extra_microseconds=1e6 * table.extra_seconds,
                         extra_ns_per_parameter=1e9 * table.extra_seconds / table.num_parameters)
    shown = table[[*cells, "num_parameters", "num_leaves", "method", "gradients",
                   "microseconds_per_step", "extra_microseconds", "extra_ns_per_parameter",
                   "relative_to_sgd", "relative_to_sgd_low", "relative_to_sgd_high",
                   "relative_to_sam"]]
    verdicts, fitted = [], {}
    for key, group in table.groupby(cells, sort=False):
        label = ", ".join(f"{c}={v}" for c, v in zip(cells, np.atleast_1d(key), strict=True))
        f = group[group.method == "fsgld"].iloc[0]
        fitted[f"fsgld_over_sgd[{label}]"] = f.relative_to_sgd
        fitted[f"fsgld_over_sam[{label}]"] = f.relative_to_sam
        fitted[f"fsgld_extra_ns_per_parameter[{label}]"] = f.extra_ns_per_parameter
        with_draws = ""
        if "draws_relative_to_sgd" in f:
            fitted[f"draws_ns_per_parameter[{label}]"] = 1e9 * f.draws_seconds / f.num_parameters
            fitted[f"sgd_plus_draws_over_sgd[{label}]"] = 1 + f.draws_relative_to_sgd
            with_draws = f"; SGD plus fSGLD's draws alone: {1 + f.draws_relative_to_sgd:.2f}"
        verdict = _verdict(f"fSGLD costs about SGD per step ({label})", f.relative_to_sgd_low,
                           f.relative_to_sgd, f.relative_to_sgd_high, SGD_LIKE, "fSGLD / SGD")
        verdicts.append(verdict._replace(reason=verdict.reason + with_draws))
        verdicts.append(_verdict(f"fSGLD costs about half of SAM per step ({label})",
                                 f.relative_to_sam_low, f.relative_to_sam, f.relative_to_sam_high,
                                 HALF_OF_SAM, "fSGLD / SAM"))
    text = ("time per step (median over rounds; relative_to_*: median per-round ratio, with "
            "its 95 % interval):\n"
            + shown.to_string(index=False, float_format=lambda v: f"{v:.3g}")
            + "\n\nLegend: num_parameters, num_leaves: the model's parameter count and arrays "
            "(1: one flat vector; more: the pytree as written); gradients: loss gradients per "
            "step; microseconds_per_step: median wall time of one step; extra_microseconds: "
            "median over rounds of (time - SGD's time in the same round), "
            "extra_ns_per_parameter: that per parameter (the draws' cost is per parameter, "
            "SGD's grows with the batch); relative_to_sgd: median over rounds of (time / SGD's "
            "time in the same round), _low/_high: its distribution-free 95 % interval (order "
            "statistics); relative_to_sam: the same against SAM. Verdicts: consistent when the "
            "interval lies below the limit, inconsistent when above, inconclusive when it "
            f"straddles it; limits fSGLD/SGD <= {SGD_LIKE:g}, fSGLD/SAM <= {HALF_OF_SAM:g}.")
    if "draws_seconds" in table:
        draws = table[table.method == "sgd"].assign(
            sgd_microseconds=lambda t: 1e6 * t.seconds_per_step,
            draws_microseconds=lambda t: 1e6 * t.draws_seconds,
            draws_ns_per_parameter=lambda t: 1e9 * t.draws_seconds / t.num_parameters,
            sgd_plus_draws=lambda t: 1 + t.draws_relative_to_sgd)
        text += ("\n\nfSGLD's draws alone (per step: the Box-Muller pair over all parameters and "
                 "one update with both noises, no gradient; medians over the same rounds):\n"
                 + draws[[*cells, "num_parameters", "sgd_microseconds", "draws_microseconds",
                          "draws_ns_per_parameter", "sgd_plus_draws"]].to_string(
                              index=False, float_format=lambda v: f"{v:.3g}")
                 + "\nsgd_plus_draws = 1 + median per-round (draws / SGD): SGD's time plus the "
                 "draws' in units of SGD's, what fSGLD / SGD would be if its step added nothing "
                 "else and nothing overlapped (the draws' own update pass is counted, so fSGLD "
                 "can come out a little below it).")
    return Summary(table=text, fitted=fitted, verdicts=verdicts)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """Time per step relative to SGD, a group of bars per (model, batch size), with the 95 %
    interval of the median per-round ratio; a white diamond on fSGLD's bar at 1 + (its draws
    alone / SGD)."""
    table = per_method(results)
    cells = [c for c in ("model", "batch_size", "dataset") if c in table]
    groups = list(table.groupby(cells, sort=False))
    fig, ax = new_figure(1, 1, width_in=PAGE_WIDTH_IN * 0.75, aspect=0.45)
    methods = [m for m in TIMED_METHODS if m in set(table.method)]
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        rows = [g[g.method == method].iloc[0] for _, g in groups]
        x = np.arange(len(groups)) + (k - (len(methods) - 1) / 2) * width
        mid = np.array([r.relative_to_sgd for r in rows])
        err = np.array([[m - r.relative_to_sgd_low, r.relative_to_sgd_high - m]
                        for r, m in zip(rows, mid, strict=True)]).T
        ax.bar(x, mid, width, yerr=err, capsize=1.5, color=style_for(method)["color"],
               label=style_for(method)["label"])
        if method == "fsgld" and "draws_relative_to_sgd" in table:
            ax.scatter(x, [1 + r.draws_relative_to_sgd for r in rows], marker="D", s=12,
                       facecolor="white", edgecolor="k", linewidth=0.8, zorder=3,
                       label="SGD + fSGLD's draws alone")
    ax.axhline(1.0, color="0.4", linestyle=":", linewidth=0.8)
    ax.axhline(SGD_LIKE, color="0.4", linestyle="--", linewidth=0.8,
               label=f"fSGLD/SGD limit {SGD_LIKE}")
    labels = ["\n".join(str(v) if c == "model" else f"{c.replace('_', ' ')} {v}"
                         for c, v in zip(cells, np.atleast_1d(key), strict=True))
              for key, _ in groups]
    ax.set_xticks(range(len(groups)), labels, fontsize="small")
    top = max(table.relative_to_sgd_high.max(), SGD_LIKE)
    ax.set(ylabel="time per step / SGD's", ylim=(0, 1.3 * top))  # room for the legend
    ax.legend(ncol=4, fontsize="x-small", loc="upper left")
    return save_figure(fig, out_dir, "time_per_step")

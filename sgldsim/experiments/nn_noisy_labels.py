"""Noisy-label classification: does fSGLD match or beat SGD, SGLD, RWP, SAM and ASAM, and does
it reach flatter minima? (docs/theory.md §7; the paper's CIFAR-N / WebVision claims, in miniature.)

A cell is (dataset, model, noise kind, noise rate, method). Inside it every configuration of
the method's tuning grid (the model's learning rates x the method's own hyperparameter) trains
for every seed; the configuration with the best mean *validation* accuracy (noisy labels, as a
practitioner would have) is selected, and its seeds' clean *test* accuracies are reported, with
the top Hessian eigenvalue and the Hessian trace of the noisy training loss (no weight decay)
on the first ``hessian_examples`` training examples. The test split is never used to choose.

Cells of one (dataset, model) run together: one compiled, vmapped program per method family
(:mod:`sgldsim.nn.sweep`); seeds follow :mod:`sgldsim.experiments.nn_common` (paired across
methods).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from matplotlib.ticker import FormatStrFormatter

from .. import nn
from ..coupling import coupled_sigma
from ..figures.style import PAGE_WIDTH_IN, new_figure, save_figure, style_for
from . import Cell, ExperimentConfig, Summary, Verdict
from .nn_common import (
    check_choices,
    check_dataset_fits,
    check_fixed,
    check_range,
    dataset_from_params,
    model_from_params,
    noisy_label_sets,
    seed_keys,
)

CHUNK_SIZE = 24
METHODS = ("sgd", "sgld", "rwp", "fsgld", "sam", "asam")
BASELINES = ("sgd", "sgld", "rwp", "sam", "asam")
SETTING = ["dataset", "model", "noise", "noise_rate"]
Z = 2.0
"""A difference counts as significant beyond this many standard errors."""


def validate(config: ExperimentConfig) -> None:
    check_choices(config, "dataset", nn.DATASETS)
    check_choices(config, "model", tuple(nn.MODELS))
    check_choices(config, "noise", nn.NOISE_KINDS)
    check_choices(config, "method", METHODS)
    check_fixed(config, "seeds", "mlp_hidden", "cnn_channels", "mlp_learning_rates",
                "cnn_learning_rates", "langevin_betas", "sam_rhos", "asam_rhos",
                "hessian_examples")
    check_range(config, "noise_rate", 0.0, 1.0, low_inclusive=True)
    check_range(config, "seeds", 1, integer=True)
    for name in ("epochs", "batch_size", "hessian_examples", "lanczos_iterations",
                 "mlp_hidden", "cnn_channels", "num_samples_mnist1d"):
        check_range(config, name, 0, integer=True)
    check_range(config, "trace_samples", 1, integer=True)
    for name in ("mlp_learning_rates", "cnn_learning_rates", "langevin_betas"):
        check_range(config, name, 0.0)
    for name in ("sam_rhos", "asam_rhos", "weight_decay", "asam_eta"):
        check_range(config, name, 0.0, low_inclusive=True)
    check_dataset_fits(config)


def tuning_grid(method: str, model: str, params: dict) -> list[tuple[str, nn.Hyperparameters]]:
    """``(label, hyperparameters)`` of each configuration a method tries.

    Every method tries the model's learning rates; SGLD and fSGLD each beta of
    ``langevin_betas`` (fSGLD with sigma from the coupling at ``coupling_eta``), RWP the same
    sigmas without Langevin noise, SAM ``sam_rhos``, ASAM ``asam_rhos``; SGD nothing more.
    """
    configs = []
    for lr in params[f"{model}_learning_rates"]:
        if method == "sgd":
            configs.append((f"lr={lr:g}", nn.hyperparameters(lr)))
        for beta in params["langevin_betas"]:
            sigma = float(coupled_sigma(beta, params["coupling_eta"]))
            if method == "sgld":
                configs.append((f"lr={lr:g} beta={beta:g}", nn.hyperparameters(lr, beta=beta)))
            elif method == "fsgld":
                configs.append((f"lr={lr:g} beta={beta:g} sigma={sigma:.3g}",
                                nn.hyperparameters(lr, beta=beta, sigma=sigma)))
            elif method == "rwp":
                configs.append((f"lr={lr:g} sigma={sigma:.3g}",
                                nn.hyperparameters(lr, sigma=sigma)))
        for rho in params[f"{method}_rhos"] if method in ("sam", "asam") else []:
            configs.append((f"lr={lr:g} rho={rho:g}", nn.hyperparameters(lr, rho=rho)))
    return configs


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """Train every cell's grid x seeds, grouped by (dataset, model) and method family."""
    del keys  # seeds are shared across cells (common random numbers, see nn_common)
    rows = {cell.id: [] for cell in cells}
    groups = defaultdict(list)
    for cell in cells:
        groups[cell.params["dataset"], cell.params["model"]].append(cell)
    for (dataset_name, model_name), group in groups.items():
        for cell, cell_rows in zip(group, _run_group(config, dataset_name, model_name, group),
                                   strict=True):
            rows[cell.id] = cell_rows
    return [rows[cell.id] for cell in cells]


def _run_group(config, dataset_name, model_name, cells):
    p = config.params
    dataset = dataset_from_params(p, dataset_name)
    model = model_from_params(p, model_name, dataset)
    num_seeds = int(p["seeds"])
    noise_keys, train_keys = seed_keys(config.seed, num_seeds)
    labels = {(c.params["noise"], c.params["noise_rate"]): None for c in cells}
    labels = {setting: noisy_label_sets(noise_keys, dataset, *setting) for setting in labels}

    # runs[family] = [(cell index, config index, seed)], with their hyperparameters
    runs, hypers, grids = defaultdict(list), defaultdict(list), []
    for i, cell in enumerate(cells):
        grid = tuning_grid(cell.params["method"], model_name, p)
        grids.append(grid)
        family = nn.METHOD_FAMILY[cell.params["method"]]
        for j, (_, hyper) in enumerate(grid):
            for s in range(num_seeds):
                runs[family].append((i, j, s))
                hypers[family].append(hyper)

    metrics, trained, where = {}, {}, {}
    for family, members in runs.items():
        settings = [(cells[i].params["noise"], cells[i].params["noise_rate"])
                    for i, _, _ in members]
        seeds = np.array([s for _, _, s in members])
        train_labels = jnp.stack([labels[st][0][s] for st, s in zip(settings, seeds,
                                                                     strict=True)])
        val_labels = jnp.stack([labels[st][1][s] for st, s in zip(settings, seeds, strict=True)])
        hyper = jax.tree.map(lambda *xs: jnp.stack(xs), *hypers[family])
        params, m = nn.train_runs(family, model, dataset, train_keys[seeds], hyper, train_labels,
                                  val_labels, epochs=int(p["epochs"]),
                                  batch_size=int(p["batch_size"]),
                                  weight_decay=float(p["weight_decay"]),
                                  asam_eta=float(p["asam_eta"]))
        m = jax.tree.map(np.asarray, m)
        for r, member in enumerate(members):
            metrics[member] = {name: float(getattr(m, name)[r]) for name in m._fields}
            where[member] = (family, r)
        trained[family] = params

    selected = []
    for i, grid in enumerate(grids):
        val = [np.mean([metrics[i, j, s]["validation_accuracy"] for s in range(num_seeds)])
               for j in range(len(grid))]
        selected.append(int(np.argmax(val)))

    # Curvature of every cell's selected configuration, all seeds, in one batch.
    n_hessian = int(p["hessian_examples"])
    chosen = [(i, selected[i], s) for i in range(len(cells)) for s in range(num_seeds)]
    stacked = jax.tree.map(
        lambda *xs: jnp.stack(xs),
        *[jax.tree.map(lambda x, r=where[m][1]: x[r], trained[where[m][0]]) for m in chosen])
    hessian_labels = jnp.stack([
        labels[cells[i].params["noise"], cells[i].params["noise_rate"]][0][s][:n_hessian]
        for i, _, s in chosen])
    curvature_keys = jnp.stack([jax.random.fold_in(train_keys[s], 2) for _, _, s in chosen])
    curv = nn.curvature_runs(model, curvature_keys, stacked, dataset.train.x[:n_hessian],
                             hessian_labels, lanczos_iterations=int(p["lanczos_iterations"]),
                             trace_samples=int(p["trace_samples"]))
    curv = {m: {name: float(np.asarray(getattr(curv, name))[r]) for name in curv._fields}
            for r, m in enumerate(chosen)}

    out = []
    for i, grid in enumerate(grids):
        cell_rows = []
        for j, (label, _) in enumerate(grid):
            for s in range(num_seeds):
                tags = {"config": label, "seed": s, "selected": j == selected[i]}
                cell_rows += [{"measure": name, "value": value, **tags}
                              for name, value in metrics[i, j, s].items()]
                if j == selected[i]:
                    cell_rows += [{"measure": name, "value": value, **tags}
                                  for name, value in curv[i, j, s].items()]
        out.append(cell_rows)
    return out


def selected_runs(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, seed) of the selected configuration, a column per measure."""
    chosen = results[results.selected.astype(bool)]
    keys = [*SETTING, "method", "config", "seed"]
    wide = chosen.pivot_table(index=keys, columns="measure", values="value", sort=False)
    return wide.reset_index()


def per_setting(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of the selected configuration, per setting and method."""
    runs = selected_runs(results)
    grouped = runs.groupby([*SETTING, "method", "config"], sort=False)
    table = grouped.agg(
        test_mean=("test_accuracy", "mean"), test_std=("test_accuracy", "std"),
        n=("test_accuracy", "size"), validation_mean=("validation_accuracy", "mean"),
        train_mean=("train_accuracy", "mean"), top_eigenvalue=("top_eigenvalue", "mean"),
        top_eigenvalue_std=("top_eigenvalue", "std"), trace=("trace", "mean"),
        trace_std=("trace", "std"))
    return table.reset_index()


def _paired(table: pd.DataFrame, baseline: str, column: str, log: bool = False) -> pd.DataFrame:
    """Per setting: fSGLD's mean minus the baseline's (or the log ratio), with its standard
    error from the seeds' spread."""
    f = table[table.method == "fsgld"].set_index(SETTING)
    b = table[table.method == baseline].set_index(SETTING)
    joined = f.merge(b, left_index=True, right_index=True, suffixes=("_f", "_b"))
    if log:
        diff = np.log(joined[f"{column}_f"] / joined[f"{column}_b"])
        se = np.sqrt((joined[f"{column}_std_f"] / joined[f"{column}_f"]) ** 2 / joined.n_f
                     + (joined[f"{column}_std_b"] / joined[f"{column}_b"]) ** 2 / joined.n_b)
    else:
        diff = joined[f"{column}_mean_f"] - joined[f"{column}_mean_b"]
        se = np.sqrt(joined[f"{column}_std_f"] ** 2 / joined.n_f
                     + joined[f"{column}_std_b"] ** 2 / joined.n_b)
    return pd.DataFrame({"diff": diff, "se": se})


def _pooled(d: pd.DataFrame) -> tuple[float, float, int, int, int]:
    """Mean difference over settings and its standard error, the larger of the seed-noise SE
    (sqrt(sum se_i^2) / n) and the spread over settings (std / sqrt(n)); and how many settings
    are significantly above / below zero / neither (Z per-setting standard errors)."""
    n = len(d)
    mean = float(d["diff"].mean())
    seed_se = float(np.sqrt((d.se**2).sum()) / n)
    spread_se = float(d["diff"].std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    se = max(seed_se, spread_se) if n > 1 else seed_se
    above = int((d["diff"] > Z * d.se).sum())
    below = int((d["diff"] < -Z * d.se).sum())
    return mean, se, above, below, n - above - below


def _accuracy_verdicts(table: pd.DataFrame) -> tuple[list[Verdict], dict]:
    verdicts, fitted = [], {}
    for baseline in BASELINES:
        d = _paired(table, baseline, "test")
        if len(d) < 2:
            verdicts.append(Verdict(f"fSGLD matches or beats {baseline.upper()} (test accuracy)",
                                    "inconclusive", f"only {len(d)} setting(s) with both"))
            continue
        mean, se, better, worse, tied = _pooled(d)
        fitted[f"test_accuracy_gain_vs_{baseline}"] = mean
        fitted[f"test_accuracy_gain_vs_{baseline}_stderr"] = se
        reason = (f"fSGLD - {baseline.upper()} = {100 * mean:+.2f} ± {100 * se:.2f} pp over "
                  f"{len(d)} settings; significantly better in {better}, worse in {worse}, "
                  f"neither in {tied} ({Z:g} SE over seeds)")
        verdicts.append(Verdict(f"fSGLD matches or beats {baseline.upper()} (test accuracy)",
                                "consistent" if mean >= -Z * se else "inconsistent", reason))
        if baseline in ("sgd", "sam"):
            strict = ("consistent" if mean > Z * se else
                      "inconsistent" if mean < -Z * se else "inconclusive")
            verdicts.append(Verdict(f"fSGLD beats {baseline.upper()} (the headline's ranking)",
                                    strict, reason))
    return verdicts, fitted


def _flatness_verdicts(table: pd.DataFrame) -> tuple[list[Verdict], dict]:
    verdicts, fitted = [], {}
    for baseline in ("sgd", "sgld", "sam"):
        for column, name in (("top_eigenvalue", "top Hessian eigenvalue"),
                             ("trace", "Hessian trace")):
            d = _paired(table, baseline, column, log=True)
            claim = f"fSGLD reaches flatter minima than {baseline.upper()} ({name})"
            if len(d) < 2:
                verdicts.append(Verdict(claim, "inconclusive", f"only {len(d)} setting(s)"))
                continue
            mean, se, higher, lower, tied = _pooled(d)
            fitted[f"log_{column}_ratio_vs_{baseline}"] = mean
            verdict = ("consistent" if mean < -Z * se else
                       "inconsistent" if mean > Z * se else "inconclusive")
            verdicts.append(Verdict(claim, verdict, (
                f"mean log(fSGLD / {baseline.upper()}) = {mean:+.3f} ± {se:.3f} over {len(d)} "
                f"settings (ratio {np.exp(mean):.2f}); significantly lower in {lower}, higher "
                f"in {higher}, neither in {tied}")))
    return verdicts, fitted


def _wide(table: pd.DataFrame, cell) -> pd.DataFrame:
    wide = table.assign(shown=table.apply(cell, axis=1)).pivot_table(
        index=SETTING, columns="method", values="shown", aggfunc="first", sort=False)
    return wide[[m for m in METHODS if m in wide.columns]]


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table = per_setting(results)
    accuracy = _wide(table, lambda r: f"{100 * r.test_mean:.1f} ± {100 * r.test_std:.1f}")
    top = _wide(table, lambda r: f"{r.top_eigenvalue:.3g}")
    trace = _wide(table, lambda r: f"{r.trace:.3g}")
    chosen = _wide(table, lambda r: r.config)
    train = _wide(table, lambda r: f"{100 * r.train_mean:.0f}")
    overall = table.groupby("method", sort=False).test_mean.mean()
    n = int(table.n.min()) if len(table) else 0
    text = "\n\n".join([
        f"test accuracy (%), mean ± std over {n} seeds of the configuration selected on "
        "validation accuracy:\n" + accuracy.to_string(),
        "mean test accuracy over settings (%): " + ", ".join(
            f"{m} {100 * overall[m]:.2f}" for m in METHODS if m in overall),
        "train accuracy on the noisy labels (%), selected configuration:\n" + train.to_string(),
        "top Hessian eigenvalue of the noisy training loss (mean over seeds):\n"
        + top.to_string(),
        "Hessian trace (Hutchinson, mean over seeds):\n" + trace.to_string(),
        "selected configurations:\n" + chosen.to_string(),
    ])
    acc_verdicts, acc_fitted = _accuracy_verdicts(table)
    flat_verdicts, flat_fitted = _flatness_verdicts(table)
    overall_fitted = {f"mean_test_accuracy[{m}]": overall[m] for m in overall.index}
    return Summary(table=text, fitted={**overall_fitted, **acc_fitted, **flat_fitted},
                   verdicts=acc_verdicts + flat_verdicts)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """``accuracy``: test accuracy against noise rate, a panel per (dataset, model) and noise
    kind, error bars the std over seeds. ``hessian``: each method's top eigenvalue and trace
    relative to SGD's in the same setting (points: settings; bars: geometric means; log)."""
    table = per_setting(results)
    methods = [m for m in METHODS if m in set(table.method)]
    combos = list(dict.fromkeys(zip(table.dataset, table.model, strict=True)))
    kinds = list(dict.fromkeys(table.noise))
    fig, axes = new_figure(len(combos), len(kinds), width_in=PAGE_WIDTH_IN, aspect=0.55,
                           squeeze=False, sharex=True)
    offsets = np.linspace(-0.012, 0.012, len(methods))
    for row, (dataset, model) in enumerate(combos):
        for col, kind in enumerate(kinds):
            ax = axes[row, col]
            part = table[(table.dataset == dataset) & (table.model == model)
                         & (table.noise == kind)]
            for offset, method in zip(offsets, methods, strict=True):
                m = part[part.method == method].sort_values("noise_rate")
                ax.errorbar(m.noise_rate + offset, 100 * m.test_mean, yerr=100 * m.test_std,
                            marker="o", capsize=2, **style_for(method))
            ax.set_title(f"{dataset}, {model.upper()}, {kind} noise")
            ax.set_ylabel("test accuracy (%)")
            if row == len(combos) - 1:
                ax.set_xlabel("noise rate")
    axes[0, 0].legend(ncol=3, fontsize="x-small")
    paths = save_figure(fig, out_dir, "accuracy")

    fig, axes = new_figure(1, 2, width_in=PAGE_WIDTH_IN, aspect=0.5)
    base = table[table.method == "sgd"].set_index(SETTING)
    for ax, column, name in ((axes[0], "top_eigenvalue", "(a) top Hessian eigenvalue"),
                             (axes[1], "trace", "(b) Hessian trace")):
        for x, method in enumerate(methods):
            m = table[table.method == method].set_index(SETTING)
            ratio = (m[column] / base[column]).dropna()
            jitter = np.linspace(-0.15, 0.15, len(ratio)) if len(ratio) > 1 else [0.0]
            ax.scatter(x + np.asarray(jitter), ratio, s=8, color=style_for(method)["color"])
            if len(ratio):
                ax.plot([x - 0.25, x + 0.25], [np.exp(np.log(ratio).mean())] * 2, color="k",
                        linewidth=1.2)
        ax.axhline(1.0, color="0.5", linestyle=":", linewidth=0.8)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
        ax.set_xticks(range(len(methods)), [style_for(m)["label"] for m in methods])
        ax.set_ylabel("relative to SGD (same setting)")
        ax.set_title(name)
    return paths + save_figure(fig, out_dir, "hessian")

"""Figures of the nn-noisy-labels experiment
(:mod:`sgldsim.experiments.fsgld_networks.nn_noisy_labels`): test accuracy per arm, fSGLD's
paired differences (the decomposition among them), and Hessian curvature relative to the
best-tuned SGD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
from scipy import stats

from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure, style_for

SHOWN = ("sgd_best", "sgld", "rwp", "fsgld", "sam", "asam")
"""The arms the accuracy and curvature figures draw (SGD as its best-tuned arm)."""
DIFFERENCES = (("fsgld", "sgd_best"), ("fsgld", "sgld"), ("fsgld", "rwp"), ("fsgld", "sam"),
               ("fsgld", "asam"), ("fsgld", "rwp@fsgld"), ("fsgld", "sgld@fsgld"),
               ("rwp", "sgd_best"), ("sgld", "sgd_best"), ("fsgld[paper]", "sgd_best"),
               ("fsgld[hot]", "sgd_best"))
"""The paired differences of the ``differences`` figure, top to bottom."""
SHORT = {"sgd_best": "SGD*", "sgld": "SGLD", "rwp": "RWP", "fsgld": "fSGLD", "sam": "SAM",
         "asam": "ASAM", "rwp@fsgld": "RWP(σ of fSGLD)", "sgld@fsgld": "SGLD(β of fSGLD)",
         "fsgld[paper]": "fSGLD(β≥1e7)", "fsgld[hot]": "fSGLD(β<1e7)"}


def _style(arm: str) -> dict:
    style = style_for("sgd" if arm == "sgd_best" else arm)
    if arm == "sgd_best":
        style["label"] = "SGD, best tuned"
    return style


def _half_width(values: np.ndarray) -> float:
    """Half-width of the 95 % t interval of the mean of ``values``."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        return np.nan
    return float(stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))


def noisy_labels_figures(end: pd.DataFrame, early: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``accuracy``: test accuracy against noise rate per arm (mean and 95 % t interval over
    seeds), a row per task and noise kind, a column per outcome (end of training, early
    stopping). ``differences``: fSGLD's paired differences (and RWP's, SGLD's) per task at the
    end of training: a small marker per setting, the task's mean with its 95 % interval (seeds
    as units). ``hessian``: each arm's top eigenvalue and trace relative to the best-tuned SGD's
    (points: settings; bars: geometric means; log).

    Args:
      end, early: per-arm runs (``nn_noisy_labels.arm_runs``) of the two outcomes.
      out_dir: where the PNG and PDF files go.
    """
    panels = list(dict.fromkeys(zip(end.task, end.noise, strict=True)))
    fig, axes = new_figure(len(panels), 2, width_in=PAGE_WIDTH_IN, aspect=0.6,
                           squeeze=False, sharex=True)
    arms = [a for a in SHOWN if a in set(end.arm)]
    offsets = np.linspace(-0.015, 0.015, len(arms))
    for col, (runs, title) in enumerate(((end, "end of training"), (early, "early stopping"))):
        for row, (task, kind) in enumerate(panels):
            ax = axes[row, col]
            part = runs[(runs.task == task) & (runs.noise == kind)]
            for offset, arm in zip(offsets, arms, strict=True):
                by_rate = part[part.arm == arm].groupby("noise_rate").test
                rates = np.array(sorted(by_rate.groups))
                means = by_rate.mean().loc[rates].to_numpy()
                errors = [_half_width(by_rate.get_group(r).to_numpy(float)) for r in rates]
                ax.errorbar(rates + offset, 100 * means, yerr=100 * np.asarray(errors),
                            marker="o", markersize=3, capsize=2, **_style(arm))
            ax.set_title(f"{task}, {kind} noise: {title}", fontsize="small")
            ax.set_ylabel("test accuracy (%)")
            if row == len(panels) - 1:
                ax.set_xlabel("noise rate")
    axes[0, 0].legend(ncol=2, fontsize="x-small")
    paths = save_figure(fig, out_dir, "accuracy")

    tasks = list(dict.fromkeys(end.task))
    fig, axes = new_figure(1, len(tasks), width_in=PAGE_WIDTH_IN, aspect=0.75, squeeze=False,
                           sharey=True)
    shown = [(a, b) for a, b in DIFFERENCES if {a, b} <= set(end.arm)]
    for ax, task in zip(axes[0], tasks, strict=True):
        part = end[end.task == task]
        for y, (a, b) in enumerate(shown):
            keys = ["noise", "noise_rate", "seed"]
            pairs = part[part.arm == a][[*keys, "test"]].merge(
                part[part.arm == b][[*keys, "test"]], on=keys, suffixes=("_a", "_b"))
            diff = 100 * (pairs.test_a - pairs.test_b)
            settings = pairs.assign(d=diff).groupby(["noise", "noise_rate"]).d.mean()
            ax.scatter(settings, np.full(len(settings), y) + np.linspace(
                -0.15, 0.15, len(settings)), s=10, color="0.55", zorder=2)
            per_seed = pairs.assign(d=diff).groupby("seed").d.mean().to_numpy()
            ax.errorbar(per_seed.mean(), y, xerr=_half_width(per_seed), color="k", marker="o",
                        markersize=4, capsize=3, zorder=3)
        ax.axvline(0.0, color="0.5", linestyle=":", linewidth=0.8)
        ax.set_yticks(range(len(shown)), [f"{SHORT[a]} − {SHORT[b]}" for a, b in shown],
                      fontsize="x-small")
        ax.set_xlabel("difference in test accuracy (pp)")
        ax.set_title(f"{task}, end of training", fontsize="small")
    axes[0, 0].invert_yaxis()  # the first comparison on top (the axes share y: invert once)
    fig.legend(handles=[
        Line2D([], [], color="0.55", marker="o", linestyle="none", markersize=3,
               label="one noise setting (mean over seeds)"),
        Line2D([], [], color="k", marker="o", label="task: mean, 95 % interval (seeds as units)")],
        fontsize="x-small", loc="outside lower center", ncol=2)
    paths += save_figure(fig, out_dir, "differences")

    fig, axes = new_figure(1, 2, width_in=PAGE_WIDTH_IN, aspect=0.5)
    keys = ["task", "noise", "noise_rate"]
    means = end.groupby([*keys, "arm"])[["top_eigenvalue", "trace"]].mean()
    for ax, column, name in ((axes[0], "top_eigenvalue", "(a) top Hessian eigenvalue"),
                             (axes[1], "trace", "(b) Hessian trace")):
        base = means[column].xs("sgd_best", level="arm")
        for x, arm in enumerate(arms):
            if arm not in means.index.get_level_values("arm"):
                continue
            ratio = (means[column].xs(arm, level="arm") / base).dropna()
            jitter = np.linspace(-0.15, 0.15, len(ratio)) if len(ratio) > 1 else [0.0]
            ax.scatter(x + np.asarray(jitter), ratio, s=8, color=_style(arm)["color"])
            if len(ratio):
                ax.plot([x - 0.25, x + 0.25], [np.exp(np.log(ratio).mean())] * 2, color="k",
                        linewidth=1.2)
        ax.axhline(1.0, color="0.5", linestyle=":", linewidth=0.8)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
        ax.yaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks overlapped
        ax.set_xticks(range(len(arms)), [SHORT[a] for a in arms], fontsize="x-small")
        ax.set_ylabel("relative to SGD, best tuned")
        ax.set_title(name)
    return paths + save_figure(fig, out_dir, "hessian")

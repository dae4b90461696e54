"""Figures of the nn-noisy-labels experiment
(:mod:`sgldsim.experiments.fsgld_networks.nn_noisy_labels`): test accuracy against noise rate,
and Hessian curvature relative to SGD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure, style_for


def noisy_labels_figures(table: pd.DataFrame, methods: list[str], setting: list[str],
                         out_dir: Path) -> list[Path]:
    """``accuracy``: test accuracy at the end of training against noise rate (points with error
    bars: std over seeds; dashes: at the best validation epoch), a panel per task and noise
    kind. ``hessian``: each method's top eigenvalue and trace
    relative to SGD's in the same setting (points: settings; bars: geometric means; log).

    Args:
      table: the per-setting table (``nn_noisy_labels.per_setting``).
      methods: the methods to draw, in legend order.
      setting: the columns that identify a setting (task, noise, noise rate).
      out_dir: where the PNG and PDF files go.
    """
    combos = list(dict.fromkeys(table.task))
    kinds = list(dict.fromkeys(table.noise))
    fig, axes = new_figure(len(combos), len(kinds), width_in=PAGE_WIDTH_IN, aspect=0.55,
                           squeeze=False, sharex=True)
    offsets = np.linspace(-0.012, 0.012, len(methods))
    for row, task in enumerate(combos):
        for col, kind in enumerate(kinds):
            ax = axes[row, col]
            part = table[(table.task == task) & (table.noise == kind)]
            for offset, method in zip(offsets, methods, strict=True):
                m = part[part.method == method].sort_values("noise_rate")
                ax.errorbar(m.noise_rate + offset, 100 * m.test_mean, yerr=100 * m.test_std,
                            marker="o", capsize=2, **style_for(method))
                ax.scatter(m.noise_rate + offset, 100 * m.best_test_mean, marker="_", s=30,
                           color=style_for(method)["color"])
            ax.set_title(f"{task}, {kind} noise")
            ax.set_ylabel("test accuracy (%)")
            if row == len(combos) - 1:
                ax.set_xlabel("noise rate")
    axes[0, 0].legend(ncol=3, fontsize="x-small")
    paths = save_figure(fig, out_dir, "accuracy")

    fig, axes = new_figure(1, 2, width_in=PAGE_WIDTH_IN, aspect=0.5)
    base = table[table.method == "sgd"].set_index(setting)
    for ax, column, name in ((axes[0], "top_eigenvalue_mean", "(a) top Hessian eigenvalue"),
                             (axes[1], "trace_mean", "(b) Hessian trace")):
        for x, method in enumerate(methods):
            m = table[table.method == method].set_index(setting)
            ratio = (m[column] / base[column]).dropna()
            jitter = np.linspace(-0.15, 0.15, len(ratio)) if len(ratio) > 1 else [0.0]
            ax.scatter(x + np.asarray(jitter), ratio, s=8, color=style_for(method)["color"])
            if len(ratio):
                ax.plot([x - 0.25, x + 0.25], [np.exp(np.log(ratio).mean())] * 2, color="k",
                        linewidth=1.2)
        ax.axhline(1.0, color="0.5", linestyle=":", linewidth=0.8)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
        ax.yaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks overlapped
        ax.set_xticks(range(len(methods)), [style_for(m)["label"] for m in methods])
        ax.set_ylabel("relative to SGD (same setting)")
        ax.set_title(name)
    return paths + save_figure(fig, out_dir, "hessian")

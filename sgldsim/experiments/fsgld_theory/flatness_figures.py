"""Figures of the flatness experiment (:mod:`sgldsim.experiments.fsgld_theory.flatness`): heat
maps of the flat-basin masses, the masses along the coupling, and the particle runs."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import patheffects

from ...coupling import coupled_sigma
from ...figures.style import LABELS, PAGE_WIDTH_IN, color_for, new_figure, save_figure
from ...measures.flatness import MEASURE_NAMES, SHIFT_LIMIT, laplace_boundary

ETA_PALETTE = ("#EE3377", "#EE7733", "#33BBEE", "#009988", "#CC3311")


def flatness_figures(tables: dict[str, pd.DataFrame], coupling_etas,
                     out_dir: Path) -> list[Path]:
    """flatness_maps: flat-basin mass heat maps of pi_beta, pi^f, pi* (rows: depth gaps) with
    the coupling curves for ``coupling_etas``, the Laplace boundary L = 0 and the particle runs'
    grid points; flatness_coupling: m(pi*) against beta along each coupling; flatness_particles:
    the flat fraction over time against the exact laws, and the survival in the sharp well.

    Args:
      tables: the experiment's tables (``landscape``, ``map``, ``coupling``; ``particles`` and
        ``trace`` where particles ran).
      coupling_etas: the coupling exponents eta whose curves the heat maps show.
      out_dir: where the figures are written.
    """
    paths = _map_figure(tables, coupling_etas, out_dir) + _coupling_figure(tables, out_dir)
    if "particles" in tables:
        paths += _particle_figure(tables, out_dir)
    return paths


def _log_edges(values) -> np.ndarray:
    """Cell edges for a pcolormesh on log axes: geometric midpoints, extrapolated at the ends."""
    v = np.log(np.sort(np.asarray(values, dtype=float)))
    if v.size == 1:
        return np.exp(v[0] + np.array([-0.5, 0.5]))
    mid = 0.5 * (v[1:] + v[:-1])
    return np.exp(np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]]))


def _eta_colors(etas) -> dict[float, str]:
    """A colour per eta that stands out on every viridis cell (Paul Tol's vibrant scheme)."""
    return {e: ETA_PALETTE[i % len(ETA_PALETTE)] for i, e in enumerate(etas)}


def _map_figure(tables: dict, etas, out_dir: Path) -> list[Path]:
    grid, land = tables["map"], tables["landscape"]
    gaps = sorted(grid.depth_gap.unique())
    fig, axes = new_figure(len(gaps), 3, width_in=PAGE_WIDTH_IN, aspect=0.85, squeeze=False,
                           sharex=True, sharey=True)
    colors = _eta_colors(etas)
    beta_edges, sigma_edges = _log_edges(grid.beta.unique()), _log_edges(grid.sigma.unique())
    fine = np.geomspace(beta_edges[0], beta_edges[-1], 200)
    particles = tables.get("particles")
    for row, gap in zip(axes, gaps, strict=True):
        group = grid[grid.depth_gap == gap]
        for ax, name in zip(row, MEASURE_NAMES, strict=True):
            values = group.pivot(index="sigma", columns="beta", values=f"flat_mass_{name}")
            mesh = ax.pcolormesh(beta_edges, sigma_edges, values.to_numpy(), cmap="viridis",
                                 vmin=0.0, vmax=1.0, shading="flat")
            for eta in etas:  # a dark edge keeps light curves visible on the bright cells
                ax.plot(fine, coupled_sigma(fine, eta), color=colors[eta], linewidth=1.2,
                        label=rf"coupling $\eta$ = {eta:g}",
                        path_effects=[patheffects.withStroke(linewidth=2.2, foreground="0.1")])
            if gap > 0 and name != "pi_beta":
                numbers = land.loc[gap]
                boundary = laplace_boundary(fine, numbers.depth_difference,
                                            numbers.trace_difference, numbers.entropic_log_odds)
                ax.plot(fine, boundary, color="white",
                        linestyle="--", linewidth=1.0, label=r"Laplace boundary $L = 0$")
            if particles is not None and name == "pi_f":
                runs = particles[(particles.depth_gap == gap) & (particles.method == "fsgld")]
                ax.plot(runs.beta, runs.sigma, "x", color="white", markersize=5,
                        label="particle runs")
            ax.set(xscale="log", yscale="log", xlim=beta_edges[[0, -1]],
                   ylim=sigma_edges[[0, -1]], title=rf"{LABELS[name]}, $\delta$ = {gap:g}")
            ax.grid(False)
        row[0].set_ylabel(r"perturbation $\sigma$")
    for ax in axes[-1]:
        ax.set_xlabel(r"inverse temperature $\beta$")
    fig.colorbar(mesh, ax=axes, label="flat-basin mass", shrink=0.8)
    handles = {h.get_label(): h for ax in axes.flat for h in ax.get_lines()}
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=5,
               fontsize="x-small", facecolor="0.85", frameon=True)
    return save_figure(fig, out_dir, "flatness_maps")


def _coupling_figure(tables: dict, out_dir: Path) -> list[Path]:
    coupling, land = tables["coupling"], tables["landscape"]
    spacing = land.x_flat - land.x_sharp
    gaps = sorted(coupling.depth_gap.unique())
    fig, axes = new_figure(1, len(gaps), width_in=PAGE_WIDTH_IN * 0.85, aspect=0.8,
                           squeeze=False, sharey=True)
    etas = sorted(coupling.eta.unique())
    colors = _eta_colors(etas)
    for ax, gap in zip(axes[0], gaps, strict=True):
        group = coupling[coupling.depth_gap == gap]
        for eta in etas:
            curve = group[group.eta == eta].sort_values("beta")
            ax.plot(curve.beta, curve.flat_mass_pi_star, marker="o", color=colors[eta],
                    label=rf"$\pi^*$, $\eta$ = {eta:g}")
            moved = curve[curve.v_minimum_shift > SHIFT_LIMIT * spacing.loc[gap]]
            ax.plot(moved.beta, moved.flat_mass_pi_star, "o", color=colors[eta],
                    markerfacecolor="white", label=r"$v$'s minima moved (false wells)")
            ax.plot(curve.beta, curve.flat_mass_pi_f, color=colors[eta], linewidth=0.7,
                    linestyle=":", label=rf"$\pi^f$, $\eta$ = {eta:g}")
            if gap > 0:
                crossing = _log_odds_crossing(curve)
                if crossing is not None:
                    ax.axvline(crossing, color=colors[eta], linewidth=0.6, linestyle="--")
        base = group[group.eta == etas[0]].sort_values("beta")
        ax.plot(base.beta, base.flat_mass_pi_beta, color=color_for("pi_beta"), linestyle="--",
                label=r"$\pi_\beta$ (SGLD)")
        title = rf"$\delta$ = {gap:g}" + (r" (dashed: Laplace $L = 0$)" if gap > 0 else "")
        ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel=r"inverse temperature $\beta$",
               title=title)
    axes[0, 0].set_ylabel(r"flat-basin mass, $\sigma = \beta^{-(1+\eta)/4}$")
    handles = {h.get_label(): h for h in axes[0, 0].get_lines()}
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=4,
               fontsize="x-small")
    return save_figure(fig, out_dir, "flatness_coupling")


def _log_odds_crossing(curve: pd.DataFrame) -> float | None:
    """beta where the Laplace log-odds L changes sign from + to - along a coupling curve
    (log-linear interpolation), or None."""
    sign = np.sign(curve.log_odds.to_numpy())
    down = np.flatnonzero((sign[:-1] > 0) & (sign[1:] < 0))
    if not down.size:
        return None
    i = down[-1]
    b, odds = np.log(curve.beta.to_numpy()[i:i + 2]), curve.log_odds.to_numpy()[i:i + 2]
    return float(np.exp(b[0] + (b[1] - b[0]) * odds[0] / (odds[0] - odds[1])))


def _particle_figure(tables: dict, out_dir: Path) -> list[Path]:
    particles, trace = tables["particles"], tables["trace"]
    gaps = sorted(particles.depth_gap.unique())
    fig, axes = new_figure(len(gaps), 2, width_in=PAGE_WIDTH_IN * 0.85, aspect=0.75,
                           squeeze=False, sharex="col")
    for (ax_frac, ax_surv), gap in zip(axes, gaps, strict=True):
        runs = particles[particles.depth_gap == gap]
        for k, run in enumerate(runs.itertuples()):
            color = _run_color(run.method, k)
            label = _run_label(run)
            curve = trace[(trace.depth_gap == gap) & (trace.method == run.method)
                          & (trace.beta == run.beta) & (trace.sigma == run.sigma)]
            ax_frac.plot(curve.step, curve.flat_fraction, color=color, linewidth=0.8,
                         label=label)
            ax_frac.axhline(run.flat_mass_chain, color=color, linewidth=1.0, linestyle="--")
            ax_frac.axhline(run.flat_mass_small_step, color=color, linewidth=1.0,
                            linestyle=":")
            ax_surv.plot(curve.step, curve.survival, color=color, label=label)
        levels = pd.concat([runs.flat_mass_chain, runs.flat_mass_small_step])
        ax_frac.set(ylabel="flat fraction", ylim=(levels.min() - 0.12, levels.max() + 0.05),
                    title=rf"$\delta$ = {gap:g}: particles from $x_s$ (zoom)")
        ax_surv.set(yscale="log", ylabel=r"P(not yet left the sharp well)",
                    title=rf"$\delta$ = {gap:g}: exit times")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    axes[0, 0].plot([], [], color="0.3", linestyle="--", label="exact chain law")
    axes[0, 0].plot([], [], color="0.3", linestyle=":",
                    label=r"$\pi^f$ ($\pi_\beta$ for SGLD)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=5,
               fontsize="x-small")
    return save_figure(fig, out_dir, "flatness_particles")


def _run_color(method: str, index: int):
    if method == "sgld":
        return color_for("sgld")
    return matplotlib.colormaps["Reds"](0.55 + 0.15 * (index % 3))


def _run_label(run) -> str:
    name = "SGLD" if run.method == "sgld" else rf"fSGLD $\sigma$={run.sigma:g}"
    return rf"{name}, $\beta$={run.beta:g}"

"""Convergence over time (Thm 3.5): Wasserstein distance from the particle law to pi* and pi^f.

N independent fSGLD chains start at one point x0 and run with several step sizes (one compiled
call over the step-size cells). At recorded steps k, the particles (iid draws of Law(theta_k))
are compared with

* pi* ∝ exp(-beta v) and pi^f ∝ exp(-beta g_sigma) (docs/theory.md §2), and
* the chain's own invariant law (``chain_invariant``: exact, no particle noise),

in W1 and W2, beside the noise floor of N iid draws. The theorem's bound,

    W1(Law(theta_k), pi*) <= D1 exp(-c lam k / 2) + D2 lam^(1/2) + Dbias,

reads here: the distance to the chain law decays exponentially in the time lam k at a rate that
does not vanish with lam (first term); the plateau is the stationary distance
W(chain, pi*) <= W(chain, pi^f) + W(pi^f, pi*), a discretisation part O(lam^(1/2)) (W2:
O(lam^(1/4))) plus the smoothing bias Dbias = W(pi^f, pi*). The transient is tested for
exponential decay (:func:`sgldsim.verdicts.exponential_decay`: a convex log(W1 - floor), as a power
law or 1 / log t would give, or growth, is "inconsistent") on W1(particles, chain) minus its noise
floor, from the end of the ballistic phase (:func:`..common.fits.ballistic_end`, fixed by the
landscape and x0) until the excess sinks into the floor's spread; the plateau is the mean over the
last quarter of the records, tested against the floor with the records' spread
(:func:`sgldsim.verdicts.matches_reference`); the discretisation part of the plateau against
Thm 3.5's exponents (:func:`sgldsim.verdicts.power_law_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from ..._memory import MemoryEstimate
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure
from ...measures.stationary import ORDERS
from ...potentials.catalogue import landscape
from ...runner import Cell, ExperimentConfig, Summary
from ...runner.summary import UPPER_BOUND
from ...verdicts import Verdict, exponential_decay, matches_reference, power_law_bound
from ..common.fits import (
    LEVEL,
    STEP_SIZE_EXPONENTS,
    ballistic_end,
    decay_verdict,
    settling_verdict,
    transient_left,
)
from ..common.particle_runs import (
    FLOOR_REPEATS,
    TransientRunParams,
    cell_references,
    distance_rows,
    exact_distances,
    exact_rows,
    floor_rows,
    floor_table,
    particle_memory,
    particle_series,
    per_cell_parameters,
    record_schedule,
    simulate_cells,
    validate_transient_config,
)

CHUNK_SIZE = 8
LATE_FRACTION = 0.25  # the plateau is the mean over this last fraction of the records
REFERENCES = ("chain", "pi_f", "pi_star")


@dataclass(frozen=True, kw_only=True)
class Params(TransientRunParams):
    """convergence's parameters (each may be swept in ``[grid]`` unless marked fixed).

    Attributes:
      potential: the 1-D landscape (:func:`sgldsim.potentials.catalogue.landscape`); fixed.
      step_size: lam; finite and > 0 (required: the shipped run sweeps it).
      beta: inverse temperature; finite and > 0.
      sigma_rule: ``"sigma=<s>"`` (a fixed sigma; 0 is SGLD) or ``"eta=<e>"`` (coupled,
        sigma = beta^(-(1+eta)/4)).
      x0: every particle's start (fixed).
      n_particles: independent chains per cell (fixed); >= 2.
      n_steps: steps per run (fixed); >= 1.
      n_records: recorded steps, half linearly, half geometrically spaced, step 0 included
        (fixed); 2 <= n_records <= n_steps + 1.
    """

    beta: float = 3.0
    sigma_rule: str = "sigma=0.2"
    x0: float = 2.0
    n_particles: int = 5000
    n_steps: int = 64_000
    n_records: int = 81


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    validate_transient_config(config, Params)


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: its one simulate call and the distances' float64 copy
    (:func:`~sgldsim.experiments.common.particle_runs.particle_memory`)."""
    p = Params.from_config(config)
    return particle_memory(cells, p.n_particles, p.n_records)


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """One simulation for the chunk; per cell the particle distances at every record, the exact
    distances between the chain law, pi^f and pi*, and the noise floors."""
    params = [Params.from_cell(c) for c in cells]
    p = params[0]  # the fixed parameters are the same in every cell
    u = landscape(p.potential)
    x0 = np.full((p.n_particles, 1), p.x0)
    record_at = record_schedule(p.n_steps, p.n_records, "mixed")
    particles, steps, diverged = simulate_cells(u, params, keys, x0, p.n_steps, record_at)
    references = cell_references(u, params)
    floors = floor_rows(references, p.n_particles, keys)
    return [[{"measure": "diverged_at", "value": float(diverged[i])}, *exact_rows(refs),
             *floors[i], *distance_rows(particles[i], steps, refs, int(diverged[i]))]
            for i, refs in enumerate(references)]


def _analysis(results: pd.DataFrame, config: ExperimentConfig
              ) -> tuple[pd.DataFrame, list]:
    """(one row per cell: fitted rate, plateaus and their floors, exact stationary distances;
    the W1 transient's :class:`~sgldsim.verdicts.ExponentialDecay` per cell, in row order)."""
    fixed = Params.from_config(config)
    cells = per_cell_parameters(results, config, fixed)
    series, exact, floors = particle_series(results), exact_distances(results), floor_table(results)
    start = ballistic_end(landscape(fixed.potential), fixed.x0)
    rows, decays = [], []
    for cell in cells.itertuples():
        s = series[series.cell_id == cell.cell_id]
        f = floors[floors.cell_id == cell.cell_id].set_index("target")
        e = exact[exact.cell_id == cell.cell_id].set_index(["source", "target"])
        row = {"cell_id": cell.cell_id, "step_size": cell.step_size, "beta": cell.beta,
               "sigma": cell.sigma}
        to_chain = s[s.target == "chain"].sort_values("step")
        time = (cell.step_size * to_chain.step).to_numpy()
        late_from = s.step.max() * (1 - LATE_FRACTION)
        for p in ORDERS:  # W1 decides the verdict; each order's fit predicts its late transient
            w, floor = to_chain[f"w{p}"].to_numpy(), f[f"w{p}_floor"]["chain"]
            fit = exponential_decay(time, w, floor=floor, y_stderr=f[f"w{p}_floor_std"]["chain"],
                                    start=start, level=LEVEL / len(cells))
            end = np.searchsorted(time, fit.t_end)
            row[f"transient_late_w{p}"] = (np.nan if fit.n == 0 else transient_left(
                fit.t_end, w[min(end, len(w) - 1)] - floor, fit.rate,
                cell.step_size * late_from))
            if p == 1:
                decays.append(fit)
                row |= {"rate": 2 * fit.rate, "rate_stderr": 2 * fit.rate_stderr,
                        "curvature": fit.curvature, "curvature_stderr": fit.curvature_stderr,
                        "fit_points": fit.n, "fit_from": fit.t_start, "fit_to": fit.t_end}
        for target in REFERENCES:
            late = s[(s.target == target) & (s.step >= late_from)]
            for p in ORDERS:
                row[f"late_w{p}_{target}"] = late[f"w{p}"].mean()
                row[f"late_w{p}_{target}_se"] = late[f"w{p}"].std(ddof=1) / np.sqrt(len(late))
                row[f"floor_w{p}_{target}"] = f[f"w{p}_floor"][target]
                row[f"floor_w{p}_{target}_std"] = f[f"w{p}_floor_std"][target]
        for p in ORDERS:
            for source, target in (("chain", "pi_f"), ("chain", "pi_star"), ("pi_f", "pi_star")):
                row[f"exact_w{p}_{source}_{target}"] = e[f"w{p}"][(source, target)]
        rows.append(row)
    return pd.DataFrame(rows), decays


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table, decays = _analysis(results, config)
    diverged = results[(results.measure == "diverged_at") & (results.value >= 0)]
    verdicts = [decay_verdict(
        "W1(Law(theta_k), chain law) <= D1 exp(-c lam k / 2) for all lam (Thm 3.5, first term)",
        table.step_size, decays, rate_factor=2), _plateau_verdict(table)]
    fitted = {f"rate[lam={r.step_size:g}]": r.rate for r in table.itertuples()}
    for (beta, sigma), group in table.groupby(["beta", "sigma"], sort=False):
        for p in ORDERS:
            claim = (f"plateau's discretisation part W{p}(chain, pi^f) = "
                     f"O(lam^{STEP_SIZE_EXPONENTS[p]:g}) at beta={beta:g}, sigma={sigma:.3g}")
            fit = power_law_bound(group.step_size, group[f"exact_w{p}_chain_pi_f"],
                                  STEP_SIZE_EXPONENTS[p], limit="zero", level=LEVEL,
                                  claim=claim)
            bias = group[f"exact_w{p}_pi_f_pi_star"].iloc[0]
            verdicts.append(fit.verdict._replace(reason=fit.verdict.reason + (
                f"; smoothing bias Dbias = W{p}(pi^f, pi*) = {bias:.4g}, so the plateau to pi* "
                f"is W{p}(chain, pi*) in [{group[f'exact_w{p}_chain_pi_star'].min():.4g}, "
                f"{group[f'exact_w{p}_chain_pi_star'].max():.4g}]")))
            if np.isfinite(fit.exponent):
                fitted[f"plateau_exponent_w{p}[beta={beta:g}]"] = fit.exponent
                fitted[f"plateau_exponent_w{p}_stderr[beta={beta:g}]"] = fit.stderr
    if len(diverged):
        verdicts.append(Verdict("the chains stay finite", "inconsistent",
                                f"{len(diverged)} cells diverged (records after it are dropped)"))
    shown = table[["step_size", "rate", "rate_stderr", "curvature", "curvature_stderr",
                   "fit_points", "late_w1_chain", "floor_w1_chain", "late_w2_chain",
                   "floor_w2_chain", "late_w1_pi_star", "exact_w1_chain_pi_star",
                   "late_w2_pi_star", "exact_w2_chain_pi_star", "exact_w1_chain_pi_f",
                   "exact_w2_chain_pi_f"]]
    text = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    return Summary(table=text, fitted=fitted, verdicts=verdicts, legend=LEGEND)


LEGEND = {
    "step_size": "lam, the step size of the cell",
    "rate": "c fitted to W1(particles, chain law) ~ exp(-c lam k / 2) over the transient"
            " (Thm 3.5's first term)",
    "rate_stderr": "standard error of the fitted rate",
    "curvature, curvature_stderr": "curvature of log(W1 - floor) in lam k over the window and its"
                                   " standard error\n(0 for an exponential, > 0 for a slower"
                                   " decay such as a power law)",
    "fit_points": "records in the transient window (from the end of the ballistic phase, fixed by"
                  " the landscape and x0,\nuntil W1 - floor sinks below 3 floor standard"
                  " deviations)",
    "late_w<p>_<target>": f"mean W_p(particles, target) over the last {LATE_FRACTION:.0%} of"
                          " records; targets:"
                          " chain = the exact\ninvariant law of the discrete chain, pi_star = pi*",
    "floor_w<p>_chain": "particle floor: W_p between N iid draws of the chain law and the law"
                        " itself (mean of repeats)",
    "exact_w<p>_chain_<target>": "exact W_p between the chain's invariant law and pi^f (pi_f)"
                                 " or pi* (pi_star):\nthe plateau the particles should reach",
    "consistent": UPPER_BOUND,
}


def _plateau_verdict(table: pd.DataFrame) -> Verdict:
    """Late W(particles, chain law) at the noise floor, for W1 and W2 in every cell: a one-sided
    :func:`~sgldsim.verdicts.matches_reference` with standard error late SE + floor std /
    sqrt(repeats) (a sum, not a quadrature: the late records share their particles)."""
    late = np.concatenate([table[f"late_w{p}_chain"] for p in ORDERS])
    floor = np.concatenate([table[f"floor_w{p}_chain"] for p in ORDERS])
    scale = np.concatenate([table[f"late_w{p}_chain_se"]
                            + table[f"floor_w{p}_chain_std"] / np.sqrt(FLOOR_REPEATS)
                            for p in ORDERS])
    left = np.concatenate([table[f"transient_late_w{p}"] for p in ORDERS])
    match = matches_reference(late, floor, scale, side="above", level=LEVEL, claim=(
        "the particle law settles on the chain's invariant law (the plateau is the stationary "
        "bias)"))
    detail = "; ".join(
        f"lam={r.step_size:g}: W1 {r.late_w1_chain:.4f} vs floor {r.floor_w1_chain:.4f}, "
        f"W2 {r.late_w2_chain:.4f} vs {r.floor_w2_chain:.4f}" for r in table.itertuples())
    return settling_verdict(match, left, scale, "late W(particles, chain law) (W1 then W2 per "
                            f"cell) vs floor: {detail}", side="above")


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """Rows W1, W2. Columns: distance to pi^f and to pi* against k (dashed: the exact chain
    plateau; grey band: noise floor), and to the chain law against lam k with the fitted
    exponentials floor + D exp(-c lam k / 2) over each window (the collapse of the step sizes
    onto one rate)."""
    series, table = particle_series(results), _analysis(results, config)[0]
    lams = sorted(table.step_size)
    cmap = matplotlib.colormaps["viridis"]
    colours = {lam: cmap(0.9 * i / max(len(lams) - 1, 1)) for i, lam in enumerate(lams)}
    fig, axes = new_figure(2, 3, width_in=PAGE_WIDTH_IN * 1.3, aspect=0.75, sharey="row")
    titles = {"pi_f": r"to $\pi^f_{\beta,\sigma}$", "pi_star": r"to $\pi^*_{\beta,\sigma}$",
              "chain": "to the chain law"}
    for row, p in enumerate(ORDERS):
        for col, target in enumerate(("pi_f", "pi_star", "chain")):
            ax = axes[row, col]
            time_axis = target == "chain"
            for r in table.itertuples():
                s = series[(series.cell_id == r.cell_id) & (series.target == target)]
                x = s.step * (r.step_size if time_axis else 1)
                ax.plot(x, s[f"w{p}"], color=colours[r.step_size], linewidth=0.9,
                        label=rf"$\lambda$ = {r.step_size:g}")
                if time_axis and p == 1 and np.isfinite(r.rate):
                    t = np.linspace(r.fit_from, r.fit_to, 20)
                    fit = s[(x >= r.fit_from) & (x <= r.fit_to)]
                    floor = r.floor_w1_chain  # the fit is of W1 - floor over the window
                    y0 = np.exp(np.mean(np.log(fit.w1 - floor)
                                        + r.rate / 2 * fit.step * r.step_size))
                    ax.plot(t, floor + y0 * np.exp(-r.rate / 2 * t), color=colours[r.step_size],
                            linestyle=":", linewidth=1.4)
                if not time_axis:
                    ax.axhline(getattr(r, f"exact_w{p}_chain_{target}"), color=colours[r.step_size],
                               linestyle="--", linewidth=0.7)
            floor = table[f"floor_w{p}_{target}"].max()
            spread = table[f"floor_w{p}_{target}_std"].max()
            ax.axhspan(max(floor - spread, 1e-6), floor + spread, color="0.8", alpha=0.7,
                       label="noise floor (N particles)")
            if time_axis:
                ax.set_xlim(0, (table.step_size * series.step.max()).min())
            ax.set(yscale="log", title=f"({'abc'[col] if row == 0 else 'def'[col]}) W{p} "
                   f"{titles[target]}", xlabel=r"time $\lambda k$" if time_axis else
                   "iteration k")
            if col == 0:
                ax.set_ylabel(rf"$W_{p}$")
    axes[0, 2].plot([], [], color="k", linestyle=":", label=r"fit $e^{-c\lambda k/2}$")
    axes[0, 0].plot([], [], color="0.3", linestyle="--", label="exact chain plateau")
    handles, labels = [], []
    for ax in (axes[0, 0], axes[0, 2]):
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize="x-small")
    return save_figure(fig, out_dir, "convergence")

"""Excess risk (Thm 3.8): E v(theta_k) - min v against k, and its stationary level against lam.

v = u + (sigma^2/2) u'' is the Hessian-trace-regularised objective (docs/theory.md §2). The theorem
bounds

    E v(theta_k) - inf v <= D1' exp(-c lam k / 4) + D2' lam^(1/4) + D3'.

N independent fSGLD chains start at x0 (one compiled call over the step sizes); at recorded
steps (geometric, for log axes) the particle mean of v - min v estimates the excess risk, with
standard error sd / sqrt(N) (the particles at a step are iid). min v comes from a fine grid
refined by Newton steps. The exact stationary level is E_chain v - min v under the chain's
invariant law (``chain_invariant``), conditioned on the interval where the explicit step is
stable (lam |u''| < 2, :func:`._stationary.stable_interval`: outside it the polynomial well's
chain is transient and its quasi-stationary tail, mass ~1e-10, would dominate E v ~ x^6 while no
particle ever gets there; the mass left out is recorded). As lam -> 0 it tends to
E_{pi^f} v - min v, the part D3' that does not vanish (about 1/(2 beta) per dimension, the
temperature, plus the smoothing bias).
So the tests are

* transient: E v(theta_k) - E_chain v decays exponentially in lam k
  (:func:`sgldsim.verdicts.exponential_decay` on |E v(theta_k) - E_chain v|, from the end of the
  ballistic phase, :func:`..common.fits.ballistic_end`, fixed by the landscape and x0; the sign of
  the deviation is that of the first record there: the excess risk overshoots, then returns from
  below on the slow time scale);
* plateau: the particle mean at the last step equals E_chain v
  (:func:`sgldsim.verdicts.matches_reference`, two-sided, level 0.01 over the cells);
* step size, as stated: E_chain v - min v <= D2' lam^(1/4) + D3' with D3' = E_{pi^f} v - min v
  (the lam -> 0 level). Where the lam-dependent part E_chain v - E_{pi^f} v is negative at every
  step size, no constant D2' >= 0 can be exceeded: "untestable", with that reason;
* step size, magnitude: |E_chain v - E_{pi^f} v| = O(lam^(1/4)) as lam -> 0 (the stationary excess
  tends to D3' at least at the bound's rate; :func:`sgldsim.verdicts.power_law_bound`): this one
  fails when the lam-dependent part decays more slowly than lam^(1/4) or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from ..._memory import MemoryEstimate
from ...figures.style import (
    PAGE_WIDTH_IN,
    add_reference_slope,
    color_for,
    new_figure,
    save_figure,
)
from ...measures.stationary import basin_measure, global_minimum, stable_interval
from ...potentials.catalogue import landscape
from ...runner import Cell, ExperimentConfig, Summary
from ...runner.summary import UPPER_BOUND
from ...verdicts import Verdict, exponential_decay, matches_reference, power_law_bound
from ..common.fits import LEVEL, ballistic_end, decay_verdict, settling_verdict, transient_left
from ..common.particle_runs import (
    TransientRunParams,
    cell_numbers,
    cell_references,
    labelled_table,
    particle_memory,
    per_cell_parameters,
    record_schedule,
    simulate_cells,
    validate_transient_config,
)

CHUNK_SIZE = 8
BOUND_EXPONENT = 0.25  # D2' lam^(1/4)


@dataclass(frozen=True, kw_only=True)
class Params(TransientRunParams):
    """excess-risk's parameters (each may be swept in ``[grid]`` unless marked fixed).

    Attributes:
      potential: the 1-D landscape (:func:`sgldsim.potentials.catalogue.landscape`); fixed.
      step_size: lam; finite and > 0 (required: the shipped run sweeps it).
      beta: inverse temperature; finite and > 0.
      sigma_rule: ``"sigma=<s>"`` (a fixed sigma; 0 is SGLD) or ``"eta=<e>"`` (coupled,
        sigma = beta^(-(1+eta)/4)).
      x0: every particle's start (fixed).
      n_particles: independent chains per cell (fixed); >= 2. The excess risk is their mean.
      n_steps: steps per run (fixed); >= 1.
      n_records: recorded steps, geometrically spaced, step 0 included (fixed);
        2 <= n_records <= n_steps + 1.
    """

    beta: float = 3.0
    sigma_rule: str = "sigma=0.2"
    x0: float = 2.0
    n_particles: int = 10_000
    n_steps: int = 64_000
    n_records: int = 61


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    validate_transient_config(config, Params)


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: its one simulate call and the distances' float64 copy
    (:func:`~sgldsim.experiments.common.particle_runs.particle_memory`)."""
    p = Params.from_config(config)
    return particle_memory(cells, p.n_particles, p.n_records)


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """Particle excess risk at every record and the exact stationary levels, per cell."""
    params = [Params.from_cell(c) for c in cells]
    p = params[0]  # the fixed parameters are the same in every cell
    u = landscape(p.potential)
    x0 = np.full((p.n_particles, 1), p.x0)
    record_at = record_schedule(p.n_steps, p.n_records, "log")
    particles, steps, diverged = simulate_cells(u, params, keys, x0, p.n_steps, record_at)
    out = []
    for i, (cell, refs) in enumerate(zip(params, cell_references(u, params), strict=True)):
        lam, _, sigma = cell_numbers(cell)
        v = u.regularized(sigma)
        v_min = global_minimum(v)[1]
        lo, hi = stable_interval(u, lam)
        rows = [{"measure": "diverged_at", "value": float(diverged[i])},
                {"measure": "min_v", "value": v_min}]
        for name, measure in refs.items():
            inside = basin_measure(measure, lo, hi)
            rows += [{"source": name, "measure": "stationary_excess_risk",
                      "value": inside.expect(lambda x, v=v: np.asarray(v.value(x[:, None])))
                      - v_min},
                     {"source": name, "measure": "mass_outside_stable_interval",
                      "value": 1.0 - measure.mass_of_box(lo, hi)}]
        for x, k in zip(particles[i], steps, strict=True):
            if 0 <= diverged[i] <= k:
                break
            excess = np.asarray(v.value(x[:, None])) - v_min
            rows += [{"source": "particles", "step": int(k), "measure": "excess_risk",
                      "value": float(excess.mean())},
                     {"source": "particles", "step": int(k), "measure": "excess_risk_stderr",
                      "value": float(excess.std(ddof=1) / np.sqrt(excess.size))}]
        out.append(rows)
    return out


def _tables(results: pd.DataFrame, config: ExperimentConfig
            ) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """(series: cell_id, step, excess_risk, excess_risk_stderr, time, above_chain;
    cells: one row per cell with the stationary levels, the fitted rate and the final z;
    the transient's :class:`~sgldsim.verdicts.ExponentialDecay` per cell, in row order)."""
    fixed = Params.from_config(config)
    cells = per_cell_parameters(results, config, fixed).set_index("cell_id")
    levels = labelled_table(results, ("stationary_excess_risk",), ("source",))
    for r in levels.itertuples():
        cells.loc[r.cell_id, f"level_{r.source}"] = r.stationary_excess_risk
    series = labelled_table(results, ("excess_risk", "excess_risk_stderr"), ("step",))
    series = series.merge(cells[["step_size", "level_chain"]], left_on="cell_id",
                          right_index=True)
    series = series.assign(step=series.step.astype(np.int64),
                           time=series.step_size * series.step,
                           above_chain=series.excess_risk - series.level_chain)
    start = ballistic_end(landscape(fixed.potential), fixed.x0)
    decays = {}
    for cell_id, s in series.groupby("cell_id", sort=False):
        s = s.sort_values("step")
        window = s[s.time >= start]
        sign = -1.0 if len(window) and window.above_chain.iloc[0] < 0 else 1.0
        fit = exponential_decay(window.time.to_numpy(), sign * window.above_chain.to_numpy(),
                                floor=0.0, y_stderr=window.excess_risk_stderr.to_numpy(),
                                level=LEVEL / len(cells))
        decays[cell_id] = fit
        final = s.iloc[-1]
        cells.loc[cell_id, ["rate", "rate_stderr", "curvature", "curvature_stderr",
                            "fit_points", "fit_from", "fit_to", "deviation_sign"]] = (
            [4 * fit.rate, 4 * fit.rate_stderr, fit.curvature, fit.curvature_stderr, fit.n,
             fit.t_start, fit.t_end, sign])
        cells.loc[cell_id, ["final_excess_risk", "final_stderr"]] = (
            final.excess_risk, final.excess_risk_stderr)
        end = window[window.time <= fit.t_end]
        cells.loc[cell_id, "transient_left"] = (
            np.nan if fit.n == 0 or end.empty else
            transient_left(fit.t_end, abs(end.above_chain.iloc[-1]), fit.rate, final.time))
    cells["final_z"] = (cells.final_excess_risk - cells.level_chain) / cells.final_stderr
    cells["step_size_part"] = cells.level_chain - cells.level_pi_f
    cells = cells.reset_index()
    return series, cells, [decays[c] for c in cells.cell_id]


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    _, cells, decays = _tables(results, config)
    verdicts = [decay_verdict(
        "E v(theta_k) - E_chain v <= D1' exp(-c lam k / 4) for all lam (Thm 3.8, first term)",
        cells.step_size, decays, rate_factor=4), _plateau_verdict(cells)]
    fitted = {}
    for (beta, sigma), group in cells.groupby(["beta", "sigma"], sort=False):
        verdicts += _step_size_verdicts(beta, sigma, group, fitted)
    fitted |= {f"rate[lam={r.step_size:g}]": r.rate for r in cells.itertuples()}
    diverged = results[(results.measure == "diverged_at") & (results.value >= 0)]
    if len(diverged):
        verdicts.append(Verdict("the chains stay finite", "inconsistent",
                                f"{len(diverged)} cells diverged (records after it are dropped)"))
    shown = cells[["step_size", "rate", "rate_stderr", "curvature", "curvature_stderr",
                   "fit_points", "final_excess_risk", "final_stderr", "level_chain", "final_z",
                   "level_pi_f", "level_pi_star", "step_size_part"]]
    text = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    return Summary(table=text, fitted=fitted, verdicts=verdicts, legend=LEGEND)


def _step_size_verdicts(beta: float, sigma: float, group: pd.DataFrame, fitted: dict
                        ) -> list[Verdict]:
    """Thm 3.8's D2' lam^(1/4) term at one (beta, sigma): the bound as stated (an upper bound
    on the signed lam-dependent part) and the magnitude of that part against C lam^(1/4)."""
    part, lam = group.step_size_part.to_numpy(), group.step_size.to_numpy()
    levels = (f"D3' = E_pi^f v - min v = {group.level_pi_f.iloc[0]:.4g} (E_pi* v - min v = "
              f"{group.level_pi_star.iloc[0]:.4g}, 1/(2 beta) = {0.5 / beta:.4g}); "
              f"E_chain v - E_pi^f v = {', '.join(f'{v:.3g}' for v in part)} at lam = "
              f"{', '.join(f'{v:g}' for v in lam)}")
    at = f"at beta={beta:g}, sigma={sigma:.3g}"
    claim = (f"stationary excess risk E_chain v - min v <= D2' lam^(1/4) + D3' (Thm 3.8), "
             f"D3' the lam -> 0 level, {at}")
    if (part <= 0).all():
        signed = Verdict(claim, "untestable", (
            f"the lam-dependent part E_chain v - E_pi^f v is <= 0 at every step size (largest "
            f"{part.max():.3g}): no constant D2' >= 0 can be exceeded by it, so these data "
            f"could not violate the bound; its magnitude is tested on its own; {levels}"))
    else:
        fit = power_law_bound(lam, part, BOUND_EXPONENT, limit="zero", level=LEVEL, claim=claim)
        signed = fit.verdict._replace(reason=f"{fit.verdict.reason} (the positive part); "
                                             f"{levels}")
    magnitude = power_law_bound(lam, np.abs(part), BOUND_EXPONENT, limit="zero", level=LEVEL,
                                claim=(f"|E_chain v - E_pi^f v| = O(lam^{BOUND_EXPONENT:g}): the "
                                       f"stationary excess risk tends to D3' at least at the "
                                       f"bound's rate {at}"))
    if np.isfinite(magnitude.exponent):
        fitted[f"exponent_step_size_part[beta={beta:g}]"] = magnitude.exponent
        fitted[f"exponent_step_size_part_stderr[beta={beta:g}]"] = magnitude.stderr
    sign = ("positive" if (part > 0).all() else "negative" if (part < 0).all() else
            "of changing sign")
    return [signed, magnitude.verdict._replace(
        reason=f"{magnitude.verdict.reason}; the lam-dependent part is {sign}; {levels}")]


LEGEND = {
    "step_size": "lam, the step size of the cell",
    "rate": "c fitted to E v(theta_k) - E_chain v ~ exp(-c lam k / 4) over the transient"
            " (Thm 3.8's first term)",
    "rate_stderr": "standard error of the fitted rate",
    "curvature, curvature_stderr": "curvature of log|E v(theta_k) - E_chain v| in lam k over the"
                                   " window and its standard error\n(0 for an exponential, > 0"
                                   " for a slower decay such as a power law)",
    "fit_points": "records in the transient window (from the end of the ballistic phase, fixed by"
                  " the landscape and x0,\nuntil the deviation sinks below 3 standard errors)",
    "final_excess_risk, final_stderr": "particle mean of v(theta_k) - min v at the last record,"
                                       " and its standard error",
    "level_chain": "exact E v - min v under the discrete chain's invariant law (the stationary"
                   " level)",
    "final_z": "(final_excess_risk - level_chain) / final_stderr",
    "level_pi_f, level_pi_star": "exact E v - min v under pi^f and pi* (D3' is the pi^f one)",
    "step_size_part": "level_chain - level_pi_f: the lam-dependent part the bound calls"
                      " D2' lam^(1/4)",
    "consistent": UPPER_BOUND,
}


def _plateau_verdict(cells: pd.DataFrame) -> Verdict:
    match = matches_reference(cells.final_excess_risk, cells.level_chain, cells.final_stderr,
                              level=LEVEL, claim="the particle excess risk settles on the chain "
                              "law's exact stationary level")
    return settling_verdict(match, cells.transient_left.abs(), cells.final_stderr,
                            "last record vs E_chain v - min v", side="two-sided")


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """(a) E v(theta_k) - min v against k (log-log; band: +-1 SE; dashed: exact chain level;
    dotted: the lam -> 0 level E_pi^f v - min v). (b) |E v(theta_k) - E_chain v| against lam k
    with the fitted exponentials. (c) the lam-dependent stationary part E_chain v - E_pi^f v
    against lam, with particle estimates and the bound's slope lam^(1/4)."""
    series, cells, _ = _tables(results, config)
    lams = sorted(cells.step_size)
    cmap = matplotlib.colormaps["viridis"]
    colours = {lam: cmap(0.9 * i / max(len(lams) - 1, 1)) for i, lam in enumerate(lams)}
    fig, (ax_k, ax_t, ax_lam) = new_figure(1, 3, width_in=PAGE_WIDTH_IN * 1.3, aspect=0.9)
    for r in cells.itertuples():
        s = series[(series.cell_id == r.cell_id) & (series.step > 0)].sort_values("step")
        colour = colours[r.step_size]
        ax_k.plot(s.step, s.excess_risk, color=colour, label=rf"$\lambda$ = {r.step_size:g}")
        ax_k.fill_between(s.step, s.excess_risk - s.excess_risk_stderr,
                          s.excess_risk + s.excess_risk_stderr, color=colour, alpha=0.3,
                          linewidth=0)
        ax_k.axhline(r.level_chain, color=colour, linestyle="--", linewidth=0.7)
        ax_t.plot(s.time, s.above_chain.abs(), color=colour, linewidth=0.9)
        if np.isfinite(r.rate):
            t = np.linspace(r.fit_from, r.fit_to, 20)
            window = s[(s.time >= r.fit_from) & (s.time <= r.fit_to)]
            y0 = np.exp(np.mean(np.log(window.above_chain.abs()) + r.rate / 4 * window.time))
            ax_t.plot(t, y0 * np.exp(-r.rate / 4 * t), color=colour, linestyle=":",
                      linewidth=1.4)
    ax_k.axhline(cells.level_pi_f.iloc[0], color=color_for("pi_f"), linestyle=":",
                 label=r"$\lambda \to 0$: $E_{\pi^f} v - \min v$")
    ax_k.plot([], [], color="0.3", linestyle="--", label="exact chain level")
    ax_k.set(xscale="log", yscale="log", xlabel="iteration k",
             ylabel=r"$E\,v(\theta_k) - \min v$", title="(a) excess risk")
    ax_k.legend(fontsize="x-small")
    se = series.excess_risk_stderr.median()
    ax_t.axhline(se, color="0.5", linestyle="-.", label="1 standard error")
    ax_t.plot([], [], color="0.3", linestyle=":", label=r"fit $e^{-c\lambda k/4}$")
    fitted_to = cells.fit_to.max() if cells.fit_to.notna().any() else series.time.max()
    start = cells.fit_from.min() if cells.fit_from.notna().any() else 0.0
    settled = series[series.time >= start]
    ax_t.set(yscale="log", xlim=(0, min(2 * fitted_to, series.time.max())),
             ylim=(se / 3, 3 * settled.above_chain.abs().max()),
             xlabel=r"time $\lambda k$", ylabel=r"$|E\,v(\theta_k) - E_{\rm chain} v|$",
             title="(b) approach to the chain level")
    ax_t.legend(fontsize="x-small")
    group = cells.sort_values("step_size")
    part = group.step_size_part
    sign = "negative" if (part < 0).all() else "positive" if (part > 0).all() else "mixed sign"
    ax_lam.plot(group.step_size, part.abs(), marker="o", color=color_for("pi_f"),
                label=f"exact chain law ({sign})")
    ax_lam.errorbar(group.step_size, (group.final_excess_risk - group.level_pi_f).abs(),
                    yerr=group.final_stderr, fmt="D", markerfacecolor="none",
                    color=color_for("fsgld"), label="particles, last step ($\\pm$ SE)")
    add_reference_slope(ax_lam, group.step_size, BOUND_EXPONENT,
                        (group.step_size.iloc[0], abs(part.iloc[0])), r"bound $\lambda^{1/4}$")
    ax_lam.set(xscale="log", yscale="log", xlabel=r"step size $\lambda$",
               ylabel=r"$|E_{\rm chain} v - E_{\pi^f} v|$",
               title="(c) step-size part of the plateau")
    ax_lam.set_xticks(group.step_size, labels=[f"{v:g}" for v in group.step_size])
    ax_lam.xaxis.set_minor_formatter(NullFormatter())
    ax_lam.legend(fontsize="x-small")
    return save_figure(fig, out_dir, "excess_risk")

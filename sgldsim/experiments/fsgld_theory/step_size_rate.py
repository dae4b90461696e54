"""Step-size rate (Thm 3.5 in lam): the stationary distance of the fSGLD chain to pi* and pi^f.

Thm 3.5's plateau is W1(chain law, pi*) <= D2 lam^(1/2) + Dbias (W2: lam^(1/4)). With the chain's
exact invariant law (``chain_invariant``: no particle noise) the error splits, by the triangle
inequality, into

    discretisation bias  W(chain law, pi^f)   -> 0 as lam -> 0, and
    smoothing bias       W(pi^f, pi*)         independent of lam (Dbias, Prop. 3.4),

so the bound's exponents are tested on the discretisation part with
:func:`sgldsim.verdicts.power_law_bound` (lam -> 0): a measured exponent clearly below the bound's
(1/2 for W1, 1/4 for W2) is inconsistent with it, one that excludes a violation of the bound's full
size is consistent.

docs/theory.md §6: in a multimodal measure a mass mismatch dm between wells a distance d apart costs
W1 ~ d dm but W2 ~ d sqrt(dm); with dm = O(lam), W2's exponent is about half of W1's. The part
of W2 that moves mass across the barrier (:func:`._stationary.between_basin_w2`) shows when that
regime holds: at large beta (metastable wells) it is nearly all of W2, at small beta little.

Particles: N chains started at the exact chain law run n_steps steps (one compiled call over all
cells); their distances at the end, beside the noise floor of N iid draws, are what a particle
study can resolve. Staying at the chain law (W(particles, chain law) at the floor) also checks the
simulator against ``chain_invariant``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax
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
from ...measures.stationary import ORDERS, between_basin_w2
from ...potentials.catalogue import FLAT_BASIN, landscape
from ...runner import Cell, ConfigError, ExperimentConfig, Summary
from ...runner.summary import UPPER_BOUND
from ...verdicts import Verdict, matches_reference, power_law_bound
from ..common.fits import LEVEL, STEP_SIZE_EXPONENTS
from ..common.particle_runs import (
    ParticleRunParams,
    cell_references,
    distance_rows,
    exact_distances,
    exact_rows,
    floor_rows,
    floor_table,
    particle_memory,
    particle_series,
    per_cell_parameters,
    simulate_cells,
    validate_particle_config,
)

CHUNK_SIZE = 10
MULTIMODAL_SHARE = 0.5  # W2 counts as "mass moved between wells" when that part is >= half of W2^2


@dataclass(frozen=True, kw_only=True)
class Params(ParticleRunParams):
    """step-size-rate's parameters (each may be swept in ``[grid]`` unless marked fixed).

    Attributes:
      potential: the 1-D landscape (:func:`sgldsim.potentials.catalogue.landscape`); fixed.
      step_size: lam; finite and > 0 (required: the shipped run sweeps it).
      beta: inverse temperature; finite and > 0 (required: the shipped run sweeps it).
      sigma_rule: ``"sigma=<s>"`` (a fixed sigma; 0 is SGLD) or ``"eta=<e>"`` (coupled,
        sigma = beta^(-(1+eta)/4)).
      n_particles: independent chains per cell, started at the exact chain law (fixed); >= 2.
      n_steps: steps per run (fixed); >= 1.
      multimodal_tolerance: |W2 exponent / W1 exponent - 1/2| allowed where mass moves between
        wells (fixed); in (0, 0.5).
    """

    NOT_SWEPT = (*ParticleRunParams.NOT_SWEPT, "multimodal_tolerance")

    sigma_rule: str = "sigma=0.2"
    n_particles: int = 10_000
    n_steps: int = 8000
    multimodal_tolerance: float = 0.15


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    fixed = Params.from_config(config)
    validate_particle_config(config, fixed)
    tolerance = fixed.multimodal_tolerance
    if not 0 < tolerance < 0.5:
        raise ConfigError(f"params.multimodal_tolerance={tolerance} is not allowed: it must lie "
                          "in (0, 0.5)")


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: its one simulate call and the distances' float64 copy
    (:func:`~sgldsim.experiments.common.particle_runs.particle_memory`)."""
    p = Params.from_config(config)
    return particle_memory(cells, p.n_particles)


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """Exact chain laws and distances per cell; one simulation from the chain laws for all."""
    params = [Params.from_cell(c) for c in cells]
    p = params[0]  # the fixed parameters are the same in every cell
    u = landscape(p.potential)
    cut = FLAT_BASIN[p.potential][0]
    n = p.n_particles
    references = cell_references(u, params)
    x0 = np.stack([refs["chain"].sample(jax.random.fold_in(key, 1), n)
                   for refs, key in zip(references, keys, strict=True)])
    particles, steps, diverged = simulate_cells(u, params, keys, x0, p.n_steps,
                                                np.array([p.n_steps]))
    floors = floor_rows(references, n, keys)
    out = []
    for i, refs in enumerate(references):
        chain, pi_f = refs["chain"], refs["pi_f"]
        out.append([
            {"measure": "diverged_at", "value": float(diverged[i])},
            {"measure": "mass_shift", "value": pi_f.cdf(cut) - chain.cdf(cut)},
            {"source": "chain", "target": "pi_f", "measure": "w2_between_basins",
             "value": between_basin_w2(chain, pi_f, cut)},
            *exact_rows(refs),
            *floors[i],
            *distance_rows(particles[i], steps, refs, int(diverged[i])),
        ])
    return out


def _per_cell(results: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """One row per cell: exact distances, mass shift, between-basin W2, particle distances and
    floors (columns ``<kind>_w<p>_<source>_<target>``)."""
    table = per_cell_parameters(results, config, Params.from_config(config)).set_index("cell_id")
    exact = exact_distances(results)
    for r in exact.itertuples():
        for p in ORDERS:
            table.loc[r.cell_id, f"exact_w{p}_{r.source}_{r.target}"] = getattr(r, f"w{p}")
    last = particle_series(results)
    last = last[last.step == last.step.max()]
    for r in last.itertuples():
        for p in ORDERS:
            table.loc[r.cell_id, f"particles_w{p}_{r.target}"] = getattr(r, f"w{p}")
    for r in floor_table(results).itertuples():
        for p in ORDERS:
            table.loc[r.cell_id, f"floor_w{p}_{r.target}"] = getattr(r, f"w{p}_floor")
            table.loc[r.cell_id, f"floor_w{p}_{r.target}_std"] = getattr(r, f"w{p}_floor_std")
    scalar = results[results.measure.isin(("mass_shift", "w2_between_basins", "diverged_at"))]
    for r in scalar.itertuples():
        table.loc[r.cell_id, r.measure] = r.value
    table["between_share"] = (table.w2_between_basins / table.exact_w2_chain_pi_f) ** 2
    return table.reset_index()


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table = _per_cell(results, config)
    tolerance = Params.from_config(config).multimodal_tolerance
    verdicts, fitted, fits = [], {}, []
    for (beta, sigma), group in table.groupby(["beta", "sigma"], sort=False):
        exponents = {}
        for p in ORDERS:
            bound = STEP_SIZE_EXPONENTS[p]
            claim = (f"discretisation bias W{p}(chain law, pi^f) = O(lam^{bound:g}) "
                     f"at beta={beta:g}, sigma={sigma:.3g}")
            fit = power_law_bound(group.step_size, group[f"exact_w{p}_chain_pi_f"], bound,
                                  limit="zero", level=LEVEL, claim=claim)
            verdicts.append(fit.verdict)
            if np.isfinite(fit.exponent):
                exponents[p] = fit
                fitted[f"exponent_w{p}[beta={beta:g}]"] = fit.exponent
                fitted[f"exponent_w{p}_stderr[beta={beta:g}]"] = fit.stderr
        mass_fit = _exponent(group.step_size, group.mass_shift.abs())
        fitted[f"exponent_mass_shift[beta={beta:g}]"] = mass_fit
        if len(exponents) == 2:
            verdicts.append(_multimodal_verdict(beta, group, exponents, mass_fit, tolerance))
        fits.append({"beta": beta, "sigma": sigma, "exponent_w1": _get(exponents, 1),
                     "exponent_w2": _get(exponents, 2), "exponent_mass_shift": mass_fit,
                     "smoothing_bias_w1": group.exact_w1_pi_f_pi_star.iloc[0],
                     "smoothing_bias_w2": group.exact_w2_pi_f_pi_star.iloc[0],
                     "min_between_share": group.between_share.min()})
    verdicts.append(_particle_verdict(table))
    shown = table[["beta", "step_size", "exact_w1_chain_pi_f", "exact_w2_chain_pi_f",
                   "exact_w1_chain_pi_star", "exact_w2_chain_pi_star", "mass_shift",
                   "between_share", "particles_w1_pi_star", "floor_w1_pi_star",
                   "particles_w2_pi_star", "floor_w2_pi_star"]]
    fmt = lambda v: f"{v:.4g}"
    text = (shown.to_string(index=False, float_format=fmt) + "\n\nper beta:\n"
            + pd.DataFrame(fits).to_string(index=False, float_format=fmt))
    return Summary(table=text, fitted=fitted, verdicts=verdicts, legend=LEGEND)


LEGEND = {
    "beta, step_size": "inverse temperature and step size lam of the cell",
    "exact_w<p>_chain_pi_f": "exact W_p between the discrete chain's invariant law and pi^f: the"
                             " discretisation bias\n(Thm 3.5: O(lam^(1/2)) for W1, O(lam^(1/4))"
                             " for W2)",
    "exact_w<p>_chain_pi_star": "exact W_p between the chain's invariant law and pi*",
    "mass_shift": "flat-basin mass of the chain law minus that of pi^f",
    "between_share": "share of W2(chain, pi^f)^2 carried by mass moved between the basins"
                     " (docs/theory.md §6)",
    "particles_w<p>_pi_star": "W_p(particles, pi*) at the last step, particles started at the"
                              " chain law",
    "floor_w<p>_pi_star": "particle floor: W_p between N iid draws of pi* and pi* (mean of"
                          " repeats)",
    "exponent_*": "least-squares slope of ln(W or |mass_shift|) against ln lam, per beta",
    "smoothing_bias_w<p>": "exact W_p(pi^f, pi*), the bound's Dbias",
    "min_between_share": "smallest between_share over the step sizes (the multimodal claim"
                         f" needs >= {MULTIMODAL_SHARE:g})",
    "consistent": UPPER_BOUND,
}


def _get(fits: dict, p: int) -> float:
    return fits[p].exponent if p in fits else np.nan


def _exponent(x, y) -> float:
    """Least-squares slope of log y against log x (nan if some y <= 0)."""
    y = np.asarray(y, dtype=float)
    if len(y) < 2 or not np.all(y > 0):
        return np.nan
    return float(np.polyfit(np.log(np.asarray(x, dtype=float)), np.log(y), 1)[0])


def _multimodal_verdict(beta: float, group: pd.DataFrame, fits: dict, mass_exponent: float,
                        tolerance: float) -> Verdict:
    """Where the between-basin part carries W2 (share >= 1/2 at every lam), W2's exponent must be
    within ``tolerance`` of half of W1's; elsewhere the claim does not apply."""
    claim = (f"multimodal: W2 ~ d sqrt(mass mismatch), so W2's exponent is about half of W1's "
             f"(docs/theory.md §6) at beta={beta:g}")
    ratio = fits[2].exponent / fits[1].exponent
    detail = (f"W1 exponent {fits[1].exponent:.3f}, W2 {fits[2].exponent:.3f} (ratio {ratio:.3f}),"
              f" mass mismatch {mass_exponent:.3f}; between-basin share of W2^2 in "
              f"[{group.between_share.min():.2f}, {group.between_share.max():.2f}]")
    if group.between_share.min() < MULTIMODAL_SHARE:
        return Verdict(claim, "inconclusive", detail + f": below {MULTIMODAL_SHARE} somewhere, so "
                       "W2 is not dominated by mass moved between wells and the claim does not "
                       "apply here")
    ok = abs(ratio - 0.5) <= tolerance
    return Verdict(claim, "consistent" if ok else "inconsistent",
                   detail + f"; |ratio - 1/2| = {abs(ratio - 0.5):.3f} (allowed {tolerance:g})")


def _particle_verdict(table: pd.DataFrame) -> Verdict:
    """After n_steps from the exact chain law the particles must still be at it: W(particles,
    chain law) not above its noise floor, one final record per (cell, order), in floor standard
    deviations (:func:`~sgldsim.verdicts.matches_reference`, one-sided, level 0.01 over all)."""
    match = matches_reference(
        np.concatenate([table[f"particles_w{p}_chain"] for p in ORDERS]),
        np.concatenate([table[f"floor_w{p}_chain"] for p in ORDERS]),
        np.concatenate([table[f"floor_w{p}_chain_std"] for p in ORDERS]), side="above",
        level=LEVEL, claim="particles started at the exact chain law stay there (simulate "
        "agrees with chain_invariant)")
    return match.verdict._replace(reason="(W(particles, chain law) - floor) / floor std per "
                                  f"(cell, order), W1 then W2: {match.verdict.reason}")


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """Rows W1, W2; a column per beta. Against lam (log-log): the exact discretisation bias
    W(chain, pi^f), the total W(chain, pi*), the smoothing bias W(pi^f, pi*), the particle
    estimates with their noise floor, the bound's slope, and for W2 the between-basin part."""
    table = _per_cell(results, config)
    betas = list(dict.fromkeys(table.beta))
    fig, axes = new_figure(2, len(betas), width_in=PAGE_WIDTH_IN * 0.5 * max(len(betas), 2),
                           aspect=0.85, squeeze=False)
    for col, beta in enumerate(betas):
        group = table[table.beta == beta].sort_values("step_size")
        lam = group.step_size.to_numpy()
        for row, p in enumerate(ORDERS):
            ax = axes[row, col]
            ax.plot(lam, group[f"exact_w{p}_chain_pi_f"], marker="o", color=color_for("pi_f"),
                    label=r"discretisation $W(\mathrm{chain}, \pi^f)$")
            ax.plot(lam, group[f"exact_w{p}_chain_pi_star"], marker="s",
                    color=color_for("pi_star"), label=r"total $W(\mathrm{chain}, \pi^*)$")
            ax.axhline(group[f"exact_w{p}_pi_f_pi_star"].iloc[0], color=color_for("pi_star"),
                       linestyle=":", label=r"smoothing $W(\pi^f, \pi^*)$")
            if p == 2:
                ax.plot(lam, group.w2_between_basins, color="0.35", linestyle="-.",
                        label="between-basin part")
            # |W(particles, pi*) - W(chain, pi*)| <= W(particles, chain law) ~ the floor
            ax.errorbar(lam, group[f"particles_w{p}_pi_star"], fmt="none",
                        yerr=group[f"floor_w{p}_chain"], ecolor=color_for("fsgld"),
                        elinewidth=0.8)
            ax.plot(lam, group[f"particles_w{p}_pi_star"], linestyle="none", marker="D",
                    markerfacecolor="none", color=color_for("fsgld"),
                    label=r"particles $W(\cdot, \pi^*)$ $\pm$ floor")
            ax.fill_between(lam, group[f"floor_w{p}_pi_star"] - group[f"floor_w{p}_pi_star_std"],
                            group[f"floor_w{p}_pi_star"] + group[f"floor_w{p}_pi_star_std"],
                            color="0.85", label="noise floor (N particles)")
            add_reference_slope(ax, lam, STEP_SIZE_EXPONENTS[p],
                                (lam[0], group[f"exact_w{p}_chain_pi_f"].iloc[0]),
                                rf"bound $\lambda^{{{STEP_SIZE_EXPONENTS[p]:g}}}$")
            ax.set(xscale="log", yscale="log", xlabel=r"step size $\lambda$",
                   ylabel=rf"$W_{p}$", title=rf"({'ab'[row]}{col + 1}) $W_{p}$, $\beta$ = {beta:g}")
            ax.set_xticks(lam, labels=[f"{v:g}" for v in lam], rotation=30)
            ax.xaxis.set_minor_formatter(NullFormatter())
    handles, labels = [], []
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize="x-small")
    return save_figure(fig, out_dir, "step_size_rate")

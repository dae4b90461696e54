"""Flatness: which minimum wins, exactly and in particle runs (docs/theory.md §2, §6).

A 1-D landscape with a sharp minimum x_s and a flat one x_f (default: the sharp/flat double
well, curvature ratio 10; ``depth_gap`` delta > 0 makes the sharp one deeper by about delta).
For pi_beta ∝ exp(-beta u), pi^f ∝ exp(-beta g_sigma) and pi* ∝ exp(-beta v),
v = u + (sigma^2/2) u'', the flat-basin mass m(mu) = mu(flat basin) is computed

1. on a (beta, sigma) grid, exactly by quadrature (heat maps, coupling curves
   sigma = beta^(-(1+eta)/4) overlaid), and along the coupling to larger beta;
2. in particle runs: SGLD (sigma = 0) and fSGLD started at x_s, every cell in one compiled
   call, whose final flat fraction is compared with the exact invariant law of the discrete
   chain (``chain_invariant``, the chain's true target) and with its small-step measure (pi^f;
   pi_beta for SGLD), in binomial standard errors sqrt(p (1 - p) / N).

The winner rule (Laplace's log-odds L of the flat basin under pi*) and the mixing check (exit
rate, residual-bias bound) are those of :mod:`sgldsim.measures.flatness`. The rule is checked
where |L| >= ``L_MARGIN``, away from the boundary where Laplace's corrections could flip the sign.
With equal depths L -> +inf along the coupling (beta sigma^2 -> inf), so m(pi*) -> 1 while
m(pi_beta) keeps its sqrt(u'') split; with delta > 0 sigma -> 0 and the deeper minimum wins again
once (sigma^2/2) Delta tr < delta. A particle run counts as mixed when the residual-bias bound is
below one standard error; the flat fraction at T/2 is reported beside it.

Verdicts on exact masses compare quadrature numbers (to MASS_TOL, the quadrature's error); the
particle verdicts are z tests (:func:`sgldsim.verdicts.z_test`, level 0.01): the flat fraction
against the chain law's mass ("= 0", Bonferroni over the runs) and SGLD's survival minus fSGLD's
at SGLD's median exit step ("> 0"). Each fails on data that violate it
(tests/test_falsification_theory.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..._memory import MemoryEstimate
from ...coupling import coupled_sigma
from ...dynamics import fsgld_sampler, sgld_sampler, simulate
from ...dynamics.simulate import memory_needed
from ...measures import chain_invariant, gibbs_1d
from ...measures.flatness import (
    MEASURE_NAMES,
    SHIFT_LIMIT,
    exit_rate,
    first_exit_steps,
    flat_log_odds,
    flat_masses,
    minimum_shifts,
    relaxation_bound,
    sharp_flat_minima,
)
from ...potentials.catalogue import FLAT_BASIN, landscape
from ...runner import Cell, ConfigError, ExperimentConfig, ExperimentParams, Summary, cell_values
from ...verdicts import Verdict, z_test
from ..common.memory import gibbs_bytes
from .flatness_figures import flatness_figures

CHUNK_SIZE = 1
L_MARGIN = 2.0  # winner rule checked where |log-odds| >= this (and v's minima did not move)
MASS_TOL = 1e-6  # quadrature error allowed when comparing two exact masses
CONCENTRATED = 0.99  # "m(pi*) -> 1": at least this at the largest coupled beta
HEAT_NOT_SMALL = 0.1  # lam sigma^2 beta u''(x_s)^2 from which the chain's extra flatness shows
TRACE_POINTS = 150  # survival and flat-fraction curves are stored at about this many steps


@dataclass(frozen=True, kw_only=True)
class Params(ExperimentParams):
    """flatness's parameters. Only ``depth_gap`` may be swept: a cell holds everything for one
    landscape, and the tables are keyed by it.

    Attributes:
      potential: the 1-D landscape with a sharp and a flat minimum (a key of
        :data:`sgldsim.potentials.catalogue.FLAT_BASIN`).
      depth_gap: delta >= 0: the sharp well deeper by about delta (0: equal depths); finite.
      betas, sigmas: the heat maps' (beta, sigma) grid; non-empty lists of distinct finite
        numbers > 0.
      coupling_etas: eta of the coupling curves sigma = beta^(-(1+eta)/4); non-empty, distinct.
      coupling_betas: beta along the coupling curves; non-empty, distinct, finite, > 1.
      particle_betas, particle_sigmas: the particle runs, SGLD at each beta and fSGLD at each
        (beta, sigma); each value must be one of ``betas`` / ``sigmas``.
      step_size: lam of the particle runs; > 0.
      n_particles: particles per run, started at the sharp minimum; > 1.
      n_steps: steps per run; > 1.
      record_every: steps between records (the exit times' resolution); 1 to n_steps / 2.
    """

    NOT_SWEPT = ("potential", "betas", "sigmas", "coupling_etas", "coupling_betas",
                 "particle_betas", "particle_sigmas", "step_size", "n_particles", "n_steps",
                 "record_every")

    potential: str = "sharp-flat-double-well"
    depth_gap: float = 0.0
    betas: tuple[float, ...] = (2.0, 6.0, 20.0, 60.0, 200.0, 600.0, 2000.0, 6000.0)
    sigmas: tuple[float, ...] = (0.005, 0.01, 0.015, 0.03, 0.05, 0.1, 0.15, 0.3)
    coupling_etas: tuple[float, ...] = (0.1, 0.5, 0.9)
    coupling_betas: tuple[float, ...] = (2.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0,
                                         10000.0, 30000.0, 100000.0, 300000.0, 1000000.0)
    particle_betas: tuple[float, ...] = (2.0,)
    particle_sigmas: tuple[float, ...] = (0.1, 0.15)
    step_size: float = 0.005
    n_particles: int = 4000
    n_steps: int = 20_000
    record_every: int = 20


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    p = Params.from_config(config)
    if p.potential not in FLAT_BASIN:
        landscape(p.potential)  # raises with the allowed names
    for gap in cell_values(config, p, "depth_gap"):
        if not (np.isfinite(gap) and gap >= 0):
            raise ConfigError(f"{config.key_path('depth_gap')}={gap} is not allowed: "
                              "depth_gap must be finite and >= 0")
    lists = {"betas": p.betas, "sigmas": p.sigmas, "coupling_betas": p.coupling_betas,
             "coupling_etas": p.coupling_etas}
    for name, values in lists.items():
        if not values or len(set(values)) != len(values):
            raise ConfigError(f"params.{name}={list(values)} is not allowed: a non-empty list of "
                              "distinct numbers")
    for name in ("betas", "sigmas", "coupling_betas"):
        if any(not (np.isfinite(v) and v > 0) for v in lists[name]):
            raise ConfigError(f"params.{name}={list(lists[name])} is not allowed: values must be "
                              "> 0")
    if any(b <= 1 for b in p.coupling_betas):
        raise ConfigError(f"params.coupling_betas={list(p.coupling_betas)} is not allowed: the "
                          "coupling needs beta > 1")
    for name, values, grid_name, grid in (("particle_betas", p.particle_betas, "betas", p.betas),
                                          ("particle_sigmas", p.particle_sigmas, "sigmas",
                                           p.sigmas)):
        missing = [v for v in values if v not in grid]
        if missing:
            raise ConfigError(f"params.{name}={list(values)} is not allowed: {missing[0]} is not "
                              f"in params.{grid_name} (particle runs sit on heat-map grid points)")
    for name, value, low in (("step_size", p.step_size, 0.0), ("n_particles", p.n_particles, 1),
                             ("n_steps", p.n_steps, 1), ("record_every", p.record_every, 0)):
        if not value > low:
            raise ConfigError(f"params.{name}={value} is not allowed: it must be > {low}")
    if p.record_every > p.n_steps // 2:
        raise ConfigError(f"params.record_every={p.record_every} is not allowed: at most "
                          f"n_steps / 2 = {p.n_steps // 2} (the mixing check needs a "
                          "record at T/2)")


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: each cell's particle runs are one simulate call (snapshots every
    ``record_every`` steps, float32, and its working copies), read back as float64 with a boolean
    "inside the flat basin" array and the exit steps; the exact masses' 1-D measures are built
    one at a time beside them."""
    p = Params.from_config(config)
    runs = len(particle_cells(p))
    records = len(range(0, p.n_steps + 1, p.record_every)) + 1
    n = p.n_particles
    needed = len(cells) * (memory_needed(runs, records, n, 1) + runs * n * (9.0 * records + 8.0)
                           + gibbs_bytes([3000.0, 3000.0]))
    return MemoryEstimate(needed, f"a chunk of {len(cells)} cells x {runs} particle runs x "
                          f"{records} records x n_particles = {n}",
                          "lower params.n_particles, raise params.record_every, or run fewer "
                          "params.particle_betas / particle_sigmas")


# ---- exact quantities ---------------------------------------------------------------------------
def _landscape_rows(u, basin) -> tuple[list[dict], dict]:
    numbers = sharp_flat_minima(u, basin)
    return [{"measure": k, "value": v, "part": "landscape"} for k, v in numbers.items()], numbers


def _mass_rows(u, basin, points, shifts: dict, part: str, labels=None) -> list[dict]:
    """Flat-basin masses of pi_beta, pi^f and pi* at (beta, sigma) points (pi_beta once per
    beta), and the shift of v's minima from :func:`minimum_shifts`."""
    pi_beta, rows = {}, []
    for i, (beta, sigma) in enumerate(points):
        if beta not in pi_beta:
            pi_beta[beta] = gibbs_1d(u, beta).mass_of_box(*basin)
        values = {f"flat_mass_{name}": m for name, m in
                  {"pi_beta": pi_beta[beta], **flat_masses(u, beta, sigma, basin)}.items()}
        values["v_minimum_shift"] = shifts[sigma]
        extra = labels[i] if labels else {}
        rows += [{"measure": name, "value": value, "part": part, "beta": beta,
                  "sigma": sigma, **extra} for name, value in values.items()]
    return rows


# ---- particles ---------------------------------------------------------------------------------
def particle_cells(params: Params) -> list[tuple[str, float, float]]:
    """(method, beta, sigma): SGLD at each particle beta, fSGLD at each (beta, sigma)."""
    return ([("sgld", float(b), 0.0) for b in params.particle_betas]
            + [("fsgld", float(b), float(s)) for b in params.particle_betas
               for s in params.particle_sigmas])


def _particle_rows(u, basin, params: Params, key, landscape_numbers: dict) -> list[dict]:
    cells = particle_cells(params)
    if not cells:
        return []
    lam, n, n_steps = params.step_size, params.n_particles, params.n_steps
    beta = np.array([c[1] for c in cells])
    sigma = np.array([c[2] for c in cells])
    x0 = np.full((n, 1), landscape_numbers["x_sharp"])
    result = simulate(key, u, fsgld_sampler(lam, beta, sigma), x0, n_steps,
                      record_every=params.record_every)
    x = np.asarray(result.particles[..., 0], dtype=float)  # (cells, records, N)
    inside = (x > basin[0]) & (x < basin[1])
    steps = np.asarray(result.steps)
    exits = first_exit_steps(inside, steps)
    half = int(np.argmin(np.abs(steps - n_steps / 2)))
    shown = np.unique(np.linspace(0, steps.size - 1, TRACE_POINTS).round().astype(int))
    sgld_median = {b: float(np.median(exits[i])) for i, (m, b, _) in enumerate(cells)
                   if m == "sgld"}
    rows = []
    for i, (method, b, s) in enumerate(cells):
        label = {"part": "particles", "method": method, "beta": b, "sigma": s}
        sampler = sgld_sampler(lam, b) if s == 0 else fsgld_sampler(lam, b, s)
        chain = chain_invariant(u, sampler).mass_of_box(*basin)
        small_step = gibbs_1d(u.smoothed(s) if s > 0 else u, b).mass_of_box(*basin)
        fraction = float(inside[i, -1].mean())
        rate = exit_rate(exits[i], n_steps)
        values = {
            "flat_fraction": fraction,
            "flat_fraction_stderr": np.sqrt(chain * (1 - chain) / n),
            "flat_fraction_half": float(inside[i, half].mean()),
            "flat_mass_chain": chain,
            "flat_mass_small_step": small_step,
            "exit_median": float(np.median(exits[i])),
            "survival_at_reference": float(np.mean(exits[i] > sgld_median[b])),
            "exited_fraction": float(np.isfinite(exits[i]).mean()),
            "exit_rate": rate,
            "relaxation_bias_bound": relaxation_bound(chain, rate, n_steps),
            "perturbation_heat": lam * s**2 * b * landscape_numbers["curvature_sharp"] ** 2,
            "diverged_at": float(result.diverged_at[i]),
        }
        rows += [{"measure": k, "value": float(v), **label} for k, v in values.items()]
        for j in shown:
            trace = {**label, "part": "trace", "step": int(steps[j])}
            rows += [{"measure": "survival", "value": float(np.mean(exits[i] > steps[j])),
                      **trace},
                     {"measure": "flat_fraction", "value": float(inside[i, j].mean()), **trace}]
    return rows


def run_cell(config: ExperimentConfig, cell: Cell, key) -> list[dict]:
    """Everything for one landscape (one depth gap): minima, heat-map masses, coupling masses,
    and the particle runs (one compiled call over their cells)."""
    p = Params.from_cell(cell)
    u = landscape(p.potential, p.depth_gap)
    basin = FLAT_BASIN[p.potential]
    rows, numbers = _landscape_rows(u, basin)
    grid = [(b, s) for b in p.betas for s in p.sigmas]
    coupled = [(e, b) for e in p.coupling_etas for b in p.coupling_betas]
    coupling = [(b, float(coupled_sigma(b, e))) for e, b in coupled]
    shifts = minimum_shifts(u, [s for _, s in grid + coupling], basin,
                            (numbers["x_sharp"], numbers["x_flat"]))
    rows += _mass_rows(u, basin, grid, shifts, "map")
    rows += _mass_rows(u, basin, coupling, shifts, "coupling",
                       labels=[{"eta": e} for e, _ in coupled])
    return rows + _particle_rows(u, basin, p, key, numbers)


# ---- tables ---------------------------------------------------------------------------------
def _wide(results: pd.DataFrame, part: str) -> pd.DataFrame:
    """One row per (cell, labels) of ``part``, one column per measure."""
    rows = results[results.part == part].dropna(axis=1, how="all")
    keys = [c for c in rows.columns if c not in ("measure", "value")]
    wide = rows.pivot_table(index=keys, columns="measure", values="value", sort=False)
    wide = wide.reset_index()
    wide.columns.name = None
    return wide


def _tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The parts of ``results``, with the log-odds L added to the map and coupling tables."""
    land = _wide(results, "landscape").set_index("depth_gap")
    tables = {"landscape": land}
    for part in ("map", "coupling"):
        table = _wide(results, part)
        num = land.loc[table.depth_gap]
        table["log_odds"] = flat_log_odds(table.beta, table.sigma,
                                          num.depth_difference.to_numpy(),
                                          num.trace_difference.to_numpy(),
                                          num.entropic_log_odds.to_numpy())
        tables[part] = table
    if "particles" in set(results.part):
        particles = _wide(results, "particles")
        se = particles.flat_fraction_stderr
        tables["particles"] = particles.assign(
            z_chain=(particles.flat_fraction - particles.flat_mass_chain) / se,
            z_small_step=(particles.flat_fraction - particles.flat_mass_small_step) / se,
            z_half=(particles.flat_fraction_half - particles.flat_fraction) / (np.sqrt(2) * se),
            mixed=particles.relaxation_bias_bound < se)
        tables["trace"] = _wide(results, "trace")
    return tables


# ---- verdicts ----------------------------------------------------------------------------------
def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    tables = _tables(results)
    verdicts = _exact_verdicts(tables)
    fitted = {}
    if "particles" in tables:
        fixed = Params.from_config(config)
        verdicts += _particle_verdicts(tables["particles"], fixed.n_particles,
                                       fixed.record_every)
        for r in tables["particles"].itertuples():
            tag = f"{r.method}, delta={r.depth_gap:g}, beta={r.beta:g}, sigma={r.sigma:g}"
            fitted[f"exit_median_steps[{tag}]"] = r.exit_median
    return Summary(table=_summary_text(tables), fitted=fitted, verdicts=verdicts, legend=LEGEND)


LEGEND = {
    "depth_gap": "the landscape's depth_gap parameter (delta > 0: the sharp well deeper)",
    "x_sharp, x_flat": "the sharp and the flat minimum of u",
    "depth_difference": "delta = u(x_f) - u(x_s): how much deeper the sharp minimum is",
    "trace_difference": "Delta tr = u''(x_s) - u''(x_f)",
    "entropic_log_odds": "(1/2) ln(u''(x_s) / u''(x_f)): pi_beta's log-odds of the flat basin at"
                         " large beta",
    "flat-basin mass of pi_beta, pi_f, pi_star": "exact mass of the flat basin under pi_beta,"
                                                 " pi^f or pi*, by quadrature",
    "pi*(eta=E), pi_beta": "flat-basin mass of pi* along sigma = beta^(-(1+E)/4); pi_beta:"
                           " SGLD's, for comparison",
    "method, beta, sigma": "particle run: SGLD (sigma = 0) or fSGLD, N particles started at x_s",
    "flat_fraction, flat_fraction_stderr": "fraction of particles in the flat basin at the last"
                                           " step, and its binomial standard error",
    "flat_mass_chain": "exact flat mass of the discrete chain's invariant law (chain_invariant)",
    "flat_mass_small_step": "exact flat mass of the lam -> 0 measure: pi^f (fSGLD), pi_beta (SGLD)",
    "z_chain, z_small_step": "(flat_fraction - that mass) / flat_fraction_stderr",
    "z_half": "flat fraction at T/2 minus at T, in standard errors (a mixing check)",
    "exit_median": "median first step in the flat basin (inf: fewer than half left)",
    "exited_fraction": "fraction of particles that ever reached the flat basin",
    "relaxation_bias_bound, mixed": "upper bound on the bias left after the run (two-state"
                                    " picture); mixed: it is below 1 SE",
    "consistent": "the numbers in the reason meet the requirement stated there (a z test at"
                  " level 0.01, the predicted sign);\ninconclusive: the grid or the run cannot"
                  " test the claim (limit not reached, not mixed)",
}


def _exact_verdicts(tables: dict) -> list[Verdict]:
    out = []
    grid = tables["map"]
    for gap, group in grid.groupby("depth_gap", sort=True):
        excess = group.flat_mass_pi_star - group.flat_mass_pi_beta
        worst = group.loc[excess.idxmin()]
        out.append(Verdict(
            f"pi* puts at least as much mass on the flat basin as pi_beta (delta={gap:g})",
            "consistent" if excess.min() >= -MASS_TOL else "inconsistent",
            f"min over {len(group)} (beta, sigma) of m(pi*) - m(pi_beta) = {excess.min():.3g} "
            f"at beta={worst.beta:g}, sigma={worst.sigma:g}; max {excess.max():.3g}"))
    for gap, group in tables["coupling"].groupby("depth_gap", sort=True):
        for eta, curve in group.groupby("eta", sort=True):
            out.append(_coupling_verdict(curve.sort_values("beta"), gap, eta))
    land = tables["landscape"]
    both = pd.concat([grid, tables["coupling"]], ignore_index=True)
    spacing = (land.x_flat - land.x_sharp).loc[both.depth_gap].to_numpy()
    both["small_sigma"] = both.v_minimum_shift <= SHIFT_LIMIT * spacing
    for gap, group in both[both.depth_gap > 0].groupby("depth_gap", sort=True):
        out.append(_winner_verdict(group, gap, land.loc[gap]))
    out.append(_false_well_verdict(both))
    return out


def _coupling_verdict(curve: pd.DataFrame, gap: float, eta: float) -> Verdict:
    """delta = 0: m(pi*) -> 1 along the coupling (pi_beta stays split). delta > 0: the deeper
    sharp minimum wins again at large beta (sigma -> 0)."""
    last, peak = curve.iloc[-1], curve.loc[curve.flat_mass_pi_star.idxmax()]
    numbers = (f"m(pi*) = {last.flat_mass_pi_star:.4f} vs m(pi_beta) = "
               f"{last.flat_mass_pi_beta:.4f} at beta={last.beta:g} (sigma={last.sigma:.3g}); "
               f"peak m(pi*) = {peak.flat_mass_pi_star:.4f} at beta={peak.beta:g}")
    if gap == 0:
        ok = last.flat_mass_pi_star >= CONCENTRATED and last.flat_mass_pi_beta < CONCENTRATED
        claim = f"equal depths: m(pi*) -> 1 along eta={eta:g} while pi_beta keeps its split"
        predicted = 1.0 / (1.0 + np.exp(-last.log_odds))
        if not ok and predicted < CONCENTRATED:
            return Verdict(claim, "inconclusive", f"{numbers}: coupling_betas stop before the "
                           f"limit can show (Laplace log-odds {last.log_odds:.3g} at the last "
                           f"beta predict m(pi*) = {predicted:.4f} < {CONCENTRATED:g})")
        return Verdict(claim, "consistent" if ok else "inconsistent", numbers)
    claim = (f"delta={gap:g}: along eta={eta:g} sigma -> 0 and the deeper (sharp) minimum "
             "wins once (sigma^2/2) Delta tr < delta")
    reason = f"{numbers}; Laplace log-odds at the last beta {last.log_odds:.3g}"
    if last.log_odds > -L_MARGIN:
        return Verdict(claim, "inconclusive", f"{reason}: coupling_betas stop before the "
                       f"predicted crossover (log-odds < -{L_MARGIN:g})")
    return Verdict(claim, "consistent" if last.flat_mass_pi_star < 0.5 else "inconsistent",
                   reason)


def _winner_verdict(group: pd.DataFrame, gap: float, land: pd.Series) -> Verdict:
    """Sign of the Laplace log-odds L against m(pi*) > 1/2, where |L| >= L_MARGIN and sigma is
    small enough for the O(sigma^2) picture (v's minima near u's)."""
    small = group[group.small_sigma]
    decided = small[small.log_odds.abs() >= L_MARGIN]
    wrong = decided[(decided.log_odds > 0) != (decided.flat_mass_pi_star > 0.5)]
    sigma_star = np.sqrt(2 * land.depth_difference / land.trace_difference)
    reason = (f"predicted winner right at {len(decided) - len(wrong)} of {len(decided)} (beta, "
              f"sigma) with |L| >= {L_MARGIN:g} ({len(small) - len(decided)} near the boundary "
              f"and {len(group) - len(small)} with v's minima moved, sigma >= "
              f"{group[~group.small_sigma].sigma.min():.3g}, skipped); Delta tr = "
              f"{land.trace_difference:.3g}, delta = {land.depth_difference:.3g}, so "
              f"sigma* = {sigma_star:.3g} at large beta")
    if len(wrong):
        w = wrong.iloc[0]
        reason += (f"; first miss: beta={w.beta:g}, sigma={w.sigma:.3g}, L={w.log_odds:.3g}, "
                   f"m(pi*)={w.flat_mass_pi_star:.3f}")
    return Verdict(f"delta={gap:g}: the flat minimum wins under pi* iff (sigma^2/2) Delta tr > "
                   "delta (+ entropic term ln(u''_s/u''_f) / (2 beta))",
                   "consistent" if len(decided) and not len(wrong) else
                   ("inconclusive" if not len(decided) else "inconsistent"), reason)


def _false_well_verdict(points: pd.DataFrame) -> Verdict:
    """Where v's minima have moved (large sigma), pi* and pi^f disagree far more than elsewhere."""
    claim = ("v is far from g_sigma at large sigma: its Laplacian term moves and deepens wells "
             "(docs/theory.md §6), so m(pi*) departs from m(pi^f)")
    large, small = points[~points.small_sigma], points[points.small_sigma]
    if not len(large) or not len(small):
        return Verdict(claim, "inconclusive", "needs sigma on both sides of the shift limit")
    gap = lambda t: (t.flat_mass_pi_star - t.flat_mass_pi_f).abs()
    worst = large.loc[gap(large).idxmax()]
    reason = (f"where v's minima moved by > {SHIFT_LIMIT:g} of the minima's distance (sigma >= "
              f"{large.sigma.min():.3g}): max |m(pi*) - m(pi^f)| = {gap(large).max():.3f} (delta="
              f"{worst.depth_gap:g}, beta={worst.beta:g}, sigma={worst.sigma:.3g}: m(pi*) = "
              f"{worst.flat_mass_pi_star:.3f}, m(pi^f) = {worst.flat_mass_pi_f:.3f}); elsewhere "
              f"max {gap(small).max():.3f}")
    return Verdict(claim, "consistent" if gap(large).max() > gap(small).max() else
                   "inconsistent", reason)


def _particle_verdicts(table: pd.DataFrame, n: int, record_every: int) -> list[Verdict]:
    out = []
    diverged = table[table.diverged_at >= 0]
    worst = table.loc[table.z_chain.abs().idxmax()]
    mixing = (f"mixing: residual-bias bound <= {table.relaxation_bias_bound.max():.2g} (1 SE = "
              f"{table.flat_fraction_stderr.min():.2g}), exited {table.exited_fraction.min():.4f}, "
              f"max |z(T/2 vs T)| = {table.z_half.abs().max():.2f}")
    claim = "particles confirm the exact chain law's flat-basin mass (z test, level 0.01)"
    test = z_test((table.flat_fraction - table.flat_mass_chain).to_numpy(),
                  table.flat_fraction_stderr.to_numpy(), direction="= 0", claim=claim)
    reason = (f"max |z| = {abs(worst.z_chain):.2f} over {len(table)} runs of N={n}, threshold "
              f"{test.threshold:.2f} (level 0.01, Bonferroni over the runs) (worst: "
              f"{worst.method}, delta={worst.depth_gap:g}, beta={worst.beta:g}, sigma="
              f"{worst.sigma:g}: {worst.flat_fraction:.4f} vs {worst.flat_mass_chain:.4f}); "
              f"{mixing}")
    if len(diverged):
        out.append(Verdict(claim, "inconclusive", f"{len(diverged)} runs diverged; {reason}"))
    elif not table.mixed.all():
        out.append(Verdict(claim, "inconclusive", f"not all runs mixed; {reason}"))
    else:
        out.append(Verdict(claim, test.verdict.verdict, reason))
    out.append(_chain_bias_verdict(table))
    out += [_exit_verdict(group, n, record_every)
            for _, group in table.groupby(["depth_gap", "beta"], sort=True)]
    return out


def _chain_bias_verdict(table: pd.DataFrame) -> Verdict:
    """docs/theory.md §6: the chain is flatter than pi^f unless lam sigma^2 beta u''^2 << 1."""
    runs = table[(table.method == "fsgld") & (table.perturbation_heat >= HEAT_NOT_SMALL)]
    gap = runs.flat_mass_chain - runs.flat_mass_small_step
    shown = "; ".join(
        f"delta={r.depth_gap:g}, sigma={r.sigma:g}: chain {r.flat_mass_chain:.4f}, pi^f "
        f"{r.flat_mass_small_step:.4f}, particles {r.flat_fraction:.4f} (z vs pi^f "
        f"{r.z_small_step:.1f}), lam sigma^2 beta u''_s^2 = {r.perturbation_heat:.2g}"
        for r in runs.itertuples())
    return Verdict("fSGLD's discrete chain is flatter-biased than pi^f when lam sigma^2 beta "
                   "u''(x_s)^2 is not small (docs/theory.md §6)",
                   "inconclusive" if runs.empty else
                   "consistent" if (gap > MASS_TOL).all() else "inconsistent",
                   shown or f"no fSGLD run has lam sigma^2 beta u''_s^2 >= {HEAT_NOT_SMALL:g}: "
                   "particle_sigmas too small to test the claim")


def _exit_verdict(group: pd.DataFrame, n: int, record_every: int) -> Verdict:
    """Two-sample z at SGLD's median exit time t: S_sgld(t) - S_fsgld(t) over
    sqrt((S_sgld (1 - S_sgld) + S_fsgld (1 - S_fsgld)) / N), one per fSGLD sigma:
    :func:`sgldsim.verdicts.z_test` (direction "> 0", level 0.01, Bonferroni over the sigmas)."""
    gap, beta = group.depth_gap.iloc[0], group.beta.iloc[0]
    claim = f"fSGLD leaves the sharp well faster than SGLD (delta={gap:g}, beta={beta:g})"
    base, runs = group[group.method == "sgld"], group[group.method == "fsgld"]
    if not len(base) or not len(runs):
        return Verdict(claim, "inconclusive", "needs an SGLD and an fSGLD run")
    s_ref = base.survival_at_reference.iloc[0]
    gaps, ses, parts = [], [], []
    for r in runs.itertuples():
        se = np.sqrt((s_ref * (1 - s_ref) + r.survival_at_reference
                      * (1 - r.survival_at_reference)) / n)
        gaps.append(s_ref - r.survival_at_reference)
        # a zero standard error (both survivals 0 or 1): one particle's worth, 1 / N
        ses.append(se if se > 0 else 1.0 / n)
        parts.append(f"sigma={r.sigma:g}: median {r.exit_median:g}, survival "
                     f"{r.survival_at_reference:.3f} (z = {gaps[-1] / ses[-1]:.1f})")
    test = z_test(np.array(gaps), np.array(ses), direction="> 0", claim=claim)
    reason = (f"median exit step SGLD {base.exit_median.iloc[0]:g} (survival there "
              f"{s_ref:.3f}); fSGLD " + "; ".join(parts) + f"; exits resolved to "
              f"{record_every} steps; consistent when every z > {test.consistent_threshold:.2f},"
              f" inconsistent when one is below -{test.threshold:.2f} (level 0.01)")
    return Verdict(claim, test.verdict.verdict, reason)


def _summary_text(tables: dict) -> str:
    fmt = lambda v: f"{v:.4g}"
    land = tables["landscape"][["x_sharp", "x_flat", "depth_difference", "trace_difference",
                                "entropic_log_odds"]]
    parts = ["landscape (delta = u(x_f) - u(x_s), Delta tr = u''(x_s) - u''(x_f)):",
             land.to_string(float_format=fmt)]
    for gap, group in tables["map"].groupby("depth_gap", sort=True):
        for name in MEASURE_NAMES[1:]:
            matrix = group.pivot(index="beta", columns="sigma", values=f"flat_mass_{name}")
            parts += [f"\nflat-basin mass of {name} (delta={gap:g}; rows beta, columns sigma):",
                      matrix.to_string(float_format=lambda v: f"{v:.3f}")]
    coupling = tables["coupling"].pivot_table(index=["depth_gap", "beta"], columns="eta",
                                              values="flat_mass_pi_star", sort=False)
    base = tables["coupling"].groupby(["depth_gap", "beta"], sort=False).flat_mass_pi_beta.first()
    coupling.columns = [f"pi*(eta={e:g})" for e in coupling.columns]
    parts += ["\nflat-basin mass along the coupling sigma = beta^(-(1+eta)/4):",
              coupling.assign(pi_beta=base).to_string(float_format=lambda v: f"{v:.4f}")]
    if "particles" in tables:
        shown = tables["particles"][[
            "depth_gap", "method", "beta", "sigma", "flat_fraction", "flat_fraction_stderr",
            "flat_mass_chain", "flat_mass_small_step", "z_chain", "z_small_step", "z_half",
            "exit_median", "exited_fraction", "relaxation_bias_bound", "mixed"]]
        parts += ["\nparticle runs from the sharp minimum (final flat fraction vs exact laws):",
                  shown.to_string(index=False, float_format=fmt)]
    return "\n".join(parts)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """flatness_maps, flatness_coupling and (with particle runs) flatness_particles
    (:func:`~.flatness_figures.flatness_figures`)."""
    return flatness_figures(_tables(results), Params.from_config(config).coupling_etas, out_dir)

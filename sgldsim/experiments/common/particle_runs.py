"""Particle runs of the step-size experiments (convergence, step-size-rate, excess-risk).

The cells of a chunk differ in (step size, beta, sigma rule) on one 1-D landscape, so they run as
one compiled :func:`sgldsim.dynamics.simulate` call with array-valued sampler parameters and one
PRNG key per cell: each cell's particles and noise floors are those it would get alone, so the
results do not depend on the chunk size, the executor or resuming.
Particles at a fixed step are iid draws of Law(theta_k) (independent chains), so their
distance to a measure has the particle noise floor of N iid draws (docs/theory.md §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import jax
import numpy as np
import pandas as pd

from ..._memory import MemoryEstimate
from ...coupling import parse_sigma_rule
from ...distances import particle_noise_floor
from ...dynamics import fsgld_sampler, simulate
from ...dynamics.simulate import memory_needed
from ...measures import Measure1D
from ...measures.stationary import ORDERS, chain_law, distance, quantile_function, target_measures
from ...potentials.catalogue import landscape
from ...runner import ConfigError, ExperimentConfig, ExperimentParams, cell_values


@dataclass(frozen=True, kw_only=True)
class ParticleRunParams(ExperimentParams):
    """The parameters every particle experiment takes (convergence, step-size-rate, excess-risk);
    each experiment's ``Params`` subclasses it, adding its own and setting its defaults.

    Attributes:
      potential: the 1-D landscape (:func:`sgldsim.potentials.catalogue.landscape`); fixed.
      step_size: lam; finite and > 0.
      beta: inverse temperature; finite and > 0.
      sigma_rule: ``"sigma=<s>"`` (a fixed sigma >= 0; 0 is SGLD) or ``"eta=<e>"`` (coupled,
        sigma = beta^(-(1+eta)/4)); see :func:`sgldsim.coupling.parse_sigma_rule`.
      n_particles: independent chains per cell (fixed; sets the compiled shapes); >= 2.
      n_steps: steps per run (fixed); >= 1.
    """

    NOT_SWEPT = ("potential", "n_particles", "n_steps")
    """All cells of a chunk run in one compiled call: these set its shapes or its potential."""

    potential: str = "sharp-flat-double-well"
    step_size: float
    beta: float
    sigma_rule: str
    n_particles: int
    n_steps: int


@dataclass(frozen=True, kw_only=True)
class TransientRunParams(ParticleRunParams):
    """A particle experiment that keeps a series over time from one start (convergence,
    excess-risk): the parameters of :class:`ParticleRunParams` plus

    Attributes:
      x0: every particle's start (fixed).
      n_records: recorded steps, half linearly, half geometrically spaced, step 0 included
        (fixed); 2 <= n_records <= n_steps + 1.
    """

    NOT_SWEPT = (*ParticleRunParams.NOT_SWEPT, "x0", "n_records")

    x0: float
    n_records: int


def validate_transient_config(config: ExperimentConfig, params_type) -> None:
    """:func:`validate_particle_config` for a :class:`TransientRunParams` experiment."""
    fixed = params_type.from_config(config)
    validate_particle_config(config, fixed, fixed.n_records)


FLOOR_REPEATS = 10


def validate_particle_config(config: ExperimentConfig, fixed: ParticleRunParams,
                             n_records: int | None = None) -> None:
    """Checks shared by the particle experiments; raise ConfigError naming the bad value.

    Args:
      config: the run's configuration.
      fixed: its parameters, ``Params.from_config(config)``.
      n_records: records per run where the experiment keeps a series (None: the last step only).
    """
    landscape(fixed.potential)
    for name, value, low in (("n_particles", fixed.n_particles, 2), ("n_steps", fixed.n_steps, 1),
                             ("n_records", n_records, 2)):
        if value is not None and value < low:
            raise ConfigError(f"params.{name}={value} is not allowed: it must be >= {low}")
    if n_records is not None and n_records > fixed.n_steps + 1:
        raise ConfigError(f"params.n_records={n_records} is not allowed: at most n_steps + 1 = "
                          f"{fixed.n_steps + 1}")
    for name in ("step_size", "beta"):
        for value in cell_values(config, fixed, name):
            if not (0 < value < np.inf):
                raise ConfigError(f"{config.key_path(name)}={value} is not allowed: {name} must "
                                  "be finite and > 0")
    for rule in cell_values(config, fixed, "sigma_rule"):
        parse_sigma_rule(rule, 10.0)


def particle_memory(cells: Sequence, n_particles: int, n_records: int | None = None
                    ) -> MemoryEstimate:
    """Peak memory of a chunk of particle cells (the experiments' ``peak_memory``): the one
    simulate call (snapshots and working copies, :func:`sgldsim.dynamics.simulate.memory_needed`),
    the float64 copy of its snapshots that the distances read, and the noise floors' draws.

    Args:
      cells: the chunk's cells.
      n_particles: particles per cell.
      n_records: records per run where the experiment keeps a series (None: the last step).
    """
    n_cells, records = len(cells), 2 if n_records is None else n_records
    needed = (memory_needed(n_cells, records, n_particles, 1)
              + 8.0 * n_cells * (records + FLOOR_REPEATS) * n_particles)
    lower = "params.n_particles, params.n_records" if n_records is not None else (
        "params.n_particles")
    return MemoryEstimate(needed, f"a chunk of {n_cells} cells x {records} records x "
                          f"n_particles = {n_particles}", f"lower {lower} or chunk_size")


def cell_numbers(params: ParticleRunParams) -> tuple[float, float, float]:
    """(step size lam, beta, sigma) of a cell's parameters; sigma from its ``sigma_rule``."""
    return params.step_size, params.beta, parse_sigma_rule(params.sigma_rule, params.beta)[0]


def record_schedule(n_steps: int, n_records: int, spacing: str) -> np.ndarray:
    """About ``n_records`` distinct steps from 0 to n_steps: "linear", "log" (geometric from 1,
    0 prepended) or "mixed" (half of each: the log half resolves fast transients, the linear half
    the late plateau); fewer where rounding makes steps coincide."""
    linear = np.linspace(0, n_steps, n_records)
    log = np.concatenate([[0], np.geomspace(1, n_steps, n_records - 1)])
    if spacing == "mixed":
        linear, log = linear[::2], np.concatenate([[0], np.geomspace(1, n_steps, n_records // 2)])
    steps = {"linear": linear, "log": log, "mixed": np.concatenate([linear, log])}[spacing]
    return np.unique(np.round(steps).astype(np.int64))


def simulate_cells(potential, cells: Sequence[ParticleRunParams], keys, x0, n_steps: int,
                   record_at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run fSGLD (SGLD where sigma = 0) for every cell in one compiled call.

    Args:
      potential: the 1-D landscape.
      cells: the chunk's cells' parameters (``Params.from_cell``; step size, beta, sigma from
        :func:`cell_numbers`).
      keys: the cells' PRNG keys, (n_cells, 2) raw keys (each cell's noise comes from its own).
      x0: initial particles, (N, 1) shared or (n_cells, N, 1).
      n_steps, record_at: as in :func:`sgldsim.dynamics.simulate`.

    Returns:
      (particles (n_cells, n_records, N) float64, steps (n_records,), diverged_at (n_cells,)).
    """
    lam, beta, sigma = (np.array(v) for v in zip(*map(cell_numbers, cells), strict=True))
    result = simulate(keys, potential, fsgld_sampler(lam, beta, sigma), x0, n_steps,
                      record_at=record_at)
    return (np.asarray(result.particles, dtype=float)[..., 0], np.asarray(result.steps),
            np.asarray(result.diverged_at))


def distance_rows(particles: np.ndarray, steps: np.ndarray, references: dict[str, Measure1D],
                  diverged_at: int = -1) -> list[dict]:
    """W1 and W2 from the particles of each record (n_records, N) to each reference measure;
    records at or after a divergence are skipped."""
    quantiles = {name: quantile_function(m) for name, m in references.items()}
    rows = []
    for x, k in zip(particles, steps, strict=True):
        if 0 <= diverged_at <= k:
            break
        qx = quantile_function(x)
        rows += [{"source": "particles", "target": name, "step": int(k), "measure": f"w{p}",
                  "value": distance(qx, q, p)} for name, q in quantiles.items() for p in ORDERS]
    return rows


def exact_rows(references: dict[str, Measure1D]) -> list[dict]:
    """W1 and W2 between the exact measures: chain -> pi_f, chain -> pi_star, pi_f -> pi_star."""
    pairs = (("chain", "pi_f"), ("chain", "pi_star"), ("pi_f", "pi_star"))
    return [{"source": a, "target": b, "measure": f"w{p}",
             "value": distance(references[a], references[b], p)}
            for a, b in pairs for p in ORDERS]


def noise_floor(measure: Measure1D, n: int, p: int, key,
                n_repeats: int = FLOOR_REPEATS) -> tuple[float, float]:
    """Mean and standard deviation of W_p(n iid draws of the measure, the measure): the level a
    particle distance cannot go below (docs/theory.md §6)."""
    return particle_noise_floor(measure, n, p, key=jax.random.fold_in(key, p),
                                n_repeats=n_repeats)


def cell_references(potential,
                    cells: Sequence[ParticleRunParams]) -> list[dict[str, Measure1D]]:
    """Per cell (its typed parameters) ``{"chain": chain law, "pi_f": ..., "pi_star": ...}``; the
    targets depend only on (beta, sigma) and are computed once for each pair."""
    targets, out = {}, []
    for cell in cells:
        lam, beta, sigma = cell_numbers(cell)
        if (beta, sigma) not in targets:
            targets[beta, sigma] = target_measures(potential, beta, sigma)
        out.append({"chain": chain_law(potential, lam, beta, sigma), **targets[beta, sigma]})
    return out


def floor_rows(references: list[dict[str, Measure1D]], n: int, keys) -> list[list[dict]]:
    """Per cell, noise-floor rows (``w<p>_floor``, ``w<p>_floor_std``, label ``target``) for
    each of its reference measures, sampled with the cell's own key (a measure appearing twice in
    one cell is sampled once)."""
    out = []
    for refs, key in zip(references, keys, strict=True):
        rows, done = [], {}
        for i, (name, measure) in enumerate(refs.items()):
            if id(measure) not in done:
                done[id(measure)] = [noise_floor(measure, n, p, jax.random.fold_in(key, i))
                                     for p in ORDERS]
            for p, (mean, std) in zip(ORDERS, done[id(measure)], strict=True):
                rows += [{"target": name, "measure": f"w{p}_floor", "value": mean},
                         {"target": name, "measure": f"w{p}_floor_std", "value": std}]
        out.append(rows)
    return out


# ---- tables of the results -------------------------------------------------------------------
def per_cell_parameters(results, config: ExperimentConfig, fixed: ParticleRunParams):
    """One row per cell: cell_id, the swept parameters, every scalar fixed parameter (of
    ``fixed = Params.from_config(config)``, defaults included), and the cell's sigma (from its
    sigma rule)."""
    grid = [c for c in config.grid if c in results]
    cells = results[["cell_id", *grid]].drop_duplicates("cell_id").reset_index(drop=True)
    scalars = {f.name: getattr(fixed, f.name) for f in fields(fixed) if f.name not in cells}
    cells = cells.assign(**{k: v for k, v in scalars.items() if not isinstance(v, tuple)})
    sigma = [parse_sigma_rule(rule, float(beta))[0]
             for rule, beta in zip(cells.sigma_rule, cells.beta, strict=True)]
    return pd.DataFrame(cells).assign(sigma=sigma)


def labelled_table(results, measures: tuple[str, ...], labels: tuple[str, ...]):
    """Rows of ``measures`` pivoted to one column per measure, indexed by cell_id and ``labels``
    (e.g. ("source", "target", "step")); rows lacking a label are dropped."""
    rows = results[results.measure.isin(measures)].dropna(subset=list(labels))
    wide = rows.pivot_table(index=["cell_id", *labels], columns="measure", values="value",
                            sort=False).reset_index()
    wide.columns.name = None
    return wide


def particle_series(results):
    """cell_id, target, step, w1, w2 of the particle records."""
    table = labelled_table(results[results.source == "particles"], ("w1", "w2"),
                           ("target", "step"))
    return table.assign(step=table.step.astype(np.int64))


def exact_distances(results):
    """cell_id, source, target, w1, w2 between exact measures (chain, pi_f, pi_star)."""
    return labelled_table(results[results.source != "particles"], ("w1", "w2"),
                          ("source", "target"))


def floor_table(results):
    """cell_id, target, w<p>_floor, w<p>_floor_std."""
    names = tuple(f"w{p}_floor{s}" for p in ORDERS for s in ("", "_std"))
    return labelled_table(results, names, ("target",))

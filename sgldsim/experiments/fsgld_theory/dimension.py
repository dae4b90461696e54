"""Dimension (Prop. 3.4): how W2(pi^f, pi*) grows with the dimension d at a fixed (beta, sigma).

The coupling bound (Prop. 3.4 of the fSGLD paper, docs/theory.md §4) is

    W2(pi^f, pi*) = O(beta^(-eta/4) sqrt(d) + beta^(-eta/2) d + beta^(-(1+eta)/2) d^2),

pi^f ∝ exp(-beta g_sigma), pi* ∝ exp(-beta v), v = u + (sigma^2/2) Lap u. Four parts (``part``):

- ``separable``: u(x) = sum_i u1(x_i); both measures are products and W2 = sqrt(d) W2_1d exactly
  (docs/theory.md §5). The package computes product W2 that way, so the table shows it but no
  verdict judges it (it would compare a number with itself).
- ``radial``: radial wells u(x) = phi(|x|) (:class:`~sgldsim.potentials.RadialWells`), not
  separable, exact in every d: all three measures are rotation invariant and W2 between them is
  W2 between their radial laws (docs/theory.md §10). Fixed radii would not do: the r^(d-1) of the
  radial law pushes the mass past them. The wells sit on the shell where the confinement's radial
  law peaks, r_d = sqrt((d - 1) / (beta m)) (its radial law is then close to N(r_d, 1/(2 beta m))
  in every d): a sharp shell (width 0.25) at r_d and a flat one (width 0.75) at r_d + 0.75,
  depths 1, m = 1. The exponent p of W2 ~ d^p is fitted over ``radial_dims`` and compared with
  the bound's leading term by :func:`sgldsim.verdicts.power_law_bound` (``limit="infinity"``),
  only for a coupled sigma (eta in (0, 1), where Prop. 3.4 speaks). Since W2(mu, nu) <=
  sqrt(E|X|^2) + sqrt(E|Y|^2), W2 at the largest d is at most the two rms radii's sum, so the
  largest exponent the range can show is log(ceiling(d_max) / W2(d_min)) / log(d_max / d_min);
  when it lies below the bound's, the verdict is "untestable".
- ``particles``: N SGLD and fSGLD particles on the radial wells, started from exact draws of
  pi_beta, against the exact radial laws of pi_beta, pi^f, pi*: the radial W2 (a lower bound on
  W2, exact for rotation-invariant particle laws) and its floor (N exact draws).
- ``ksd``: the non-separable embedded wells (two Gaussian wells on the x_1 axis) up to
  ``ksd_dims``, where W2 between pi^f and pi* is out of reach: kernel Stein discrepancy (IMQ,
  V-statistic) of SGLD and fSGLD particles against pi^f and pi*, whose scores -beta grad g_sigma
  and -beta grad v are known exactly, with the V-statistic's floor E k_0(X, X) / N, and the
  U-statistic of KSD^2(., pi^f) - KSD^2(., pi*) on the same particles
  (:func:`sgldsim.distances.ksd_difference`, whose standard error counts their correlation).
  KSD has power at a d only where it rejects SGLD's particles (target pi_beta, not pi^f) as a
  sample of pi^f; the claim "fSGLD's particles are nearer pi^f than pi*" is judged at those d
  only (:func:`sgldsim.verdicts.z_test`), and is "untestable" where there are none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jax
import numpy as np
import pandas as pd

from ..._memory import MemoryEstimate
from ..._warnings import warn_if_slow
from ...coupling import parse_sigma_rule
from ...distances import (
    gibbs_score,
    ksd_difference,
    ksd_with_info,
    radial_noise_floor,
    radial_wasserstein,
    wasserstein,
)
from ...distances.stein import DEFAULT_BLOCK, ksd_seconds
from ...dynamics import fsgld_sampler, sgld_sampler, simulate
from ...dynamics.simulate import memory_needed
from ...figures.style import (
    PAGE_WIDTH_IN,
    add_reference_slope,
    new_figure,
    save_figure,
)
from ...measures import Gibbs
from ...potentials import RadialWells
from ...potentials.catalogue import EMBEDDED_WELLS, landscape_nd
from ...runner import (
    Cell,
    ConfigError,
    ExperimentConfig,
    ExperimentParams,
    Summary,
    cell_values,
    cells_table,
    expand_grid,
)
from ...verdicts import Verdict, power_law_bound, z_test
from ..common.checks import check_coupling_betas
from ..common.memory import gibbs_bytes

CHUNK_SIZE = 1
Part = Literal["separable", "radial", "particles", "ksd"]
"""The experiment's parts (module docstring); a cell computes one."""
TRIANGLE_FLOORS = 2.0
"""The particle gap W2(x, pi*) - W2(x, pi^f) differs from the particle law's by at most
2 W2(x, law) (triangle inequality), about 2 floors: a gap beyond it has a known sign."""
POWER_LEVEL = 0.01
"""Level of the per-d check that KSD rejects SGLD's particles as a sample of pi^f."""
BOUND_EXPONENTS = (0.5, 1.0, 2.0)  # powers of d in the bound's three terms
RADIAL_OFFSETS = (0.0, 0.75)  # well radii minus the shell radius r_d
RADIAL_WIDTHS = (0.25, 0.75)  # sharp and flat shell
SAMPLERS = ("sgld", "fsgld")  # the particle parts run each from one shared start
TARGETS = ("pi_beta", "pi_f", "pi_star")
DIFFERENCE = "pi_f-pi_star"  # target label of KSD^2(., pi^f) - KSD^2(., pi*) (ksd part)
_NONE = "-"  # label of rows a label does not apply to


@dataclass(frozen=True, kw_only=True)
class Params(ExperimentParams):
    """dimension's parameters (each may be swept in ``[grid]`` unless marked fixed).

    Attributes:
      part: which part of the experiment a cell computes (module docstring); required: the
        shipped run sweeps it.
      beta: inverse temperature; finite and > 1 (required: the shipped run sweeps it).
      sigma_rule: ``"eta=<e>"`` (coupled, sigma = beta^(-(1+eta)/4)) or ``"sigma=<s>"`` (a
        fixed sigma); required: the shipped run sweeps it.
      separable_potential: the 1-D landscape of the product u(x) = sum_i u1(x_i)
        (:func:`sgldsim.potentials.catalogue.landscape_nd`); fixed.
      separable_dims, radial_dims, particle_dims, ksd_dims: the dimensions d of the separable,
        radial, particle and KSD parts (fixed); each a non-empty list of distinct integers >= 1.
      n_particles: particles per run (fixed); >= 10.
      n_steps: steps per run (fixed); >= 1.
      step_size: lam of the particle runs (fixed); finite and > 0.
      floor_repeats: exact draws of N particles per noise floor (fixed); >= 2.
    """

    NOT_SWEPT = ("separable_potential", "separable_dims", "radial_dims", "particle_dims",
                 "ksd_dims", "n_particles", "n_steps", "step_size", "floor_repeats")

    part: Part
    beta: float
    sigma_rule: str
    separable_potential: str = "sharp-flat-double-well"
    separable_dims: tuple[int, ...] = (1, 10, 100, 1000)
    radial_dims: tuple[int, ...] = (1, 3, 10, 30, 100, 300, 1000)
    particle_dims: tuple[int, ...] = (1, 3, 10, 30, 100)
    ksd_dims: tuple[int, ...] = (1, 3, 10, 30, 100)
    n_particles: int = 1000
    n_steps: int = 5000
    step_size: float = 0.002
    floor_repeats: int = 5


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    fixed = Params.from_config(config)
    landscape_nd(fixed.separable_potential, 1)
    check_coupling_betas(cell_values(config, fixed, "beta"), config.key_path("beta"))
    for rule in cell_values(config, fixed, "sigma_rule"):
        parse_sigma_rule(rule, 10.0)
    for name, dims in (("separable_dims", fixed.separable_dims),
                       ("radial_dims", fixed.radial_dims),
                       ("particle_dims", fixed.particle_dims), ("ksd_dims", fixed.ksd_dims)):
        if not dims or any(d < 1 for d in dims) or len(set(dims)) != len(dims):
            raise ConfigError(f"params.{name}={list(dims)} is not allowed: a list of distinct "
                              "positive integers")
    for name, value, low in (("n_particles", fixed.n_particles, 10),
                             ("n_steps", fixed.n_steps, 1),
                             ("floor_repeats", fixed.floor_repeats, 2)):
        if value < low:
            raise ConfigError(f"params.{name}={value} is not allowed: it must be >= {low}")
    if not 0 < fixed.step_size < np.inf:
        raise ConfigError(f"params.step_size={fixed.step_size} is not allowed: it must be "
                          "finite and > 0")
    if "ksd" in cell_values(config, fixed, "part"):
        _warn_if_ksd_is_slow(config, fixed)


def _warn_if_ksd_is_slow(config: ExperimentConfig, p: Params) -> None:
    """Before any work, a SlowComputationWarning when the KSD part's pair sums (per cell, per d:
    2 samplers x (2 targets x V and U statistics + the difference)) will take over a minute."""
    n_cells = sum(Params.from_cell(c).part == "ksd" for c in expand_grid(config))
    seconds = n_cells * sum(2 * (4 * ksd_seconds(p.n_particles, d)
                                 + ksd_seconds(p.n_particles, d, two=True)) for d in p.ksd_dims)
    warn_if_slow(seconds, f"{config.name}: the KSD part ({n_cells} cells, n_particles = "
                          f"{p.n_particles}, d up to {max(p.ksd_dims)})",
                 "its pair sums are O(N^2 d): lower params.n_particles or params.ksd_dims")


PARTICLE_COPIES = 4
"""float64 (N, d) arrays of the particle part besides the simulation: the exact start and the
two samplers' final particles (and their norms' temporaries)."""
KSD_COPIES = 12
"""float64 (N, d) arrays of the KSD part besides the simulation: the start, the two samplers'
particles, both targets' scores, the padded particles and scores of the pair sums and the
scores' temporaries."""
PAIR_ARRAYS = 16
"""float64 arrays of a block of pairs (block x block) while the Stein kernel is summed."""


def cell_memory(p: Params) -> tuple[float, str]:
    """Peak bytes of one cell and what sets them: the exact measures of the separable and
    radial parts (grids set by gibbs_1d's resolution); for the particle and KSD parts, at the
    largest d, N x d particles in the simulation (float32, with its working copies,
    :func:`sgldsim.dynamics.simulate.memory_needed`) and their float64 copies, and for KSD its
    pair blocks."""
    if p.part in ("separable", "radial"):
        return gibbs_bytes([3000.0] * 3), f"{p.part}: exact measures"
    n, dims = p.n_particles, p.particle_dims if p.part == "particles" else p.ksd_dims
    d = max(dims)
    copies = PARTICLE_COPIES if p.part == "particles" else KSD_COPIES
    needed = memory_needed(1, 2, n, d) + 8.0 * copies * n * d
    if p.part == "ksd":
        needed += 8.0 * PAIR_ARRAYS * min(n, DEFAULT_BLOCK) ** 2
    return needed, f"{p.part}: n_particles = {n} x d = {d}"


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: its largest cell's (cells run one at a time, :func:`cell_memory`)."""
    needed, what = max(cell_memory(Params.from_cell(c)) for c in cells)
    return MemoryEstimate(needed, what, "lower params.n_particles or the largest of "
                          "params.particle_dims / params.ksd_dims")


def radial_landscape(dim: int, beta: float) -> RadialWells:
    """Radial wells on the confinement's radial mode r_d = sqrt((d - 1) / beta) (m = 1): radii
    r_d + (0, 0.75), widths (0.25, 0.75), depths 1 (module docstring)."""
    shell = np.sqrt((dim - 1) / beta)
    return RadialWells(radii=shell + np.array(RADIAL_OFFSETS), depths=[1.0, 1.0],
                       widths=list(RADIAL_WIDTHS), confinement=1.0, dim=dim)


def bound_terms(dims, beta: float, eta: float) -> np.ndarray:
    """(3, len(dims)): beta^(-eta/4) sqrt(d), beta^(-eta/2) d, beta^(-(1+eta)/2) d^2 (the bound's
    terms with unit constants)."""
    d = np.asarray(dims, dtype=float)
    prefactors = float(beta) ** -np.array([eta / 4, eta / 2, (1 + eta) / 2])
    return prefactors[:, None] * d[None, :] ** np.array(BOUND_EXPONENTS)[:, None]


def leading_exponent(d_max: float, beta: float, eta: float) -> float:
    """The power of d of the bound's largest term at d = d_max (unit constants)."""
    return BOUND_EXPONENTS[int(np.argmax(bound_terms([d_max], beta, eta)[:, 0]))]


def _row(dim, measure: str, value, method: str = _NONE, target: str = _NONE) -> dict:
    return {"dim": int(dim), "method": method, "target": target, "measure": measure,
            "value": float(value)}


def run_cell(config: ExperimentConfig, cell: Cell, key) -> list[dict]:
    p = Params.from_cell(cell)
    beta = p.beta
    sigma, eta = parse_sigma_rule(p.sigma_rule, beta)
    part = p.part
    if part == "separable":
        rows = _separable_rows(p.separable_potential, p.separable_dims, beta, sigma)
    elif part == "radial":
        rows = [r for d in p.radial_dims for r in _radial_rows(int(d), beta, sigma)]
    else:
        dims = p.particle_dims if part == "particles" else p.ksd_dims
        one = _particle_rows if part == "particles" else _ksd_rows
        rows = [r for d, k in zip(dims, jax.random.split(key, len(dims)), strict=True)
                for r in one(int(d), beta, sigma, p, k)]
    dims = sorted({r["dim"] for r in rows})
    return rows + [_row(d, name, value) for d in dims
                   for name, value in (("sigma", sigma), ("eta", eta))]


def _separable_rows(name: str, dims, beta: float, sigma: float) -> list[dict]:
    """Exact W2 through the product measures in each d, beside sqrt(d) W2_1d."""
    w2_1d = _exact_w2(landscape_nd(name, 1), beta, sigma)
    return [r for d in dims for r in (
        _row(d, "w2", _exact_w2(landscape_nd(name, int(d)), beta, sigma), target="pi_star"),
        _row(d, "w2_sqrt_d_1d", np.sqrt(d) * w2_1d, target="pi_star"))]


def _exact_w2(u, beta: float, sigma: float) -> float:
    return wasserstein(Gibbs(u.smoothed(sigma), beta), Gibbs(u.regularized(sigma), beta), p=2)


def _radial_measures(dim: int, beta: float, sigma: float) -> dict:
    """pi_beta, pi^f, pi* of the radial wells as RadialMeasures (d = 1 included)."""
    u = radial_landscape(dim, beta)
    return {name: Gibbs(pot, beta, method="radial") for name, pot in
            (("pi_beta", u), ("pi_f", u.smoothed(sigma)), ("pi_star", u.regularized(sigma)))}


def _radial_rows(dim: int, beta: float, sigma: float) -> list[dict]:
    """Exact W2(pi^f, pi*) and W2(pi_beta, pi^f), the mean and rms radii."""
    m = _radial_measures(dim, beta, sigma)
    rows = [_row(dim, "w2", wasserstein(m["pi_f"], m["pi_star"], p=2), target="pi_star"),
            _row(dim, "w2_beta_f", wasserstein(m["pi_beta"], m["pi_f"], p=2), target="pi_star"),
            _row(dim, "shell_radius", np.sqrt((dim - 1) / beta), target="pi_star")]
    return rows + [_row(dim, f"{stat}_radius_{name}", value, target="pi_star")
                   for name, measure in m.items()
                   for stat, value in (("mean", measure.mean_radius()),
                                       ("rms", np.sqrt(measure.radius_moment(2))))]


def _run_particles(u, beta: float, sigma: float, x0, params: Params, key) -> dict:
    """Final particles (N, d) float64 of each of :data:`SAMPLERS` (one shared start)."""
    lam = params.step_size
    samplers = {"sgld": sgld_sampler(lam, beta), "fsgld": fsgld_sampler(lam, beta, sigma)}
    out = {}
    for i, method in enumerate(SAMPLERS):
        result = simulate(jax.random.fold_in(key, i), u, samplers[method], x0, params.n_steps)
        out[method] = np.asarray(result.particles[-1], dtype=float)
    return out


def _particle_rows(dim: int, beta: float, sigma: float, params: Params, key) -> list[dict]:
    """Radial W2 of SGLD and fSGLD particles (started from exact pi_beta draws) to the exact
    radial laws, and the floor of N exact radii; the perturbation-noise ratio
    lam sigma^2 beta L^2 (L: the sharp well's radial curvature, 1 + 1/0.25^2) of docs/theory.md
    §6."""
    k_start, k_run, k_floor = jax.random.split(key, 3)
    measures = _radial_measures(dim, beta, sigma)
    x0 = measures["pi_beta"].sample(k_start, params.n_particles)
    particles = _run_particles(radial_landscape(dim, beta), beta, sigma, x0, params, k_run)
    rows = [_row(dim, "w2", radial_wasserstein(x, measures[t], p=2), method, t)
            for method, x in particles.items() for t in TARGETS]
    for i, t in enumerate(TARGETS):
        floor, floor_std = radial_noise_floor(measures[t], params.n_particles, 2,
                                              key=jax.random.fold_in(k_floor, i),
                                              n_repeats=params.floor_repeats)
        rows += [_row(dim, "w2_floor", floor, target=t), _row(dim, "w2_floor_std", floor_std,
                                                               target=t)]
    curvature = 1.0 + 1.0 / RADIAL_WIDTHS[0] ** 2
    return rows + [_row(dim, "w2", wasserstein(measures["pi_f"], measures["pi_star"], p=2),
                        "exact", "pi_star"),
                   _row(dim, "noise_ratio",
                        params.step_size * sigma**2 * beta * curvature**2)]


def _ksd_rows(dim: int, beta: float, sigma: float, params: Params, key) -> list[dict]:
    """KSD of SGLD and fSGLD particles (started at N(0, I / beta), between the wells) against
    pi^f and pi* of the embedded wells, with the V-statistic's floor, and the U-statistic of
    KSD^2(., pi^f) - KSD^2(., pi*) on the same particles (target "pi_f-pi_star")."""
    k_start, k_run = jax.random.split(key)
    u = landscape_nd(EMBEDDED_WELLS, dim)
    n = params.n_particles
    x0 = np.asarray(jax.random.normal(k_start, (n, dim))) / np.sqrt(beta)
    particles = _run_particles(u, beta, sigma, x0, params, k_run)
    scores = {"pi_f": gibbs_score(u.smoothed(sigma), beta),
              "pi_star": gibbs_score(u.regularized(sigma), beta)}
    rows = []
    for method, x in particles.items():
        for target, score in scores.items():
            v_info = ksd_with_info(x, score)
            u_info = ksd_with_info(x, score, statistic="u")
            rows += [_row(dim, "ksd", v_info.value, method, target),
                     _row(dim, "ksd_floor", v_info.floor, method, target),
                     _row(dim, "ksd2_u", u_info.ksd_squared, method, target),
                     _row(dim, "ksd2_u_stderr", u_info.ksd_squared_stderr, method, target)]
        diff = ksd_difference(x, scores["pi_f"], scores["pi_star"])
        rows += [_row(dim, "ksd2_u", diff.difference, method, DIFFERENCE),
                 _row(dim, "ksd2_u_stderr", diff.stderr, method, DIFFERENCE)]
    return rows


# ---- summary ----------------------------------------------------------------------------------
def _table(results: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    table = cells_table(results, config)
    for column in ("w2", "w2_sqrt_d_1d", "w2_floor", "ksd", "ksd_floor", "ksd2_u",
                   "ksd2_u_stderr", "w2_beta_f",
                   "noise_ratio", "shell_radius", *(f"{stat}_radius_{t}" for t in TARGETS
                                                     for stat in ("mean", "rms"))):
        if column not in table:
            table[column] = np.nan
    return table


def _per_dim_scalars(table: pd.DataFrame) -> pd.DataFrame:
    """sigma, eta and noise_ratio rows (method and target '-') joined onto the labelled rows."""
    keys = ["cell_id", "dim"]
    scalars = table[(table.method == _NONE) & (table.target == _NONE)]
    scalars = scalars[[*keys, "sigma", "eta", "noise_ratio"]].drop_duplicates(keys)
    rest = table[~((table.method == _NONE) & (table.target == _NONE))].drop(
        columns=["sigma", "eta", "noise_ratio"])
    return rest.merge(scalars, on=keys, how="left")


def _particle_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (sigma rule, d, method) of the particle part: radial W2 to each target, the
    floors, and W2(pi^f, pi*) exact."""
    part = table[table.part == "particles"]
    floors = part[part.method == _NONE].pivot_table(
        index=["sigma_rule", "dim"], columns="target", values="w2_floor")
    w2 = part[part.method != _NONE].pivot_table(index=["sigma_rule", "dim", "method"],
                                                 columns="target", values="w2")
    out = w2.reset_index().merge(floors.add_prefix("floor_").reset_index(),
                                 on=["sigma_rule", "dim"])
    exact = part[part.method == "exact"][["sigma_rule", "dim", "w2", "noise_ratio"]]
    out = out[out.method != "exact"].merge(exact.rename(columns={"w2": "w2_f_star"}),
                                           on=["sigma_rule", "dim"])
    out.columns.name = None
    return out


def _ksd_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (sigma rule, d, method) of the KSD part; the difference U-statistic's columns
    are ksd2_u_diff and ksd2_u_stderr_diff (absent in runs made before it existed)."""
    part = table[(table.part == "ksd") & (table.method != _NONE)]
    wide = part.pivot_table(index=["sigma_rule", "dim", "method"], columns="target",
                            values=["ksd", "ksd_floor", "ksd2_u", "ksd2_u_stderr"])
    wide.columns = [f"{a}_{'diff' if b == DIFFERENCE else b}" for a, b in wide.columns]
    return wide.reset_index()


LEGEND = """\
columns: sigma_rule, sigma, eta: the perturbation (coupled sigma = beta^(-(1+eta)/4) or fixed);
dim: d; w2 = W2(pi^f, pi*) exact (separable: product measures; radial: radial laws);
w2_sqrt_d_1d: sqrt(d) W2_1d (the product measures' W2 is computed this way: shown, not judged);
w2_beta_f: W2(pi_beta, pi^f) exact; shell_radius: r_d = sqrt((d-1)/beta), where the wells sit;
mean_radius_*, rms_radius_*: E|X| and sqrt(E|X|^2) under each measure (W2(pi^f, pi*) <= the sum
of the two rms radii: this caps the exponent of d the radial part can show).
particles: radial W2 of the SGLD / fSGLD particles to pi_beta, pi_f, pi_star (a lower bound on W2,
exact for rotation-invariant particle laws); floor_*: radial W2 of N exact draws (mean of
repeats); w2_f_star: exact W2(pi^f, pi*); noise_ratio: lam sigma^2 beta L^2 (fSGLD is near pi^f
only when it is << 1). ksd: KSD (IMQ, V-statistic) of the particles against pi^f (ksd_pi_f) and
pi* (ksd_pi_star); ksd_floor_*: the V-statistic's value for exact draws, sqrt(E k_0(X, X) / N);
ksd2_u_*: the unbiased U-statistic of KSD^2 (0 for exact draws, can be < 0); ksd2_u_stderr_*: its
standard error (Hoeffding); ksd2_u_diff: the U-statistic of KSD^2(., pi^f) - KSD^2(., pi*) on the
same particles, with its standard error ksd2_u_stderr_diff (counting the two statistics'
correlation). Verdicts: the radial W2 comparison counts a d where the gap exceeds 2 floors (the
triangle inequality bounds the particles' error of the gap by about 2 floors); the KSD comparison
is judged only at d where KSD rejects SGLD's particles as a sample of pi^f (z test, level 0.01),
by a z test of ksd2_u_diff < 0 (level 0.01, Bonferroni over those d)."""


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table = _per_dim_scalars(_table(results, config))
    verdicts, fitted, texts = [], {}, []
    fmt = {"float_format": lambda v: f"{v:.4g}", "index": False}
    separable = table[table.part == "separable"].dropna(subset=["w2"])
    if len(separable):
        texts.append("separable (W2 = sqrt(d) W2_1d by construction; not judged):\n"
                     + separable[["sigma_rule", "sigma", "dim", "w2",
                                  "w2_sqrt_d_1d"]].to_string(**fmt))
    radial = table[(table.part == "radial")].dropna(subset=["w2"])
    if len(radial):
        texts.append("radial (exact):\n" + radial[
            ["sigma_rule", "sigma", "dim", "shell_radius", "w2", "w2_beta_f",
             "mean_radius_pi_beta", "mean_radius_pi_f", "mean_radius_pi_star",
             "rms_radius_pi_f", "rms_radius_pi_star"]].to_string(**fmt))
        notes = []
        for (rule, beta), group in radial.groupby(["sigma_rule", "beta"], sort=False):
            verdict, exponent, stderr, attainable = _growth_verdict(group, rule, beta)
            fitted[f"radial_d_exponent[{rule}]"] = exponent
            fitted[f"radial_d_exponent_stderr[{rule}]"] = stderr
            fitted[f"radial_d_max_attainable_exponent[{rule}]"] = attainable
            if verdict is None:
                notes.append(f"{rule}: implied eta = {group.eta.iloc[0]:.3g} is outside (0, 1), "
                             "where Prop. 3.4 says nothing: the exponent is shown, not judged")
            else:
                verdicts.append(verdict)
        if notes:
            texts[-1] += "\n" + "\n".join(notes)
    if (table.part == "particles").any():
        particles = _particle_table(table)
        texts.append("particles (radial W2):\n" + particles.to_string(**fmt))
        for rule, g in particles[particles.method == "fsgld"].groupby("sigma_rule", sort=False):
            verdicts.append(_nearer_w2_verdict(g, rule))
    if (table.part == "ksd").any():
        ksd = _ksd_table(table)
        texts.append("ksd (embedded wells):\n" + ksd.to_string(**fmt))
        for rule, g in ksd.groupby("sigma_rule", sort=False):
            verdicts.append(_nearer_ksd_verdict(g, rule))
    text = "\n\n".join(texts) + "\n\n" + LEGEND
    return Summary(table=text, fitted=fitted, verdicts=verdicts)


def max_attainable_exponent(dims, w2, ceiling) -> float:
    """The largest exponent of d the data's range can show: W2 starts at w2 at the smallest d and
    cannot exceed ``ceiling`` (sqrt(E|X|^2) + sqrt(E|Y|^2)) at the largest d."""
    d, w, c = (np.asarray(a, dtype=float) for a in (dims, w2, ceiling))
    first, last = np.argmin(d), np.argmax(d)
    return float(np.log(c[last] / w[first]) / np.log(d[last] / d[first]))


def _growth_verdict(group: pd.DataFrame, rule: str, beta: float):
    """Exact radial W2(pi^f, pi*) against d: power_law_bound (d -> infinity) with the bound's
    leading exponent, "untestable" when the rms-radius ceiling caps the attainable exponent below
    it. Returns (verdict or None where eta is outside (0, 1), exponent, stderr, attainable)."""
    group = group.sort_values("dim")
    eta = float(group.eta.iloc[0])
    p_bound = leading_exponent(group.dim.max(), beta, eta)
    if group.rms_radius_pi_f.notna().all() and group.rms_radius_pi_star.notna().all():
        ceiling, what = group.rms_radius_pi_f + group.rms_radius_pi_star, "rms"
    else:  # runs made before the rms radii were recorded: E|X| <= sqrt(E|X|^2), nearly equal
        ceiling, what = group.mean_radius_pi_f + group.mean_radius_pi_star, "mean"
    attainable = max_attainable_exponent(group.dim, group.w2, ceiling)
    sigma = "" if rule.startswith("sigma=") else f", sigma={group.sigma.iloc[0]:.3g}"
    claim = (f"radial wells: W2(pi^f, pi*) grows in d no faster than the bound's leading term "
             f"d^{p_bound:g} (beta={beta:g}, {rule}{sigma}; Prop. 3.4)")
    fit = power_law_bound(group.dim, group.w2, p_bound, limit="infinity",
                          max_attainable_exponent=attainable, claim=claim)
    if not 0 < eta < 1:
        return None, fit.exponent, fit.stderr, attainable
    v = fit.verdict
    reason = (f"{v.reason}; W2 <= sqrt(E|X|^2) + sqrt(E|Y|^2) = {ceiling.iloc[-1]:.3g} at "
              f"d={group.dim.max():g} ({what} radii) from W2 = {group.w2.iloc[0]:.3g} at "
              f"d={group.dim.min():g}: largest attainable exponent {attainable:.3g}")
    return Verdict(v.claim, v.verdict, reason), fit.exponent, fit.stderr, attainable


def _per_dim_text(group: pd.DataFrame, to_f: str, to_star: str) -> str:
    return "; ".join(f"d={r.dim:g}: {getattr(r, to_f):.3g} vs {getattr(r, to_star):.3g}"
                     for r in group.itertuples())


def _nearer_w2_verdict(group: pd.DataFrame, rule: str) -> Verdict:
    """fSGLD's particles are nearer pi^f than pi* in radial W2, at the d where the gap
    W2(x, pi*) - W2(x, pi^f) exceeds TRIANGLE_FLOORS floors (its sign is then the particle
    law's); inconsistent if any such d has the particles nearer pi*."""
    claim = (f"fSGLD particles are nearer pi^f than pi* (radial W2, {rule}): pi^f is fSGLD's "
             f"small-step invariant measure")
    threshold = TRIANGLE_FLOORS * np.maximum(group.floor_pi_f, group.floor_pi_star)
    gap = group.pi_star - group.pi_f
    resolved = group[np.abs(gap) > threshold]
    per_dim = _per_dim_text(group, "pi_f", "pi_star")
    ratio = (f"; noise ratio lam sigma^2 beta L^2 up to {group.noise_ratio.max():.2g}"
             if group.noise_ratio.notna().any() else "")
    if resolved.empty:
        return Verdict(claim, "inconclusive", f"no dimension separates pi^f from pi* by more "
                       f"than {TRIANGLE_FLOORS:g} floors ({per_dim}){ratio}")
    wrong = resolved[resolved.pi_star < resolved.pi_f]
    against = f"; nearer pi* at d = {', '.join(f'{d:g}' for d in wrong.dim)}" if len(wrong) \
        else ""
    return Verdict(claim, "inconsistent" if len(wrong) else "consistent",
                   f"to pi^f vs to pi* ({per_dim}); gap beyond {TRIANGLE_FLOORS:g} floors at d = "
                   f"{', '.join(f'{d:g}' for d in resolved.dim)}{against}{ratio}")


def ksd_power(group: pd.DataFrame) -> pd.Series:
    """Per row of SGLD's KSD table: whether the U-statistic of KSD^2 to pi^f rejects 0 (a z test
    at level POWER_LEVEL). SGLD targets pi_beta, not pi^f: where its particles pass as a sample of
    pi^f, KSD cannot tell the measures apart at that d."""
    return pd.Series([z_test(r.ksd2_u_pi_f, r.ksd2_u_stderr_pi_f, direction="> 0",
                             level=POWER_LEVEL).verdict.verdict == "consistent"
                      for r in group.itertuples()], index=group.index)


def _nearer_ksd_verdict(group: pd.DataFrame, rule: str) -> Verdict:
    """fSGLD's particles are nearer pi^f than pi* in KSD (U-statistic of the difference < 0, a z
    test), judged only at the d where KSD has power (:func:`ksd_power` on SGLD's particles)."""
    claim = (f"fSGLD particles are nearer pi^f than pi* (U-statistic of KSD^2, {rule}): pi^f is "
             f"fSGLD's small-step invariant measure")
    fsgld = group[group.method == "fsgld"].set_index("dim").sort_index()
    sgld = group[group.method == "sgld"].set_index("dim").sort_index()
    if fsgld.empty or sgld.empty:
        return Verdict(claim, "inconclusive", "needs SGLD and fSGLD particles")
    power = ksd_power(sgld)
    sgld_text = "; ".join(f"d={d:g}: {r.ksd2_u_pi_f:.3g} +- {r.ksd2_u_stderr_pi_f:.2g}"
                          for d, r in sgld.iterrows())
    if not power.any():
        return Verdict(claim, "untestable", "KSD has no power here: SGLD's particles (target "
                       "pi_beta) also pass 'KSD^2 to pi^f is 0' at every d (U-statistic +- SE: "
                       f"{sgld_text}; z test, level {POWER_LEVEL:g})")
    dims = power.index[power.to_numpy()]
    rows = fsgld.loc[fsgld.index.intersection(dims)]
    if "ksd2_u_diff" in rows and rows.ksd2_u_diff.notna().all():
        diff, se = rows.ksd2_u_diff, rows.ksd2_u_stderr_diff
        how = "U-statistic of the kernel difference, SE counting the shared particles"
    else:  # runs made before the difference was recorded: SD(A - B) <= SD(A) + SD(B)
        diff = rows.ksd2_u_pi_f - rows.ksd2_u_pi_star
        se = rows.ksd2_u_stderr_pi_f + rows.ksd2_u_stderr_pi_star
        how = "U_f - U_*, SE bounded by SE_f + SE_* (the two share the particles)"
    test = z_test(diff.to_numpy(), se.to_numpy(), direction="< 0", claim=claim)
    shown = "; ".join(f"d={d:g}: {v:.3g} +- {e:.2g}" for d, v, e in zip(rows.index, diff, se,
                                                                       strict=True))
    skipped = sorted(set(sgld.index) - set(dims))
    skip_text = (f"; not judged at d = {', '.join(f'{d:g}' for d in skipped)} (SGLD's particles "
                 "pass as pi^f there: no power)") if skipped else ""
    return Verdict(claim, test.verdict.verdict,
                   f"KSD^2 to pi^f minus to pi* of fSGLD's particles ({how}): {shown}; "
                   f"{test.verdict.reason}{skip_text}")


# ---- figures ----------------------------------------------------------------------------------
def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """Left: exact W2(pi^f, pi*) against d (radial wells, one line per sigma rule; separable
    products dashed) with the bound's three terms as reference slopes. Middle: radial W2 of
    fSGLD particles to pi^f and pi* with the floor. Right: the U-statistic of KSD^2 of fSGLD
    particles against pi^f and pi* (embedded wells), and their difference on the same particles
    (the quantity the KSD verdict tests), +- 2 standard errors, symlog axis."""
    table = _per_dim_scalars(_table(results, config))
    fig, axes = new_figure(1, 3, width_in=PAGE_WIDTH_IN, aspect=1.35, squeeze=False)
    ax_w2, ax_particles, ax_ksd = axes[0]
    colours = ("#CC3311", "#0077BB", "#009988", "#EE7733")
    rules = list(dict.fromkeys(table.sigma_rule))
    for colour, rule in zip(colours, rules, strict=False):
        radial = table[(table.part == "radial") & (table.sigma_rule == rule)].dropna(
            subset=["w2"]).sort_values("dim")
        if len(radial):
            label = rf"radial, {rule} ($\sigma$={radial.sigma.iloc[0]:.2g})"
            ax_w2.plot(radial.dim, radial.w2, "o-", color=colour, label=label)
            if rule == rules[-1]:  # the bound's slopes over the last decade, through its start
                span = radial[radial.dim >= radial.dim.max() / 10]
                first = span.iloc[0]
                styles = (":", "--", "-.")
                for exponent, style in zip(BOUND_EXPONENTS, styles, strict=True):
                    ref = add_reference_slope(ax_w2, span.dim, exponent, (first.dim, first.w2),
                                              f"bound term $d^{{{exponent:g}}}$ (slope)")
                    ref.set_linestyle(style)
        sep = table[(table.part == "separable") & (table.sigma_rule == rule)].dropna(
            subset=["w2"]).sort_values("dim")
        if len(sep):
            ax_w2.plot(sep.dim, sep.w2, "s--", color=colour, markerfacecolor="none",
                       linewidth=0.7, label=f"separable, {rule}")
    if (table.part == "particles").any():
        particles = _particle_table(table)
        for colour, rule in zip(colours, rules, strict=False):
            g = particles[(particles.sigma_rule == rule) & (particles.method == "fsgld")]
            g = g.sort_values("dim")
            if len(g):
                ax_particles.plot(g.dim, g.pi_f, "o-", color=colour, label=rf"to $\pi^f$, {rule}")
                ax_particles.plot(g.dim, g.pi_star, "^--", color=colour,
                                  label=rf"to $\pi^*$, {rule}")
                ax_particles.plot(g.dim, g.w2_f_star, ":", color=colour, linewidth=0.8)
                ax_particles.plot(g.dim, g.floor_pi_f, "x", color="0.3", linestyle="none")
        ax_particles.plot([], [], ":", color="0.3", label=r"exact $W_2(\pi^f,\pi^*)$")
        ax_particles.plot([], [], "x", color="0.3", label="floor (N exact radii)")
    if (table.part == "ksd").any():
        ksd = _ksd_table(table)
        for colour, rule in zip(colours, rules, strict=False):
            g = ksd[(ksd.sigma_rule == rule) & (ksd.method == "fsgld")].sort_values("dim")
            if len(g):
                for target, marker in (("pi_f", "o-"), ("pi_star", "^--")):
                    ax_ksd.errorbar(g.dim, g[f"ksd2_u_{target}"],
                                    yerr=2.0 * g[f"ksd2_u_stderr_{target}"],
                                    fmt=marker, color=colour, capsize=2,
                                    label=rf"to $\pi^{{{'f' if target == 'pi_f' else '*'}}}$, "
                                          f"{rule}")
                if "ksd2_u_diff" in g and g.ksd2_u_diff.notna().any():  # what the verdict tests
                    ax_ksd.errorbar(g.dim * 1.08, g.ksd2_u_diff, yerr=2.0 * g.ksd2_u_stderr_diff,
                                    fmt="D:", color=colour, markerfacecolor="none", capsize=2,
                                    label=rf"to $\pi^f$ minus to $\pi^*$, {rule}")
        ax_ksd.axhline(0.0, color="0.3", linewidth=0.6)
        ax_ksd.set_yscale("symlog", linthresh=0.03)
    ax_w2.set(xscale="log", yscale="log", xlabel="dimension $d$",
              ylabel=r"$W_2(\pi^f_{\beta,\sigma}, \pi^*_{\beta,\sigma})$",
              title="exact: radial wells, products")
    ax_particles.set(xscale="log", yscale="log", xlabel="dimension $d$",
                     ylabel="radial $W_2$ of fSGLD particles", title="particles, radial wells")
    ax_ksd.set(xscale="log", xlabel="dimension $d$",
               ylabel=r"KSD$^2$ (U-statistic, $\pm$2 s.e.) of fSGLD particles",
               title="KSD, embedded wells")
    for ax in axes[0]:
        ax.legend(fontsize=5, loc="best", framealpha=0.6)
    return save_figure(fig, out_dir, "dimension")

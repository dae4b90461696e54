"""Dimension (Prop. 3.4): how W2(pi^f, pi*) grows with the dimension d at a fixed (beta, sigma).

The coupling bound (docs/theory.md §4: Prop. 3.4 of the fSGLD paper) is

    W2(pi^f, pi*) = O(beta^(-eta/4) sqrt(d) + beta^(-eta/2) d + beta^(-(1+eta)/2) d^2),

pi^f ∝ exp(-beta g_sigma), pi* ∝ exp(-beta v), v = u + (sigma^2/2) Lap u. Two families of u:

- separable, u(x) = sum_i u1(x_i): both measures are products, W2^2 is the sum of the marginal
  W2^2, so W2 = sqrt(d) W2_1d exactly (docs/theory.md §5). Computed through the product measures in
  each d (any d) and checked against sqrt(d) W2_1d.
- ``embedded-wells``, not separable (:func:`~sgldsim.experiments._landscapes.landscape_nd`):
  exact for d = 1 (quadrature); for d = 2 the exact 2-D grid measure and for d > 2 MALA reference
  samples, both compared through clouds of n particles. Sample-vs-sample W2 has a floor (about
  N^(-1/d), docs/theory.md §6), measured as W2 between two independent clouds of one measure (the
  two halves of the MALA chains, or two iid draws); a distance counts as resolved only above
  ``FLOOR_FACTOR`` floors.

The d-exponent p of W2 ~ d^p is fitted over the resolved dimensions and compared with the
bound's leading-order term at this beta: with unit constants, the term that is largest at the
largest d (d^2 unless beta is very large). A measured p no larger (within 5 standard errors) is
consistent with the bound, which is an upper bound.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pandas as pd

from ..distances import wasserstein
from ..figures.style import (
    PAGE_WIDTH_IN,
    add_reference_slope,
    fit_power_law,
    new_figure,
    save_figure,
)
from ..measures import Gibbs, SampleMeasure
from . import Cell, ConfigError, ExperimentConfig, Summary, Verdict, cells_table
from ._landscapes import EMBEDDED_WELLS, check_coupling_betas, landscape_nd, parse_sigma_rule

CHUNK_SIZE = 1
FIT_SE_LIMIT = 5.0  # standard errors of slack before a fitted exponent counts as inconsistent
FLOOR_FACTOR = 2.0  # a sampled distance is resolved when it exceeds this many floors
R_HAT_LIMIT = 1.05  # MALA chains with a larger split R-hat did not mix
MALA_START_SCALE = 0.1  # MALA chains start at N(0, 0.1^2 I), between the wells (_reference)
IDENTITY_TOL = 1e-8  # relative error allowed in W2 = sqrt(d) W2_1d (rounding only)
BOUND_EXPONENTS = (0.5, 1.0, 2.0)  # powers of d in the bound's three terms


def validate(config: ExperimentConfig) -> None:
    for name in config.values("potential"):
        landscape_nd(name, 1)
    check_coupling_betas(config)
    for rule in config.values("sigma_rule"):
        parse_sigma_rule(rule, 10.0)
    for name in ("separable_dims", "nonseparable_dims"):
        dims = config.params[name]
        if not dims or any(int(d) != d or d < 1 for d in dims) or len(set(dims)) != len(dims):
            raise ConfigError(f"params.{name}={dims} is not allowed: a list of distinct positive "
                              "integers")
    n, chains = config.params["n_particles"], config.params["mala_chains"]
    if n < 10:
        raise ConfigError(f"params.n_particles={n} is not allowed: it must be >= 10")
    if chains < 4 or chains % 2:
        raise ConfigError(f"params.mala_chains={chains} is not allowed: an even number >= 4 "
                          "(its two halves give two independent clouds)")
    if config.params["mala_steps"] < 2 * n / chains:
        raise ConfigError(f"params.mala_steps={config.params['mala_steps']} is not allowed: half "
                          f"the chains must hold n_particles={n} draws, so mala_steps >= "
                          f"{int(np.ceil(2 * n / chains))}")


def bound_terms(dims, beta: float, eta: float) -> np.ndarray:
    """(3, len(dims)): beta^(-eta/4) sqrt(d), beta^(-eta/2) d, beta^(-(1+eta)/2) d^2 (the bound's
    terms with unit constants, docs/theory.md §4, Prop. 3.4)."""
    d = np.asarray(dims, dtype=float)
    prefactors = float(beta) ** -np.array([eta / 4, eta / 2, (1 + eta) / 2])
    return prefactors[:, None] * d[None, :] ** np.array(BOUND_EXPONENTS)[:, None]


def leading_exponent(d_max: float, beta: float, eta: float) -> float:
    """The power of d of the bound's largest term at d = d_max (unit constants)."""
    return BOUND_EXPONENTS[int(np.argmax(bound_terms([d_max], beta, eta)[:, 0]))]


def run_cell(config: ExperimentConfig, cell: Cell, key) -> list[dict]:
    """W2(pi^f, pi*) and its floor for every dimension of the cell's potential family."""
    p = cell.params
    beta = float(p["beta"])
    sigma, eta = parse_sigma_rule(p["sigma_rule"], beta)
    if p["potential"] == EMBEDDED_WELLS:
        keys = jax.random.split(key, len(p["nonseparable_dims"]))
        rows = [r for d, k in zip(p["nonseparable_dims"], keys, strict=True)
                for r in _sampled_rows(int(d), beta, sigma, p, k)]
    else:
        rows = _separable_rows(p["potential"], p["separable_dims"], beta, sigma)
    return rows + [{"measure": name, "value": value, "dim": row_dim, "reference": ref}
                   for row_dim, ref in dict.fromkeys((r["dim"], r["reference"]) for r in rows)
                   for name, value in (("sigma", sigma), ("eta", eta))]


def _rows(dim: int, reference: str, **values) -> list[dict]:
    return [{"measure": name, "value": float(value), "dim": dim, "reference": reference}
            for name, value in values.items()]


def _separable_rows(name: str, dims, beta: float, sigma: float) -> list[dict]:
    """Exact W2 through the product measures in each d, beside sqrt(d) W2_1d (docs/theory.md §5)."""
    w2_1d = _exact_w2(landscape_nd(name, 1), beta, sigma)
    return [r for d in dims for r in _rows(
        int(d), "product", w2=_exact_w2(landscape_nd(name, int(d)), beta, sigma), w2_floor=0.0,
        w2_sqrt_d_1d=np.sqrt(d) * w2_1d)]


def _exact_w2(u, beta: float, sigma: float) -> float:
    return wasserstein(Gibbs(u.smoothed(sigma), beta), Gibbs(u.regularized(sigma), beta), p=2)


def _sampled_rows(dim: int, beta: float, sigma: float, params: dict, key) -> list[dict]:
    """d = 1: exact W2. d >= 2: W2 between clouds of pi^f and pi*, and the floor: the larger
    W2 between two independent clouds of one measure."""
    u = landscape_nd(EMBEDDED_WELLS, dim)
    k_f, k_star, k_f_draw, k_star_draw = jax.random.split(key, 4)
    pi_f = _reference(u.smoothed(sigma), beta, k_f, params)
    pi_star = _reference(u.regularized(sigma), beta, k_star, params)
    if dim == 1:
        return _rows(dim, "quadrature", w2=wasserstein(pi_f, pi_star, p=2), w2_floor=0.0)
    n = params["n_particles"]
    f_a, f_b = _two_clouds(pi_f, k_f_draw, n)
    star_a, star_b = _two_clouds(pi_star, k_star_draw, n)
    values = {"w2": wasserstein(f_a, star_a, p=2),
              "w2_floor": max(wasserstein(f_a, f_b, p=2), wasserstein(star_a, star_b, p=2))}
    if not isinstance(pi_f, SampleMeasure):
        return _rows(dim, "grid", **values)
    diagnostics = (pi_f.diagnostics, pi_star.diagnostics)
    return _rows(dim, "mala", **values, r_hat_max=max(g.r_hat.max() for g in diagnostics),
                 ess_min=min(g.ess.min() for g in diagnostics))


def _reference(potential, beta: float, key, params: dict):
    """Exact Gibbs measure for d <= 2 (quadrature or 2-D grid), MALA reference samples above.

    MALA chains start near the origin, between the two wells, x_0 ~ N(0, 0.1^2 I): v puts a
    steep hill on the sharp well's centre (v is far from g_sigma there, docs/theory.md §6), and a
    chain started on it can stay stuck by rejection (split R-hat flags it)."""
    if potential.dim <= 2:
        return Gibbs(potential, beta)
    k_start, k_run = jax.random.split(key)
    n_chains = params["mala_chains"]
    start = MALA_START_SCALE * jax.random.normal(k_start, (n_chains, potential.dim))
    return Gibbs(potential, beta, key=k_run, n_chains=n_chains, n_steps=params["mala_steps"],
                 initial_positions=start)


def _two_clouds(measure, key, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent clouds of n particles of one measure: the two halves of the MALA chains,
    each thinned evenly (independent chains), or two sets of iid draws."""
    if isinstance(measure, SampleMeasure):
        half = measure.chains.shape[0] // 2
        return _thinned(measure.chains[:half], n), _thinned(measure.chains[half:2 * half], n)
    k_a, k_b = jax.random.split(key)
    return np.asarray(measure.sample(k_a, n)), np.asarray(measure.sample(k_b, n))


def _thinned(chains: np.ndarray, n: int) -> np.ndarray:
    """(c, T, d) chains -> (n, d): evenly spaced draws from every chain."""
    c, t, d = chains.shape
    steps = np.linspace(0, t - 1, -(-n // c)).round().astype(int)
    return chains[:, steps].reshape(-1, d)[:n]


# ---- summary ----------------------------------------------------------------------------------
def _per_dim(results: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    table = cells_table(results, config)
    for column in ("w2_sqrt_d_1d", "r_hat_max", "ess_min"):
        if column not in table:
            table[column] = np.nan
    return table.assign(resolved=table.w2 > FLOOR_FACTOR * table.w2_floor)


def _fit(group: pd.DataFrame) -> dict:
    """d-exponent of W2 over the resolved dimensions of one cell, and the bound's."""
    beta, eta = group.beta.iloc[0], group.eta.iloc[0]
    used = group[group.resolved & (group.w2 > 0)]
    out = {"n_fit": len(used), "bound_exponent": leading_exponent(group.dim.max(), beta, eta),
           "exponent": np.nan, "stderr": np.nan}
    if len(used) >= 2 and used.dim.nunique() >= 2:
        fit = fit_power_law(used.dim, used.w2)
        out.update(exponent=fit.exponent, stderr=fit.stderr)
    return out


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table = _per_dim(results, config)
    verdicts, fitted = [], {}
    separable = table[table.reference == "product"]
    if len(separable):
        rel = (separable.w2 / separable.w2_sqrt_d_1d - 1.0).abs().max()
        verdicts.append(Verdict(
            "separable u: W2(pi^f, pi*) = sqrt(d) W2_1d (product measures, docs/theory.md §5)",
            "consistent" if rel < IDENTITY_TOL else "inconsistent",
            f"max relative difference {rel:.2g} over d = "
            f"{', '.join(f'{d:g}' for d in sorted(separable.dim.unique()))} (limit "
            f"{IDENTITY_TOL:g})"))
    for (name, beta), group in table.groupby(["potential", "beta"], sort=False):
        fit = _fit(group)
        tag = f"{name}, beta={beta:g}"
        fitted[f"d_exponent[{tag}]"] = fit["exponent"]
        fitted[f"d_exponent_stderr[{tag}]"] = fit["stderr"]
        verdicts.append(_growth_verdict(group, fit, tag))
    shown = table[["potential", "beta", "sigma", "dim", "reference", "w2", "w2_floor", "resolved",
                   "w2_sqrt_d_1d", "r_hat_max", "ess_min"]]
    text = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    return Summary(table=text, fitted=fitted, verdicts=verdicts)


def _growth_verdict(group: pd.DataFrame, fit: dict, tag: str) -> Verdict:
    """Measured d-exponent against the bound's leading-order one; inconclusive when fewer than
    three dimensions are resolved above the floor or the MALA chains did not mix."""
    p_bound = fit["bound_exponent"]
    claim = (f"W2(pi^f, pi*) grows in d no faster than the bound's leading term d^{p_bound:g} "
             f"({tag}, sigma={group.sigma.iloc[0]:.3g})")
    unresolved = group[~group.resolved]
    notes = "".join(f"; d={r.dim:g}: W2 {r.w2:.3g} is within {FLOOR_FACTOR:g} floors "
                    f"({r.w2_floor:.3g})" for r in unresolved.itertuples())
    worst_r_hat = group.r_hat_max.max()
    if np.isfinite(worst_r_hat) and worst_r_hat > R_HAT_LIMIT:
        return Verdict(claim, "inconclusive", f"MALA reference chains did not mix (split R-hat "
                       f"{worst_r_hat:.3f} > {R_HAT_LIMIT}){notes}")
    if fit["n_fit"] < 3:
        return Verdict(claim, "inconclusive", f"{fit['n_fit']} dimensions resolved above the "
                       f"particle floor; a fit needs 3{notes}")
    slack = FIT_SE_LIMIT * fit["stderr"] if np.isfinite(fit["stderr"]) else 0.0
    ok = fit["exponent"] <= p_bound + slack
    return Verdict(claim, "consistent" if ok else "inconsistent",
                   f"measured exponent {fit['exponent']:.3f} +- {fit['stderr']:.3f} over "
                   f"{fit['n_fit']} dimensions (bound terms d^0.5, d^1, d^2; leading at "
                   f"d={group.dim.max():g}: d^{p_bound:g}){notes}")


# ---- figures ----------------------------------------------------------------------------------
def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """One panel per potential family: W2(pi^f, pi*) against d (log-log; open markers where
    the particle floor swamps it), the floor, and the bound's three terms as reference slopes
    through the smallest-d point."""
    table = _per_dim(results, config)
    names = list(dict.fromkeys(table.potential))
    fig, axes = new_figure(1, len(names), width_in=PAGE_WIDTH_IN, aspect=0.8, squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for beta, group in table[table.potential == name].groupby("beta", sort=True):
            _draw_family(ax, group.sort_values("dim"), beta)
        kind = ("product measures, exact" if name != EMBEDDED_WELLS
                else r"exact $d \leq 2$, MALA $d > 2$")
        ax.set(xscale="log", yscale="log", xlabel="dimension $d$",
               ylabel=r"$W_2(\pi^f_{\beta,\sigma}, \pi^*_{\beta,\sigma})$",
               title=f"{name} ({kind})")
        ax.legend(fontsize="x-small", loc="upper left")
    return save_figure(fig, out_dir, "dimension")


def _draw_family(ax, group: pd.DataFrame, beta: float) -> None:
    label = rf"$\beta$={beta:g}, $\sigma$={group.sigma.iloc[0]:.2g}"
    resolved = group[group.resolved]
    (line,) = ax.plot(group.dim, group.w2, color="#CC3311", linewidth=0.8)
    ax.plot(resolved.dim, resolved.w2, "o", color=line.get_color(), label=f"measured, {label}")
    swamped = group[~group.resolved]
    if len(swamped):
        ax.plot(swamped.dim, swamped.w2, "o", markerfacecolor="none", color=line.get_color(),
                label=f"within {FLOOR_FACTOR:g} floors")
    sampled = group[group.w2_floor > 0]
    if len(sampled):
        ax.plot(sampled.dim, sampled.w2_floor, color="0.3", linewidth=0.8, marker="x",
                label="particle floor (two clouds)")
    if group.w2_sqrt_d_1d.notna().any():
        ax.plot(group.dim, group.w2_sqrt_d_1d, color="k", linewidth=0.6,
                label=r"$\sqrt{d}\,W_2$(1-D)")
    first = group.iloc[0]
    dims = group.dim.to_numpy(dtype=float)
    styles = (":", "--", (0, (6, 1.5, 1, 1.5, 1, 1.5)))
    for exponent, style in zip(BOUND_EXPONENTS, styles, strict=True):
        ref = add_reference_slope(ax, dims, exponent, (first.dim, first.w2),
                                  f"bound term $d^{{{exponent:g}}}$ (slope)")
        ref.set_linestyle(style)

"""Coupling (Prop. 3.4): how close fSGLD's small-step measure pi^f is to the flatness target pi*.

For each inverse temperature beta and perturbation rule (coupled sigma = beta^(-(1+eta)/4), or
decoupled: a fixed sigma or eta outside (0, 1)), compute exactly by quadrature

    pi^f ∝ exp(-beta g_sigma),  pi* ∝ exp(-beta v),  v = u + (sigma^2/2) Lap u,

their W1 and W2 distance in d = 1, and in d dimensions for the separable product u(x) = sum u(x_i)
(W2 = sqrt(d) W2_1d exactly, docs/theory.md §5). The bound is
W2(pi^f, pi*) = O(beta^(-eta/4) sqrt(d) + beta^(-eta/2) d + beta^(-(1+eta)/2) d^2): in d = 1,
W2 = O(beta^(-eta/4)) as beta -> infinity, judged by :func:`sgldsim.verdicts.power_law_bound`
(``limit="infinity"``): a measured exponent of beta clearly above -eta/4 (a slower decay) is
inconsistent. Within the grid a W2 that does not decay at all (exponent 0 > -eta/4) is possible,
so the check can fail. The flat-basin mass of each measure shows
what the coupling buys: pi* concentrates on the flat minimum only while beta sigma^2 grows.
A quadrature floor (W2 between pi^f at two resolutions) marks where distances stop being resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..._memory import MemoryEstimate
from ...coupling import parse_sigma_rule
from ...distances import wasserstein
from ...figures.style import (
    PAGE_WIDTH_IN,
    add_reference_slope,
    color_for,
    new_figure,
    save_figure,
)
from ...measures import gibbs_1d
from ...potentials.catalogue import FLAT_BASIN, landscape
from ...runner import (
    Cell,
    ConfigError,
    ExperimentConfig,
    ExperimentParams,
    Summary,
    cell_values,
    cells_table,
)
from ...verdicts import Verdict, power_law_bound
from ..common.checks import check_coupling_betas
from ..common.memory import GIBBS_ARRAYS, gibbs_bytes

CHUNK_SIZE = 8
RESOLVED_FLOORS = 10.0  # W2 below this many quadrature floors is not resolved: left out of fits
CONCENTRATED = 0.99  # flat-basin mass of pi* that counts as concentrated
FADED = 0.5  # excess flat mass below this fraction of its peak counts as faded


@dataclass(frozen=True, kw_only=True)
class Params(ExperimentParams):
    """coupling's parameters (each may be swept in ``[grid]`` unless marked fixed).

    Attributes:
      potential: the 1-D base landscape (:func:`sgldsim.potentials.catalogue.landscape`), one
        with a flat basin; fixed.
      beta: inverse temperature; finite and > 1 (required: the shipped run sweeps it).
      sigma_rule: ``"eta=<e>"`` (coupled, sigma = beta^(-(1+eta)/4)) or ``"sigma=<s>"`` (a
        fixed, decoupled sigma); required: the shipped run sweeps it.
      dims: the separable dimensions d reported (W2 = sqrt(d) W2_1d); fixed; a non-empty list of
        positive integers.
      fit_from_beta: the decay exponents are fitted over beta >= this value; fixed.
    """

    NOT_SWEPT = ("potential", "dims", "fit_from_beta")

    potential: str = "sharp-flat-double-well"
    beta: float
    sigma_rule: str
    dims: tuple[int, ...] = (1, 10, 100)
    fit_from_beta: float = 100.0


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    fixed = Params.from_config(config)
    landscape(fixed.potential)
    for rule in cell_values(config, fixed, "sigma_rule"):
        parse_sigma_rule(rule, 10.0)
    check_coupling_betas(cell_values(config, fixed, "beta"), config.key_path("beta"))
    if not fixed.dims or any(d < 1 for d in fixed.dims):
        raise ConfigError(f"params.dims={list(fixed.dims)} is not allowed: a non-empty list of "
                          "positive integers")


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk (its cells run one at a time): a cell's four exact 1-D measures
    (pi_beta, pi^f, pi* on gibbs_1d's default grid, pi^f on one twice as fine) and the
    quantile functions of their distances. Their grids are set by gibbs_1d's resolution, not by
    beta or sigma, so this is the same for every cell; ``dims`` only scales W2."""
    needed = gibbs_bytes([3000.0, 3000.0, 3000.0, 6000.0])
    return MemoryEstimate(needed, f"a cell's four exact measures (about "
                          f"{needed / 8 / GIBBS_ARRAYS:.3g} grid cells)",
                          "the exact measures' grids are set by gibbs_1d's resolution, not by a "
                          "parameter: free memory")


def run_cell(config: ExperimentConfig, cell: Cell, key) -> list[dict]:
    """Exact distances and basin masses for one (beta, sigma rule) cell; no randomness."""
    p = Params.from_cell(cell)
    u = landscape(p.potential)
    beta = p.beta
    sigma, eta = parse_sigma_rule(p.sigma_rule, beta)
    pi_beta = gibbs_1d(u, beta)
    pi_f = gibbs_1d(u.smoothed(sigma), beta)
    pi_star = gibbs_1d(u.regularized(sigma), beta)
    pi_f_fine = gibbs_1d(u.smoothed(sigma), beta, resolution=6000.0)
    lo, hi = FLAT_BASIN[p.potential]
    w2 = wasserstein(pi_f, pi_star, p=2)
    rows = [
        {"measure": "sigma", "value": sigma},
        {"measure": "eta", "value": eta},
        {"measure": "beta_sigma2", "value": beta * sigma**2},
        {"measure": "beta_sigma4", "value": beta * sigma**4},
        {"measure": "w1", "value": wasserstein(pi_f, pi_star, p=1)},
        {"measure": "quadrature_floor", "value": wasserstein(pi_f, pi_f_fine, p=2)},
    ]
    rows += [{"measure": "w2", "dim": int(d), "value": float(np.sqrt(d)) * w2}
             for d in p.dims]
    rows += [{"measure": f"flat_mass_{name}", "value": mu.mass_of_box(lo, hi)}
             for name, mu in (("pi_beta", pi_beta), ("pi_f", pi_f), ("pi_star", pi_star))]
    return rows


def _per_cell(results: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    scalar = results[results.measure != "w2"].drop(columns=["dim"], errors="ignore")
    table = cells_table(scalar, config)
    w2 = results[(results.measure == "w2") & (results.dim == 1)][["cell_id", "value"]]
    return table.merge(w2.rename(columns={"value": "w2"}), on="cell_id")


def _fits(table: pd.DataFrame, fit_from: float) -> tuple[pd.DataFrame, dict]:
    """Decay exponent of W2 (d = 1) vs beta per rule, over resolved cells with beta >= fit_from,
    and for each coupled rule with eta in (0, 1) the verdict of
    :func:`sgldsim.verdicts.power_law_bound` on W2 = O(beta^(-eta/4)) as beta -> infinity."""
    rows, verdicts = [], {}
    for rule, group in table.groupby("sigma_rule", sort=False):
        in_range = group[group.beta >= fit_from]
        used = in_range[in_range.w2 > RESOLVED_FLOORS * in_range.quadrature_floor]
        eta = group.eta.iloc[-1]
        coupled = rule.startswith("eta=")
        bound = float(rule[4:]) / 4 if coupled else np.nan
        row = {"sigma_rule": rule, "coupled": coupled, "n_range": len(in_range), "n_fit": len(used),
               "bound_exponent": bound, "implied_eta_at_max_beta": eta}
        eta_rule = float(rule[4:]) if coupled else eta
        claim = f"W2(pi^f, pi*) = O(beta^(-eta/4)) along eta={eta_rule:g}"
        fit = power_law_bound(used.beta, used.w2, -bound if coupled else 0.0,
                              limit="infinity", claim=claim)
        if np.isfinite(fit.exponent):
            row.update(decay_exponent=-fit.exponent, stderr=fit.stderr, prefactor=fit.prefactor,
                       exponent_ratio=-fit.exponent / bound)
        if coupled and 0 < eta_rule < 1:
            v = fit.verdict
            reason = (f"{v.reason}; fit over the {len(used)} of {len(in_range)} cells with beta "
                      f">= {fit_from:g} and W2 > {RESOLVED_FLOORS:g}x the quadrature floor")
            verdicts[rule] = Verdict(v.claim, v.verdict, reason)
        rows.append(row)
    return pd.DataFrame(rows), verdicts


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    fixed = Params.from_config(config)
    table = _per_cell(results, config)
    fits, bound_verdicts = _fits(table, fixed.fit_from_beta)
    verdicts, fitted = list(bound_verdicts.values()), {}
    for fit in fits.itertuples():
        if "decay_exponent" in fits and np.isfinite(getattr(fit, "decay_exponent", np.nan)):
            fitted[f"decay_exponent[{fit.sigma_rule}]"] = fit.decay_exponent
            fitted[f"decay_exponent_stderr[{fit.sigma_rule}]"] = fit.stderr
    verdicts += _flatness_verdicts(table, _curvature_gap(fixed.potential))
    w2_dims = results[results.measure == "w2"].pivot(index="cell_id", columns="dim",
                                                     values="value")
    w2_dims.columns = [f"w2[d={int(d)}]" for d in w2_dims.columns]
    shown = table.merge(w2_dims, left_on="cell_id", right_index=True)[
        ["sigma_rule", "beta", "sigma", "eta", *w2_dims.columns, "w1", "quadrature_floor",
         "flat_mass_pi_beta", "flat_mass_pi_f", "flat_mass_pi_star"]]
    fmt = lambda v: f"{v:.4g}"
    text = (shown.to_string(index=False, float_format=fmt) + "\n\nfits (W2, d=1):\n"
            + fits.to_string(index=False, float_format=fmt))
    return Summary(table=text, fitted=fitted, verdicts=verdicts,
                   legend=_legend(config, list(w2_dims.columns)))


def _legend(config: ExperimentConfig, w2_columns: list[str]) -> dict[str, str]:
    fixed = Params.from_config(config)
    lo, hi = FLAT_BASIN[fixed.potential]
    fit_from = fixed.fit_from_beta
    return {
        "sigma_rule": "eta=E: coupled sigma = beta^(-(1+E)/4); sigma=S: a fixed sigma (decoupled)",
        "eta": "the coupling exponent; for a fixed sigma the implied eta = 4 ln(1/sigma)/ln(beta)"
               " - 1\n(the paper's range is 0 < eta < 1)",
        ", ".join(w2_columns): "exact W2(pi^f, pi*) for the separable product in d dimensions"
                               " (= sqrt(d) times d=1)",
        "w1": "exact W1(pi^f, pi*) in d = 1",
        "quadrature_floor": "W2 between pi^f on the default grid and on a grid twice as fine:"
                            " W2 below 10x this\nis not resolved and is left out of the fits",
        "flat_mass_*": f"mass of the flat minimum's basin ({lo:g} < x < {hi:g}) under pi_beta"
                       " (SGLD), pi^f, pi*",
        "n_range, n_fit": f"cells with beta >= fit_from_beta = {fit_from:g}; of them, those with"
                          " W2 > 10x the quadrature\nfloor, which the fit uses (it needs 3)",
        "bound_exponent": "eta/4, the slowest-decaying term of Prop. 3.4 in beta (d fixed)",
        "coupled": "whether the rule couples sigma to beta (eta=E) or fixes sigma",
        "decay_exponent, stderr, prefactor": "least-squares fit W2 ~ prefactor"
                                             " beta^(-decay_exponent) over the n_fit cells;\n"
                                             "stderr: the exponent's standard error",
        "exponent_ratio": "decay_exponent / bound_exponent: measured over bound, >= 1 is"
                          " consistent",
        "implied_eta_at_max_beta": "eta of the rule at the largest beta (for a fixed sigma it"
                                   " drifts with beta)",
        "consistent": "W2 = O(beta^(-eta/4)) (power_law_bound, limit infinity): consistent when"
                      " the measured exponent of beta\nexcludes, at level 0.01, one above"
                      " -eta/4 by eta/4 or more (no decay); inconsistent when it lies above\n"
                      "-eta/4 beyond the one-sided 0.01 t quantile (n - 2 dof) times its SE",
    }


def _curvature_gap(potential: str) -> float:
    """u''(sharp minimum) - u''(flat minimum): the Laplace log-odds of the flat basin under pi*
    exceed pi_beta's by beta sigma^2 / 2 times this (docs/theory.md §6)."""
    u = landscape(potential)
    lo, hi = FLAT_BASIN[potential]
    x = np.linspace(-6.0, 6.0, 12001)
    value = np.asarray(u.value(x[:, None]))
    flat = (x > lo) & (x < hi)
    minima = [x[np.argmin(np.where(mask, value, np.inf))] for mask in (~flat, flat)]
    sharp_curv, flat_curv = (float(np.asarray(u.laplacian(np.array([[m]])))[0]) for m in minima)
    return sharp_curv - flat_curv


def _flatness_verdicts(table: pd.DataFrame, curvature_gap: float) -> list[Verdict]:
    """Along a coupling with eta in (0,1), pi* moves its mass to the flat minimum as beta grows;
    with eta > 1 (beta sigma^2 -> 0) its excess flat mass over pi_beta shrinks back towards 0.

    Both are limits in beta. Whether the grid reaches them is judged by Laplace's method: the
    flat basin's log-odds under pi* are pi_beta's plus beta sigma^2 curvature_gap / 2, so at the
    largest beta the predicted mass tells whether the limit can show yet; if not, the verdict is
    "inconclusive" with the prediction.
    """
    out = []
    for rule, group in table.groupby("sigma_rule", sort=False):
        if not rule.startswith("eta="):
            continue
        eta, group = float(rule[4:]), group.sort_values("beta")
        last = group.iloc[-1]
        excess = (group.flat_mass_pi_star - group.flat_mass_pi_beta).to_numpy()
        shift = last.beta_sigma2 * curvature_gap / 2
        m_beta = float(np.clip(last.flat_mass_pi_beta, 1e-12, 1 - 1e-12))
        predicted = 1 / (1 + np.exp(-(np.log(m_beta / (1 - m_beta)) + shift)))
        if 0 < eta < 1:
            ok = last.flat_mass_pi_star > CONCENTRATED
            reachable = predicted > CONCENTRATED
            claim = f"pi* concentrates on the flat minimum along eta={eta:g}"
            need = f"m(pi*) > {CONCENTRATED:g}"
        elif eta > 1:
            peak = int(np.argmax(excess))
            ok = peak < len(excess) - 1 and excess[-1] < FADED * excess[peak]
            reachable = predicted - m_beta < FADED * excess[peak]
            claim = f"with eta={eta:g} > 1 the flatness bias fades as beta grows"
            need = f"an excess below {FADED:g} of its peak"
        else:
            continue
        reason = (f"flat mass of pi* minus pi_beta: peak {excess.max():.4f}, at beta={last.beta:g}"
                  f" {excess[-1]:.4f} (pi*={last.flat_mass_pi_star:.4f}, pi_beta="
                  f"{last.flat_mass_pi_beta:.4f}, beta sigma^2={last.beta_sigma2:.3g}); Laplace "
                  f"predicts m(pi*) = {predicted:.4f} there (log-odds shift beta sigma^2 "
                  f"Delta u''/2 = {shift:.3g})")
        if ok or reachable:
            out.append(Verdict(claim, "consistent" if ok else "inconsistent", reason))
        else:
            out.append(Verdict(claim, "inconclusive",
                               f"the grid stops at beta={last.beta:g}, before the limit can show "
                               f"({need} is predicted only at larger beta): {reason}"))
    return out


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """(a) W2(pi^f, pi*) vs beta per rule (log-log) with the bound's slopes and the quadrature
    floor; (b) flat-basin mass of pi* and pi_beta vs beta; (c) W2 vs beta in d = 1, 10, 100."""
    table = _per_cell(results, config)
    fig, (ax_w2, ax_mass, ax_dim) = new_figure(1, 3, width_in=PAGE_WIDTH_IN * 1.4, aspect=0.95)
    rules = list(dict.fromkeys(table.sigma_rule))
    palette = _rule_colors(rules)
    for rule in rules:
        group = table[table.sigma_rule == rule].sort_values("beta")
        ax_w2.plot(group.beta, group.w2, marker="o", color=palette[rule], label=_label(rule))
        ax_mass.plot(group.beta, group.flat_mass_pi_star, marker="o", color=palette[rule],
                     label=_label(rule))
    coupled = table[table.sigma_rule.map(_is_paper_coupling)]
    floor = (coupled if len(coupled) else table).groupby("beta").quadrature_floor.max()
    ax_w2.plot(floor.index, floor.values, color="0.5", linestyle="-.",
               label=r"quadrature floor ($\eta \in (0,1)$)")
    for rule in rules:
        if rule.startswith("eta="):
            eta = float(rule[4:])
            if 0 < eta < 1:
                group = table[table.sigma_rule == rule].sort_values("beta")
                anchor = (group.beta.iloc[0], group.w2.iloc[0])
                add_reference_slope(ax_w2, group.beta.to_numpy(), -eta / 4, anchor,
                                    r"bound $\beta^{-\eta/4}$" if eta == 0.1 else None)
    ax_w2.set(xscale="log", yscale="log", xlabel=r"inverse temperature $\beta$",
              ylabel=r"$W_2(\pi^f_{\beta,\sigma}, \pi^*_{\beta,\sigma})$", title="(a) d = 1")
    fig.legend(*ax_w2.get_legend_handles_labels(), loc="outside lower center", ncol=8,
               fontsize="x-small")
    base = table[table.sigma_rule == rules[0]].sort_values("beta")
    ax_mass.plot(base.beta, base.flat_mass_pi_beta, color=color_for("pi_beta"), linestyle="--",
                 label=r"$\pi_\beta$ (SGLD)")
    ax_mass.set(xscale="log", ylim=(-0.02, 1.02), xlabel=r"inverse temperature $\beta$",
                ylabel=r"flat-basin mass of $\pi^*$", title="(b) which minimum wins")
    ax_mass.legend(handles=ax_mass.get_lines()[-1:], fontsize="x-small")
    w2_all = results[results.measure == "w2"].merge(
        table[["cell_id", "sigma_rule", "beta"]], on="cell_id", suffixes=("", "_"))
    shown_rule = next((r for r in rules if r == "eta=0.5"), rules[0])
    for dim, group in w2_all[w2_all.sigma_rule == shown_rule].groupby("dim"):
        group = group.sort_values("beta")
        ax_dim.plot(group.beta, group.value, marker="o", label=f"d = {int(dim)}")
    ax_dim.set(xscale="log", yscale="log", xlabel=r"inverse temperature $\beta$",
               ylabel=r"$W_2(\pi^f, \pi^*)$ (separable)", title=f"(c) {_label(shown_rule)}")
    ax_dim.legend(fontsize="x-small")
    return save_figure(fig, out_dir, "coupling")


def _is_paper_coupling(rule: str) -> bool:
    return rule.startswith("eta=") and 0 < float(rule[4:]) < 1


def _label(rule: str) -> str:
    kind, _, value = rule.partition("=")
    return rf"$\eta$ = {value}" if kind == "eta" else rf"$\sigma$ = {value} (fixed)"


def _rule_colors(rules: list[str]) -> dict[str, tuple]:
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    return {r: cmap(i / max(len(rules) - 1, 1)) for i, r in enumerate(rules)}

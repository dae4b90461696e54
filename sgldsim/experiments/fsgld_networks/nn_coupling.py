"""The coupling ablation: fSGLD's test accuracy along sigma = beta^(-(1+eta)/4)
(docs/theory.md §3, §7).

The paper reports a plateau of accuracy for eta in (0, 1) and a drop when a fixed beta or a
fixed sigma pushes the implied eta = 4 ln(1/sigma) / ln(beta) - 1 out of (0, 1). Each cell is
(sigma rule, beta): fSGLD at a fixed learning rate on one noisy-label task, every seed (paired
as in :mod:`sgldsim.experiments.common.nn_setup`). Rows of fixed beta are the eta sweeps; the
"sigma=S" rules cross eta's range as beta varies. eta < 0 means a perturbation larger than the
coupling allows, eta > 1 one so small that fSGLD tends to SGLD. The default run is the paper's
protocol (its betas 1e7-1e9, weight decay 5e-4, a step learning-rate schedule), as in
nn-noisy-labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ... import nn
from ..._memory import MemoryEstimate
from ...coupling import parse_sigma_rule
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure
from ...runner import Cell, ConfigError, ExperimentConfig, Summary, cell_values, cells_table
from ...verdicts import Verdict, paired_comparison
from ..common.checks import check_lr_schedule, check_range
from ..common.nn_setup import (
    WIDTHS,
    DatasetName,
    ModelName,
    NetworkParams,
    NoiseKind,
    check_dataset_fits,
    classifier_runs_memory,
    dataset_from_params,
    model_from_params,
    noisy_label_sets,
    seed_keys,
)

CHUNK_SIZE = 32
TOLERANCE = 0.01
"""Accuracy differences below one percentage point count as no change: a "drop" must be larger,
and a cell off the plateau must differ from it by more."""
LEVEL = 0.05
"""One minus the coverage of the verdicts' intervals (:func:`sgldsim.verdicts.paired_comparison`);
the plateau's per-cell intervals share it over the cells (Bonferroni)."""


@dataclass(frozen=True)
class Params(NetworkParams):
    """nn-coupling's parameters (each may be swept in ``[grid]`` unless marked fixed), besides
    the data split and widths of :class:`~sgldsim.experiments.common.nn_setup.NetworkParams`
    (the widths are fixed here).

    Attributes:
      sigma_rule: fSGLD's perturbation scale: ``"eta=E"`` for sigma = beta^(-(1+E)/4), or
        ``"sigma=S"`` for a fixed sigma (:func:`sgldsim.coupling.parse_sigma_rule`).
      beta: inverse temperature of the mean loss; finite and > 1 (the implied eta needs
        ln beta > 0).
      dataset: the classification dataset.
      model: the network (a name of :data:`sgldsim.nn.MODELS`).
      noise: the label-noise kind.
      noise_rate: the share of training and validation labels flipped; in [0, 1].
      epochs: passes over the training split; > 0.
      batch_size: examples per step; > 0 and at most the training split.
      weight_decay: coupled L2 decay (:func:`sgldsim.nn.with_weight_decay`); >= 0 (the paper:
        5e-4).
      lr_milestones: the step schedule's milestones, fractions of training in (0, 1),
        increasing (:func:`sgldsim.nn.step_schedule`); empty: a constant learning rate.
      lr_decay: the factor at each milestone; in (0, 1].
      learning_rate: fSGLD's initial learning rate; > 0.
      seeds: paired seeds per cell (fixed); >= 1.
    """

    NOT_SWEPT = (*NetworkParams.NOT_SWEPT, *WIDTHS, "seeds")

    sigma_rule: str = "eta=-0.5"
    beta: float = 1e4
    dataset: DatasetName = "mnist1d"
    model: ModelName = "residual_mlp"
    noise: NoiseKind = "symmetric"
    noise_rate: float = 0.2
    residual_mlp_hidden: tuple[int, ...] | None = (100, 100)
    mlp_hidden: tuple[int, ...] | None = (256, 256)
    epochs: int = 120
    batch_size: int = 128
    weight_decay: float = 5e-4
    lr_milestones: tuple[float, ...] = (0.5, 0.75)
    lr_decay: float = 0.1
    learning_rate: float = 0.5
    seeds: int = 5

    def task(self) -> tuple:
        """What the cells of one compiled program share: every parameter but the sigma rule
        and beta."""
        return (self.dataset, self.model, self.noise, self.noise_rate, self.learning_rate,
                self.epochs, self.batch_size, self.weight_decay, self.lr_milestones,
                self.lr_decay)


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    """Ranges (each message names the key and the range), the sigma rules, and the batch
    against the dataset."""
    p = Params.from_config(config)
    check_range(config, p, "noise_rate", 0.0, 1.0, low_inclusive=True)
    check_range(config, p, "seeds", 1, low_inclusive=True)
    for name in ("epochs", "batch_size", "num_samples_mnist1d", *WIDTHS):
        check_range(config, p, name, 0)
    check_range(config, p, "learning_rate", 0.0)
    check_range(config, p, "weight_decay", 0.0, low_inclusive=True)
    check_lr_schedule(config, p)
    for beta in cell_values(config, p, "beta"):
        if not (1 < beta < float("inf")):
            raise ConfigError(f"{config.key_path('beta')}={beta} is not allowed: beta must be a "
                              "finite number > 1 (the implied eta needs ln beta > 0)")
    for rule in cell_values(config, p, "sigma_rule"):
        parse_sigma_rule(rule, 10.0)
    check_dataset_fits(config, p, cell_values(config, p, "dataset"),
                       config.key_path("dataset"), cell_values(config, p, "batch_size"))


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: the cells of a task train together, seeds x cells runs vmapped
    in one program (:func:`~sgldsim.experiments.common.nn_setup.classifier_runs_memory`)."""
    tasks = {}
    for cell in cells:
        q = Params.from_cell(cell)
        tasks.setdefault(q.task(), []).append(q)
    worst = (0.0, "")
    for group in tasks.values():
        p = group[0]
        runs = len(group) * p.seeds
        needed, params = classifier_runs_memory(p, p.dataset, p.model, runs, p.batch_size,
                                                p.epochs)
        worst = max(worst, (needed, f"{runs} runs (cells x seeds = {p.seeds}) of {p.model} "
                                    f"({params} parameters) on {p.dataset}"))
    return MemoryEstimate(*worst, "lower params.seeds, chunk_size or the model's widths")


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """Train every (cell, seed) of the chunk at once; cells sharing a task share one program."""
    del keys  # seeds are shared across cells (common random numbers, see nn_setup)
    out = {}
    tasks = {}
    for cell in cells:
        tasks.setdefault(Params.from_cell(cell).task(), []).append(cell)
    for group in tasks.values():
        out.update(zip([c.id for c in group], _run_group(config, group), strict=True))
    return [out[c.id] for c in cells]


def _run_group(config: ExperimentConfig, cells: list[Cell]) -> list[list[dict]]:
    params = [Params.from_cell(c) for c in cells]
    p = params[0]
    dataset = dataset_from_params(p, p.dataset)
    model = model_from_params(p, p.model, dataset)
    noise_keys, train_keys = seed_keys(config.seed, p.seeds)
    train_labels, val_labels = noisy_label_sets(noise_keys, dataset, p.noise, p.noise_rate)
    rules = [parse_sigma_rule(q.sigma_rule, q.beta) for q in params]
    runs = [(i, s) for i in range(len(cells)) for s in range(p.seeds)]
    hyper = nn.hyperparameters(
        np.full(len(runs), p.learning_rate),
        beta=np.array([params[i].beta for i, _ in runs]),
        sigma=np.array([rules[i][0] for i, _ in runs]), weight_decay=p.weight_decay)
    seeds = np.array([s for _, s in runs])
    _, metrics = nn.train_classifier_runs(
        "langevin", model, dataset, train_keys[seeds], hyper, train_labels[seeds],
        val_labels[seeds], epochs=p.epochs, batch_size=p.batch_size,
        milestones=p.lr_milestones, decay=p.lr_decay,
        labels=[f"{params[i].sigma_rule} beta={params[i].beta:g} seed {s}"
                for i, s in runs])
    metrics = {name: np.asarray(getattr(metrics, name)) for name in metrics._fields}
    out = [[{"measure": "sigma", "value": sigma}, {"measure": "implied_eta", "value": eta}]
           for sigma, eta in rules]
    for r, (i, s) in enumerate(runs):
        out[i] += [{"measure": name, "seed": s, "value": float(values[r])}
                   for name, values in metrics.items()]
    return out


def per_cell(results: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """One row per (sigma rule, beta): sigma, implied eta, test accuracy mean/std/n."""
    scalars = cells_table(results[results.seed.isna()].drop(columns="seed"), config)
    runs = results[results.measure == "test_accuracy"]
    stats = runs.groupby("cell_id", sort=False).value.agg(["mean", "std", "size"])
    stats.columns = ["test_mean", "test_std", "n"]
    for measure, column in (("train_accuracy", "train_mean"),
                            ("test_accuracy_at_best", "best_test_mean")):
        values = results[results.measure == measure]
        if len(values):
            stats[column] = values.groupby("cell_id", sort=False).value.mean()
    table = scalars.merge(stats, left_on="cell_id", right_index=True)
    table["test_se"] = table.test_std / np.sqrt(table.n)
    table["inside"] = (table.implied_eta > 0) & (table.implied_eta < 1)
    return table


def _with_plateau(table: pd.DataFrame) -> pd.DataFrame:
    """Each cell's gap to the plateau: its mean accuracy minus the mean of the *other* cells
    with implied eta in (0,1) at the same beta, with the standard error of that difference."""
    inside = table[table.inside]
    sums = inside.groupby("beta").agg(total=("test_mean", "sum"), count=("test_mean", "size"),
                                      se2=("test_se", lambda se: (se**2).sum()))
    table = table.merge(sums, left_on="beta", right_index=True, how="left")
    own = table.inside.astype(float)
    others = table["count"] - own
    table["plateau"] = (table.total - own * table.test_mean) / others.where(others > 0)
    plateau_se2 = (table.se2 - own * table.test_se**2) / others.where(others > 0) ** 2
    table["gap"] = table.test_mean - table.plateau
    table["gap_se"] = np.sqrt(table.test_se**2 + plateau_se2)
    return table.drop(columns=["total", "count", "se2"])


def plateau_pairs(results: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per (cell, seed): the cell's test accuracy (``accuracy``) and its plateau in the same
    seed (``plateau``: the mean of the *other* cells with implied eta in (0,1) at its beta, same
    seed: the seeds are paired across cells); cells without a plateau are left out."""
    runs = results[results.measure == "test_accuracy"]
    accuracy = runs.pivot_table(index="cell_id", columns="seed", values="value", sort=False)
    rows = []
    for cell in table.itertuples():
        others = table[table.inside & (table.beta == cell.beta)
                       & (table.cell_id != cell.cell_id)].cell_id
        if others.empty or cell.cell_id not in accuracy.index:
            continue
        plateau = accuracy.loc[others].mean(axis=0, skipna=False)
        rows += [{"cell_id": cell.cell_id, "seed": seed, "accuracy": value,
                  "plateau": plateau[seed]}
                 for seed, value in accuracy.loc[cell.cell_id].items()]
    return pd.DataFrame(rows, columns=["cell_id", "seed", "accuracy", "plateau"])


def _plateau_verdict(pairs: pd.DataFrame, table: pd.DataFrame) -> Verdict:
    """"Accuracy is flat for eta in (0,1)": each inside cell against its plateau over the paired
    seeds (:func:`sgldsim.verdicts.paired_comparison`, t quantiles, level LEVEL / cells:
    Bonferroni, so a false alarm anywhere has probability <= LEVEL). "inconsistent" when some
    cell's interval excludes 0 and its mean gap exceeds TOLERANCE; "consistent" when every
    cell's interval lies inside (-TOLERANCE, TOLERANCE) (equivalence); else "inconclusive"."""
    claim = "test accuracy is on a plateau for eta in (0,1)"
    inside = table[table.inside].cell_id
    pairs = pairs[pairs.cell_id.isin(inside)]
    cells = list(dict.fromkeys(pairs.cell_id))
    if not cells:
        return Verdict(claim, "inconclusive", "fewer than 2 cells in (0,1) at every beta")
    level = LEVEL / len(cells)
    results = {c: paired_comparison(part.accuracy.to_numpy(float), part.plateau.to_numpy(float),
                                    direction="a != b", margin=TOLERANCE, level=level)
               for c, part in pairs.groupby("cell_id", sort=False)}
    off = [c for c, r in results.items()
           if r.verdict.verdict == "consistent" and abs(r.mean) > TOLERANCE]
    flat = all(r.verdict.verdict == "inconsistent" for r in results.values())
    verdict = "inconsistent" if off else "consistent" if flat else "inconclusive"
    worst = max(results, key=lambda c: abs(results[c].mean))
    row = table.set_index("cell_id").loc[worst]
    r = results[worst]
    return Verdict(claim, verdict, (
        f"{len(cells)} cells with implied eta in (0,1) over "
        f"{table[table.cell_id.isin(cells)].beta.nunique()} betas; {len(off)} differ from their "
        f"beta's plateau by more than {100 * TOLERANCE:g} pp; largest gap {100 * r.mean:+.2f} pp "
        f"({row.sigma_rule}, beta={row.beta:g}), {100 * (1 - level):.2f} % interval "
        f"[{100 * r.interval[0]:+.2f}, {100 * r.interval[1]:+.2f}] pp over {r.n_pairs} paired "
        f"seeds (t quantiles, {r.dof} dof; Bonferroni over the cells); flat needs every "
        f"interval inside ±{100 * TOLERANCE:g} pp"))


def _drop_verdict(pairs: pd.DataFrame, cells: pd.DataFrame, claim: str):
    """"Accuracy drops by more than TOLERANCE" on the given cells: paired comparison of the
    cells' accuracy with their plateau minus TOLERANCE, over (cell, seed) pairs with the cells as
    units (the SE is the spread of the cells' gaps: cells at different betas and rules differ
    in more than seed noise; t quantiles with cells - 1 degrees of freedom)."""
    pairs = pairs[pairs.cell_id.isin(cells.cell_id)]
    return paired_comparison(pairs.accuracy.to_numpy(float),
                             pairs.plateau.to_numpy(float) - TOLERANCE,
                             units=pairs.cell_id.to_numpy(), direction="a < b", level=LEVEL,
                             claim=claim)


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table = _with_plateau(per_cell(results, config))
    rules = list(dict.fromkeys(table.sigma_rule))
    accuracy = table.assign(
        shown=[f"{100 * m:.1f} ± {100 * s:.1f}" for m, s in zip(table.test_mean, table.test_std,
                                                              strict=True)]
    ).pivot(index="beta", columns="sigma_rule", values="shown")[rules].rename(index=_beta)
    implied = table.pivot(index="beta", columns="sigma_rule", values="implied_eta")[
        rules].rename(index=_beta)
    sigma = table.pivot(index="beta", columns="sigma_rule", values="sigma")[rules].rename(
        index=_beta)
    extra = [f"{title}:\n" + table.pivot(index="beta", columns="sigma_rule", values=column)[
        rules].rename(index=_beta).mul(100).to_string(float_format=lambda v: f"{v:.1f}")
        for column, title in (("train_mean", "train accuracy on the noisy labels (%)"),
                              ("best_test_mean", "test accuracy at the best validation epoch (%)"))
        if column in table]
    text = "\n\n".join([
        f"test accuracy at the end (%), mean ± std over {int(table.n.min())} seeds:\n"
        + accuracy.to_string(), *extra,
        "implied eta:\n" + implied.to_string(float_format=lambda v: f"{v:.2f}"),
        "sigma:\n" + sigma.to_string(float_format=lambda v: f"{v:.3g}"),
        "Legend: rows beta (inverse temperature of the mean loss), columns the sigma rule "
        "('eta=E': sigma = beta^(-(1+E)/4); 'sigma=S': fixed); accuracies are means over the "
        "paired seeds (test: clean labels; train: the noisy labels it was trained on); implied "
        "eta = 4 ln(1/sigma) / ln(beta) - 1, (0,1) the paper's range. Verdicts compare each "
        "cell with the mean of the other cells in (0,1) at its beta (the plateau), seed by seed "
        "(sgldsim.verdicts.paired_comparison, t quantiles): the plateau cell by cell "
        f"(Bonferroni over the cells), a drop over the cells outside (0,1) as units (SE "
        f"between cells); changes below {100 * TOLERANCE:g} pp count as none.",
    ])
    pairs = plateau_pairs(results, table)
    verdicts, fitted = [_plateau_verdict(pairs, table)], {}
    inside = table[table.inside & table.plateau.notna()]
    if len(inside):
        fitted["plateau_max_abs_gap"] = float(inside.gap.abs().max())
    for side, mask, meaning in (
            ("eta <= 0", table.implied_eta <= 0, "sigma above the coupling"),
            ("eta >= 1", table.implied_eta >= 1, "sigma below the coupling, towards SGLD")):
        out = table[mask & table.plateau.notna()]
        claim = f"accuracy drops when the implied eta leaves (0,1) on the side {side} ({meaning})"
        result = _drop_verdict(pairs, out, claim)
        gap = result.mean - TOLERANCE  # the mean gap to the plateau itself
        if np.isfinite(gap):
            fitted[f"gap_outside[{side}]"] = gap
            fitted[f"gap_outside_stderr[{side}]"] = result.stderr
        gaps = ", ".join(f"{100 * g:+.1f}" for g in out.gap)
        verdicts.append(result.verdict._replace(reason=(
            f"mean gap to the plateau {100 * gap:+.2f} ± {100 * result.stderr:.2f} pp (SE "
            f"between cells) over {len(out)} cells (gaps {gaps} pp); a drop is a "
            f"{100 * (1 - LEVEL):g} % interval of the mean gap below -{100 * TOLERANCE:g} pp, no "
            f"drop one above it; gap + {100 * TOLERANCE:g} pp: {result.verdict.reason}")))
    return Summary(table=text, fitted=fitted, verdicts=verdicts)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """Test accuracy against the implied eta, a colour per beta; coupled rules joined by lines,
    fixed-sigma rules as squares; (0,1) shaded."""
    import matplotlib

    table = per_cell(results, config)
    fig, ax = new_figure(1, 1, width_in=PAGE_WIDTH_IN * 0.6, aspect=0.65)
    ax.axvspan(0.0, 1.0, facecolor="0.85", edgecolor="0.55", linewidth=0.6, zorder=0,
               label=r"$\eta \in (0, 1)$")
    betas = sorted(table.beta.unique())
    cmap = matplotlib.colormaps["viridis"]
    for k, beta in enumerate(betas):
        color = cmap(k / max(len(betas) - 1, 1))
        part = table[table.beta == beta]
        coupled = part[part.sigma_rule.str.startswith("eta=")].sort_values("implied_eta")
        fixed = part[part.sigma_rule.str.startswith("sigma=")]
        ax.errorbar(coupled.implied_eta, 100 * coupled.test_mean, yerr=100 * coupled.test_std,
                    color=color, marker="o", capsize=2, label=rf"$\beta$ = {beta:g}")
        ax.errorbar(fixed.implied_eta, 100 * fixed.test_mean, yerr=100 * fixed.test_std,
                    color=color, marker="s", linestyle="none", capsize=2, markerfacecolor="none")
    ax.plot([], [], color="0.3", marker="s", linestyle="none", markerfacecolor="none",
            label=r"fixed $\sigma$")
    p = Params.from_config(config)
    ax.set(xlabel=r"implied $\eta = 4\ln(1/\sigma)/\ln\beta - 1$", ylabel="test accuracy (%)",
           title=f"fSGLD, {_shown(p.dataset)}/{_shown(p.model)}, "
                 f"{_shown(p.noise_rate, lambda r: f'{100 * r:g}%')} {_shown(p.noise)} noise")
    ax.legend(fontsize="x-small", ncol=2)
    return save_figure(fig, out_dir, "accuracy")


def _beta(beta: float) -> str:
    """A beta as a row label: 1e+07, 1e+04 (not 1.000000e+07)."""
    return f"{beta:g}"


def _shown(value, form=str) -> str:
    """A fixed value, or a swept one's grid values joined by commas, each through ``form``."""
    return ", ".join(map(form, value)) if isinstance(value, tuple) else form(value)

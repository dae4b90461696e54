"""Noisy-label classification where networks memorise: does fSGLD match or beat SGD, SGLD, RWP,
SAM and ASAM, resist memorising the flipped labels, and reach flatter minima? (docs/theory.md §7;
the paper's CIFAR-N / WebVision claims, in miniature.)

The regime matters: the claims are about networks that fit the noisy training labels, so that
SGD's test accuracy falls between its best epoch and the end of training. The tasks are the
MNIST-1D benchmark's MLP and CNN on MNIST-1D at its generator's default size (5000 signals) and
a wide MLP on scikit-learn's digits, trained long enough that SGD fits 20 % symmetric noise.

A cell is (task, noise kind, noise rate, method); a task is ``"<dataset>/<model>"``. Inside a cell
every configuration of the method's tuning grid trains for every seed. Every method gets the
same budget: the task's learning rates x one list of its own, all own lists of equal length
(SGD's own list: learning-rate factors). Accuracies on the noisy validation split and the clean
test split are recorded after every epoch. The configuration with the best mean validation
accuracy at the end of training (noisy labels, as a practitioner would have) is selected (exact
ties, reported in the summary, go to the smaller learning rate, then the weaker perturbation or
noise: :func:`select_configuration`) and its seeds reported: test accuracy at the end and at
the epoch of best validation accuracy, the train accuracy on the noisy labels, the fraction of
flipped labels memorised, and the top Hessian eigenvalue and trace of the noisy training loss
(no weight decay) on the first ``hessian_examples`` training examples. The test split is never
used to choose.

Cells of one task run together: one compiled, vmapped program per method family
(:mod:`sgldsim.nn.sweep`); seeds follow :mod:`sgldsim.experiments.common.nn_setup` (paired across
methods and settings).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ... import nn
from ..._memory import MemoryEstimate
from ...coupling import coupled_sigma
from ...runner import Cell, ConfigError, ExperimentConfig, Summary, cell_values
from ...verdicts import Verdict, paired_comparison
from ..common.checks import check_range
from ..common.nn_setup import (
    WIDTHS,
    NetworkParams,
    NoiseKind,
    check_dataset_fits,
    classifier_runs_memory,
    dataset_from_params,
    model_from_params,
    noisy_label_sets,
    parse_task,
    seed_keys,
)
from .nn_noisy_labels_figures import noisy_labels_figures

CHUNK_SIZE = 24
COMPARED_METHODS = ("sgd", "sgld", "rwp", "fsgld", "sam", "asam")
"""The methods compared (the cells' ``method``), in the order tables and figures show."""
BASELINES = ("sgd", "sgld", "rwp", "sam", "asam")
SETTING = ["task", "noise", "noise_rate"]
OWN_LISTS = {"sgd": "sgd_learning_rate_factors", "sgld": "langevin_betas",
             "rwp": "langevin_betas", "fsgld": "langevin_betas", "sam": "sam_rhos",
             "asam": "asam_rhos"}
"""The list each method tunes besides the learning rate (RWP: the sigmas the coupling gives
these betas, without Langevin noise)."""
MEMORISES = 0.95
"""SGD "memorises" when its train accuracy on the noisy labels is at least this."""
TIE_TOLERANCE = 1e-6
"""Mean validation accuracies closer than this are tied: accuracies are counts over the
validation split stored in float32, so one example more moves a mean by at least 1 / (seeds x
validation examples), far above float32's rounding (~1e-7), and equal counts agree to it."""


@dataclass(frozen=True)
class Params(NetworkParams):
    """nn-noisy-labels' parameters, besides the data split and widths of
    :class:`~sgldsim.experiments.common.nn_setup.NetworkParams`. Only the setting (``task``,
    ``noise``, ``noise_rate``) and ``method`` may be swept; the rest is fixed (one training
    budget per run).

    Attributes:
      task: ``"<dataset>/<model>"`` with dataset in :data:`sgldsim.nn.DATASETS` and model in
        :data:`sgldsim.nn.MODELS`; the model needs ``<model>_learning_rates``.
      noise: the label-noise kind.
      noise_rate: the share of training and validation labels flipped; in [0, 1].
      method: the method trained, from :data:`COMPARED_METHODS`.
      epochs: passes over the training split; > 0.
      mlp_epochs, cnn_epochs, residual_mlp_epochs, strided_cnn_epochs: a model's own epochs
        (one that needs longer to fit the noisy labels); > 0; absent: ``epochs``.
      batch_size: examples per step; > 0 and at most the training split.
      weight_decay: L2 penalty added to every method's loss; >= 0.
      seeds: paired seeds per configuration; >= 1.
      mlp_learning_rates, cnn_learning_rates, residual_mlp_learning_rates,
        strided_cnn_learning_rates: the learning rates every method tries on a model; each
        > 0.
      sgd_learning_rate_factors: SGD's own list: factors of the learning rate; each > 0.
      langevin_betas: SGLD's and fSGLD's own list: betas of the mean loss (RWP: the sigmas the
        coupling gives them); each > 0.
      coupling_eta: fSGLD's and RWP's sigma = beta^(-(1+eta)/4) at this eta.
      sam_rhos: SAM's own list of radii; each > 0.
      asam_rhos: ASAM's own list of radii; each > 0.
      asam_eta: ASAM's eta; >= 0.
      hessian_examples: training examples of the curvature measures; > 0.
      lanczos_iterations: Lanczos iterations of the top Hessian eigenvalue; > 0.
      trace_samples: Hutchinson probes of the Hessian trace; > 1.

    Every own list has the same length (the same tuning budget for every method).
    """

    task: str = "mnist1d/residual_mlp"
    noise: NoiseKind = "symmetric"
    noise_rate: float = 0.2
    method: Literal[COMPARED_METHODS] = "sgd"
    residual_mlp_hidden: tuple[int, ...] | None = (100, 100)
    strided_cnn_channels: tuple[int, ...] | None = (25, 25, 25)
    mlp_hidden: tuple[int, ...] | None = (256, 256)
    epochs: int = 60
    mlp_epochs: int | None = 200
    cnn_epochs: int | None = None
    residual_mlp_epochs: int | None = None
    strided_cnn_epochs: int | None = None
    batch_size: int = 128
    weight_decay: float = 0.0
    seeds: int = 3
    mlp_learning_rates: tuple[float, ...] | None = (0.5,)
    cnn_learning_rates: tuple[float, ...] | None = None
    residual_mlp_learning_rates: tuple[float, ...] | None = (0.5,)
    strided_cnn_learning_rates: tuple[float, ...] | None = (0.5,)
    sgd_learning_rate_factors: tuple[float, ...] = (0.8, 1.0)
    langevin_betas: tuple[float, ...] = (1e4, 1e6)
    coupling_eta: float = 0.1
    sam_rhos: tuple[float, ...] = (0.05, 0.1)
    asam_rhos: tuple[float, ...] = (0.5, 1.0)
    asam_eta: float = 0.01
    hessian_examples: int = 256
    lanczos_iterations: int = 20
    trace_samples: int = 20

    def task_epochs(self, model: str) -> int:
        """Epochs of a task: ``<model>_epochs`` where given, else ``epochs``."""
        own = {"mlp": self.mlp_epochs, "cnn": self.cnn_epochs,
               "residual_mlp": self.residual_mlp_epochs,
               "strided_cnn": self.strided_cnn_epochs}[model]
        return self.epochs if own is None else own

    def learning_rates(self, model: str) -> tuple[float, ...] | None:
        """``<model>_learning_rates`` (``None`` where absent)."""
        return {"mlp": self.mlp_learning_rates, "cnn": self.cnn_learning_rates,
                "residual_mlp": self.residual_mlp_learning_rates,
                "strided_cnn": self.strided_cnn_learning_rates}[model]

    def own_list(self, method: str) -> tuple[float, ...]:
        """The list ``method`` tunes besides the learning rate (:data:`OWN_LISTS`)."""
        return {"sgd": self.sgd_learning_rate_factors, "sgld": self.langevin_betas,
                "rwp": self.langevin_betas, "fsgld": self.langevin_betas,
                "sam": self.sam_rhos, "asam": self.asam_rhos}[method]


Params.NOT_SWEPT = tuple(name for name in Params.names() if name not in (*SETTING, "method"))
PARAMS = Params
MODEL_EPOCHS = tuple(f"{model}_epochs" for model in nn.MODELS)
MODEL_LEARNING_RATES = tuple(f"{model}_learning_rates" for model in nn.MODELS)


def validate(config: ExperimentConfig) -> None:
    """Each task's model has its learning rates, the own lists have equal lengths, ranges (each
    message names the key and the range), and the batch against the datasets."""
    p = Params.from_config(config)
    tasks = cell_values(config, p, "task")
    for task in tasks:
        try:
            _, model = parse_task(task)
        except ValueError as err:
            raise ConfigError(f"{config.key_path('task')}: {err}") from None
        if p.learning_rates(model) is None:
            raise ConfigError(f"{config.key_path('task')}={task!r} needs "
                              f"params.{model}_learning_rates")
    lengths = dict(sorted({OWN_LISTS[m]: len(p.own_list(m)) for m in OWN_LISTS}.items()))
    if len(set(lengths.values())) != 1:
        raise ConfigError(f"the tuning lists {lengths!r} are not allowed: every method gets the "
                          "same budget, so they must have equal lengths")
    check_range(config, p, "noise_rate", 0.0, 1.0, low_inclusive=True)
    check_range(config, p, "seeds", 1, low_inclusive=True)
    for name in ("epochs", "batch_size", "hessian_examples", "lanczos_iterations",
                 "num_samples_mnist1d", *MODEL_EPOCHS, *WIDTHS):
        check_range(config, p, name, 0)
    check_range(config, p, "trace_samples", 1)
    for name in (*sorted(set(OWN_LISTS.values())), *MODEL_LEARNING_RATES):
        check_range(config, p, name, 0.0)
    for name in ("weight_decay", "asam_eta"):
        check_range(config, p, name, 0.0, low_inclusive=True)
    check_dataset_fits(config, p, [parse_task(t)[0] for t in tasks], config.key_path("task"),
                       [p.batch_size])


def tuning_grid(method: str, model: str, p: Params) -> list[tuple[str, nn.Hyperparameters]]:
    """``(label, hyperparameters)`` of each configuration a method tries: the model's learning
    rates x the method's own list (:data:`OWN_LISTS`): SGD learning-rate factors, SGLD and
    fSGLD betas (fSGLD's sigma from the coupling at ``coupling_eta``), RWP the coupled sigmas
    of those betas without Langevin noise, SAM and ASAM their rhos."""
    configs = []
    for lr in p.learning_rates(model):
        for value in p.own_list(method):
            if method == "sgd":
                configs.append((f"lr={lr * value:g}", nn.hyperparameters(lr * value)))
            elif method in ("sgld", "fsgld", "rwp"):
                sigma = float(coupled_sigma(value, p.coupling_eta))
                label, hyper = {
                    "sgld": (f"lr={lr:g} beta={value:g}", nn.hyperparameters(lr, beta=value)),
                    "fsgld": (f"lr={lr:g} beta={value:g} sigma={sigma:.3g}",
                              nn.hyperparameters(lr, beta=value, sigma=sigma)),
                    "rwp": (f"lr={lr:g} sigma={sigma:.3g}", nn.hyperparameters(lr, sigma=sigma)),
                }[method]
                configs.append((label, hyper))
            else:
                configs.append((f"lr={lr:g} rho={value:g}", nn.hyperparameters(lr, rho=value)))
    return configs


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: per task, each method family's runs (its cells' tuning grids x
    seeds) train vmapped in one program, one family at a time, then the selected
    configurations' curvature
    (:func:`~sgldsim.experiments.common.nn_setup.classifier_runs_memory`)."""
    tasks = defaultdict(list)
    for cell in cells:
        q = Params.from_cell(cell)
        tasks[q.task].append(q)
    worst = (0.0, "")
    for task, group in tasks.items():
        dataset_name, model_name = parse_task(task)
        p = group[0]
        families = defaultdict(int)
        for q in group:
            families[nn.METHOD_FAMILY[q.method]] += len(tuning_grid(q.method, model_name, p))
        runs = max(families.values()) * p.seeds
        needed, params = classifier_runs_memory(
            p, dataset_name, model_name, runs, p.batch_size, p.task_epochs(model_name),
            curvature_runs=len(group) * p.seeds, hessian_examples=p.hessian_examples,
            lanczos_iterations=p.lanczos_iterations)
        worst = max(worst, (needed, f"{task}: {runs} runs (configurations x seeds = {p.seeds}) "
                                    f"of a model of {params} parameters"))
    return MemoryEstimate(*worst, "lower params.seeds, the tuning lists, chunk_size or the "
                                  "model's widths")


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """Train every cell's grid x seeds, grouped by task and method family."""
    del keys  # seeds are shared across cells (common random numbers, see nn_setup)
    rows = {cell.id: [] for cell in cells}
    groups = defaultdict(list)
    for cell in cells:
        groups[Params.from_cell(cell).task].append(cell)
    for task, group in groups.items():
        dataset_name, model_name = parse_task(task)
        for cell, cell_rows in zip(group, _run_group(config, dataset_name, model_name, group),
                                   strict=True):
            rows[cell.id] = cell_rows
    return [rows[cell.id] for cell in cells]


def _run_group(config, dataset_name, model_name, cells):
    params = [Params.from_cell(c) for c in cells]
    p = params[0]  # the fixed parameters (every one but the setting and method)
    dataset = dataset_from_params(p, dataset_name)
    model = model_from_params(p, model_name, dataset)
    num_seeds = p.seeds
    noise_keys, train_keys = seed_keys(config.seed, num_seeds)
    labels = {(q.noise, q.noise_rate): None for q in params}
    labels = {setting: noisy_label_sets(noise_keys, dataset, *setting) for setting in labels}

    # runs[family] = [(cell index, config index, seed)], with their hyperparameters
    runs, hypers, grids = defaultdict(list), defaultdict(list), []
    for i, q in enumerate(params):
        grid = tuning_grid(q.method, model_name, p)
        grids.append(grid)
        family = nn.METHOD_FAMILY[q.method]
        for j, (_, hyper) in enumerate(grid):
            for s in range(num_seeds):
                runs[family].append((i, j, s))
                hypers[family].append(hyper)

    metrics, trained, where = {}, {}, {}
    for family, members in runs.items():
        settings = [(params[i].noise, params[i].noise_rate) for i, _, _ in members]
        seeds = np.array([s for _, _, s in members])
        train_labels = jnp.stack([labels[st][0][s] for st, s in zip(settings, seeds,
                                                                     strict=True)])
        val_labels = jnp.stack([labels[st][1][s] for st, s in zip(settings, seeds, strict=True)])
        hyper = jax.tree.map(lambda *xs: jnp.stack(xs), *hypers[family])
        names = [f"{params[i].task} {params[i].noise} "
                 f"{params[i].noise_rate:g} {params[i].method} {grids[i][j][0]} seed {s}"
                 for i, j, s in members]
        trained_params, m = nn.train_classifier_runs(
            family, model, dataset, train_keys[seeds], hyper, train_labels, val_labels,
            epochs=p.task_epochs(model_name), batch_size=p.batch_size,
            weight_decay=p.weight_decay, asam_eta=p.asam_eta, labels=names)
        m = jax.tree.map(np.asarray, m)
        for r, member in enumerate(members):
            metrics[member] = {name: float(getattr(m, name)[r]) for name in m._fields}
            where[member] = (family, r)
        trained[family] = trained_params

    selected = []
    for i, grid in enumerate(grids):
        val = [np.mean([metrics[i, j, s]["validation_accuracy"] for s in range(num_seeds)])
               for j in range(len(grid))]
        selected.append(select_configuration([label for label, _ in grid], val)[0])

    # Curvature of every cell's selected configuration, all seeds, in one batch.
    n_hessian = p.hessian_examples
    chosen = [(i, selected[i], s) for i in range(len(cells)) for s in range(num_seeds)]
    stacked = jax.tree.map(
        lambda *xs: jnp.stack(xs),
        *[jax.tree.map(lambda x, r=where[m][1]: x[r], trained[where[m][0]]) for m in chosen])
    hessian_labels = jnp.stack([
        labels[params[i].noise, params[i].noise_rate][0][s][:n_hessian] for i, _, s in chosen])
    curvature_keys = jnp.stack([jax.random.fold_in(train_keys[s], 2) for _, _, s in chosen])
    curv = nn.curvature_runs(model, curvature_keys, stacked, dataset.train.x[:n_hessian],
                             hessian_labels, lanczos_iterations=p.lanczos_iterations,
                             trace_samples=p.trace_samples)
    curv = {m: {name: float(np.asarray(getattr(curv, name))[r]) for name in curv._fields}
            for r, m in enumerate(chosen)}

    out = []
    for i, grid in enumerate(grids):
        cell_rows = []
        for j, (label, _) in enumerate(grid):
            for s in range(num_seeds):
                tags = {"config": label, "seed": s, "selected": j == selected[i]}
                cell_rows += [{"measure": name, "value": value, **tags}
                              for name, value in metrics[i, j, s].items()]
                if j == selected[i]:
                    cell_rows += [{"measure": name, "value": value, **tags}
                                  for name, value in curv[i, j, s].items()]
        out.append(cell_rows)
    return out


def tie_break_key(label: str) -> tuple[float, float]:
    """The order in which tied configurations are preferred, from a label of
    :func:`tuning_grid`: the smaller learning rate first, then the weaker perturbation or noise
    (the smaller rho or sigma; without either, the larger beta; none: 0). The same rule for
    every method: among configurations the noisy validation split cannot tell apart, the one
    closest to plain small-step SGD."""
    values = dict(part.split("=", 1) for part in label.split())
    learning_rate = float(values["lr"])
    for name in ("rho", "sigma"):
        if name in values:
            return learning_rate, float(values[name])
    return learning_rate, 1.0 / float(values["beta"]) if "beta" in values else 0.0


def select_configuration(labels: list[str], validation) -> tuple[int, list[int]]:
    """The selected configuration: the highest mean noisy-validation accuracy; configurations
    within :data:`TIE_TOLERANCE` of it are tied and the first by :func:`tie_break_key` wins.

    Returns:
      ``(index of the selected configuration, indices of all tied at the best)``.
    """
    validation = np.asarray(validation, dtype=float)
    tied = [int(j) for j in np.flatnonzero(validation >= validation.max() - TIE_TOLERANCE)]
    return min(tied, key=lambda j: tie_break_key(labels[j])), tied


def selection(results: pd.DataFrame) -> pd.DataFrame:
    """Per cell (setting and method): the configuration :func:`select_configuration` picks from
    the recorded validation accuracies (``config``), the configurations tied at the best
    (``tied``, in the tie-break order) and the one the run recorded as selected
    (``recorded``)."""
    val = results[results.measure == "validation_accuracy"]
    means = val.groupby(["cell_id", *SETTING, "method", "config"], sort=False).value.mean()
    recorded = val[val.selected.astype(bool)].groupby("cell_id").config.first()
    rows = []
    for (cell_id, *setting, method), part in means.groupby(
            level=["cell_id", *SETTING, "method"], sort=False):
        labels = list(part.index.get_level_values("config"))
        chosen, tied = select_configuration(labels, part.to_numpy())
        rows.append({"cell_id": cell_id, **dict(zip(SETTING, setting, strict=True)),
                     "method": method, "config": labels[chosen],
                     "tied": [labels[j] for j in sorted(tied, key=lambda j:
                                                        tie_break_key(labels[j]))],
                     "recorded": recorded.get(cell_id)})
    return pd.DataFrame(rows)


def selected_runs(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, seed) of the selected configuration (:func:`selection`), a column per
    measure. The curvature measures exist only for the configuration the run selected."""
    chosen = results.merge(selection(results)[["cell_id", "config"]], on=["cell_id", "config"])
    keys = [*SETTING, "method", "config", "seed"]
    wide = chosen.pivot_table(index=keys, columns="measure", values="value", sort=False)
    wide = wide.reset_index()
    return wide.assign(drop=wide.test_accuracy_at_best - wide.test_accuracy)


MEASURES = {"test": "test_accuracy", "best_test": "test_accuracy_at_best", "drop": "drop",
            "train": "train_accuracy", "memorized": "memorized_fraction",
            "top_eigenvalue": "top_eigenvalue", "trace": "trace", "best_epoch": "best_epoch"}
"""Summary name -> measure of :func:`selected_runs`."""


def per_setting(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of the selected configuration, per setting and method
    (columns ``<name>_mean``, ``<name>_std`` for each name of :data:`MEASURES`, and ``n``)."""
    runs = selected_runs(results)
    grouped = runs.groupby([*SETTING, "method", "config"], sort=False)
    aggregations = {"n": ("test_accuracy", "size")}
    for name, measure in MEASURES.items():
        if measure in runs:
            aggregations[f"{name}_mean"] = (measure, "mean")
            aggregations[f"{name}_std"] = (measure, "std")
    return grouped.agg(**aggregations).reset_index()


def _paired(runs: pd.DataFrame, baseline: str, measure: str, log: bool = False
            ) -> pd.DataFrame:
    """fSGLD's value (``a``) and the baseline's (``b``) in the same setting and seed (paired:
    same initialisation, batches and flipped labels), logs with ``log``; ``unit`` names the
    setting; ``runs`` from :func:`selected_runs`."""
    if measure not in runs:
        return pd.DataFrame({"unit": [], "a": [], "b": []})
    wide = runs.pivot_table(index=[*SETTING, "seed"], columns="method", values=measure,
                            sort=False)
    if "fsgld" not in wide or baseline not in wide:
        return pd.DataFrame({"unit": [], "a": [], "b": []})
    a, b = (np.log(wide.fsgld), np.log(wide[baseline])) if log else (wide.fsgld, wide[baseline])
    pairs = pd.DataFrame({"a": a, "b": b}).dropna().reset_index()
    pairs["unit"] = pairs[SETTING].astype(str).agg(" ".join, axis=1)
    return pairs


def _compare(d: pd.DataFrame, direction: str, claim: str):
    """:func:`sgldsim.verdicts.paired_comparison` over the settings as units (the SE is the
    spread of the per-setting mean differences, t quantiles with settings - 1 degrees of
    freedom), and per setting over its seeds: how many settings are on the claimed side /
    the other side / neither (95 % intervals with t quantiles over the seeds)."""
    result = paired_comparison(d.a.to_numpy(float), d.b.to_numpy(float),
                               units=d.unit.to_numpy(), direction=direction, claim=claim)
    counts = {"consistent": 0, "inconsistent": 0, "inconclusive": 0}
    for _, part in d.groupby("unit", sort=False):
        one = paired_comparison(part.a.to_numpy(float), part.b.to_numpy(float),
                                direction=direction)
        counts[one.verdict.verdict] += 1
    return result, counts["consistent"], counts["inconsistent"], counts["inconclusive"]


def _accuracy_verdicts(runs: pd.DataFrame) -> tuple[list[Verdict], dict]:
    verdicts, fitted = [], {}
    for measure, when in (("test_accuracy", "end of training"),
                          ("test_accuracy_at_best", "best validation epoch")):
        for baseline in BASELINES:
            d = _paired(runs, baseline, measure)
            claim = f"fSGLD matches or beats {baseline.upper()} (test accuracy, {when})"
            result, better, worse, tied = _compare(d, "a > b", claim)
            if np.isfinite(result.mean):
                fitted[f"{measure}_gain_vs_{baseline}"] = result.mean
                fitted[f"{measure}_gain_vs_{baseline}_stderr"] = result.stderr
            reason = (f"fSGLD - {baseline.upper()} = {100 * result.mean:+.2f} ± "
                      f"{100 * result.stderr:.2f} pp; fSGLD wins in {better}, loses in "
                      f"{worse}, ties in {tied} settings (95 % paired intervals over seeds); "
                      f"{result.verdict.reason}")
            # non-inferiority: contradicted only by an interval below 0
            matches = ("inconclusive" if result.n_units < 2 else
                       "inconsistent" if result.verdict.verdict == "inconsistent" else
                       "consistent")
            verdicts.append(Verdict(claim, matches, reason))
            if baseline in ("sgd", "sam") and measure == "test_accuracy":
                verdicts.append(Verdict(f"fSGLD beats {baseline.upper()} (the headline's "
                                        f"ranking, {when})", result.verdict.verdict, reason))
    return verdicts, fitted


def _memorisation_verdicts(runs: pd.DataFrame, table: pd.DataFrame
                           ) -> tuple[list[Verdict], dict]:
    verdicts, fitted = [], {}
    sgd = table[(table.method == "sgd") & (table.noise == "symmetric")
                & np.isclose(table.noise_rate, 0.2)]
    claim = (f"the regime: SGD fits the noisy labels (train accuracy >= {100 * MEMORISES:g} % at "
             "20 % symmetric noise)")
    if sgd.empty:
        verdicts.append(Verdict(claim, "inconclusive", "no SGD cell at 20 % symmetric noise"))
    else:
        shown = ", ".join(f"{t} {100 * a:.1f} %" for t, a in zip(sgd.task, sgd.train_mean,
                                                                 strict=True))
        verdicts.append(Verdict(claim, "consistent" if (sgd.train_mean >= MEMORISES).all()
                                else "inconsistent", f"SGD's noisy train accuracy: {shown}"))
    d = _paired(runs, "sgd", "memorized_fraction")
    claim = "fSGLD memorises fewer flipped labels than SGD"
    result, fewer, more, tied = _compare(d, "a < b", claim)
    if np.isfinite(result.mean):
        fitted["memorized_fraction_diff_vs_sgd"] = result.mean
    verdicts.append(result.verdict._replace(reason=(
        f"fSGLD - SGD = {100 * result.mean:+.1f} ± {100 * result.stderr:.1f} pp of the flipped "
        f"labels; fewer in {fewer}, more in {more}, neither in {tied} settings; "
        f"{result.verdict.reason}")))
    return verdicts, fitted


def _flatness_verdicts(runs: pd.DataFrame) -> tuple[list[Verdict], dict]:
    verdicts, fitted = [], {}
    for baseline in ("sgd", "sgld", "sam"):
        for column, name in (("top_eigenvalue", "top Hessian eigenvalue"),
                             ("trace", "Hessian trace")):
            d = _paired(runs, baseline, column, log=True)
            claim = f"fSGLD reaches flatter minima than {baseline.upper()} ({name})"
            result, lower, higher, tied = _compare(d, "a < b", claim)
            if np.isfinite(result.mean):
                fitted[f"log_{column}_ratio_vs_{baseline}"] = result.mean
            verdicts.append(result.verdict._replace(reason=(
                f"mean log(fSGLD / {baseline.upper()}) = {result.mean:+.3f} ± "
                f"{result.stderr:.3f} (ratio {np.exp(result.mean):.2f}); significantly lower in "
                f"{lower}, higher in {higher}, neither in {tied} settings; "
                f"{result.verdict.reason}")))
    return verdicts, fitted


def _wide(table: pd.DataFrame, cell) -> pd.DataFrame:
    wide = table.assign(shown=table.apply(cell, axis=1)).pivot_table(
        index=SETTING, columns="method", values="shown", aggfunc="first", sort=False)
    return wide[[m for m in COMPARED_METHODS if m in wide.columns]]


LEGEND = """\
Legend (every table: rows are settings, columns methods; one configuration per method, selected
on the mean noisy-validation accuracy at the end of training; mean over the seeds):
  test at end      clean test accuracy after the last epoch (%, mean ± std over seeds)
  test at best     clean test accuracy at the epoch of highest noisy-validation accuracy (%)
  drop             test at best - test at end (percentage points): what training on lost
  train (noisy)    train accuracy against the noisy labels (%); >= 95 means memorisation
  memorised        fraction of the flipped training labels the network predicts as flipped (%)
  best epoch       0-based epoch of highest noisy-validation accuracy (out of the task's epochs)
  top eigenvalue   largest Hessian eigenvalue of the noisy training loss (Lanczos)
  trace            Hessian trace of the noisy training loss (Hutchinson)
  selected         the selected configuration (learning rate and the method's own parameter)
Selection ties (equal mean validation accuracy, within 1e-6) go to the smaller learning rate,
then the weaker perturbation or noise (smaller rho or sigma, else larger beta): the same rule for
every method; the tied cells are listed above.
Verdicts compare fSGLD with each baseline on the same seeds (paired differences) with
sgldsim.verdicts.paired_comparison, settings as units: the standard error is the spread of the
per-setting mean differences, the 95 % interval uses t quantiles (settings - 1 degrees of
freedom). "matches or beats" holds unless the interval lies below 0; "beats", "fewer" and
"flatter" need it on the claimed side of 0. Per setting, "wins/loses" means a 95 % interval over
its seeds (t quantiles) above / below 0, "ties" neither."""


def _ties_text(chosen: pd.DataFrame) -> str:
    """The cells whose best mean validation accuracy is shared by several configurations, the
    one the tie-break rule picks, and any cell whose recorded selection differs from it."""
    tied = chosen[chosen.tied.map(len) > 1]
    lines = [f"selection ties: {len(tied)} of {len(chosen)} cells have several configurations "
             "at the best mean validation accuracy (broken by the rule in the legend)"]
    lines += [f"  {' '.join(str(r[c]) for c in SETTING)} {r.method}: "
              f"{' = '.join(r.tied)} -> {r.config}" for _, r in tied.iterrows()]
    moved = chosen[chosen.recorded.notna() & (chosen.recorded != chosen.config)]
    lines += [f"  {' '.join(str(r[c]) for c in SETTING)} {r.method}: the run selected "
              f"{r.recorded}; the rule selects {r.config} (its curvature was not measured)"
              for _, r in moved.iterrows()]
    return "\n".join(lines)


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table = per_setting(results)
    n = int(table.n.min()) if len(table) else 0
    sections = [
        ("test at end (%)", lambda r: f"{100 * r.test_mean:.1f} ± {100 * r.test_std:.1f}"),
        ("test at best (%)", lambda r: f"{100 * r.best_test_mean:.1f} ± "
                                       f"{100 * r.best_test_std:.1f}"),
        ("drop (pp)", lambda r: f"{100 * r.drop_mean:+.1f}"),
        ("train (noisy) (%)", lambda r: f"{100 * r.train_mean:.1f}"),
        ("memorised (%)", lambda r: f"{100 * r.memorized_mean:.0f}"),
        ("best epoch", lambda r: f"{r.best_epoch_mean:.0f}"),
        ("top eigenvalue", lambda r: f"{r.top_eigenvalue_mean:.3g}"),
        ("trace", lambda r: f"{r.trace_mean:.3g}"),
        ("selected", lambda r: r.config),
    ]
    overall = table.groupby("method", sort=False).test_mean.mean()
    text = "\n\n".join(
        [f"{len(table)} (setting, method) rows, {n} seeds each"]
        + [f"{title}:\n" + _wide(table, cell).to_string() for title, cell in sections]
        + ["mean test accuracy at end over settings (%): " + ", ".join(
            f"{m} {100 * overall[m]:.2f}" for m in COMPARED_METHODS if m in overall),
           _ties_text(selection(results)), LEGEND])
    runs = selected_runs(results)
    acc_verdicts, acc_fitted = _accuracy_verdicts(runs)
    mem_verdicts, mem_fitted = _memorisation_verdicts(runs, table)
    flat_verdicts, flat_fitted = _flatness_verdicts(runs)
    overall_fitted = {f"mean_test_accuracy[{m}]": overall[m] for m in overall.index}
    return Summary(table=text,
                   fitted={**overall_fitted, **acc_fitted, **mem_fitted, **flat_fitted},
                   verdicts=mem_verdicts + acc_verdicts + flat_verdicts)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """``accuracy`` and ``hessian`` (:func:`~.nn_noisy_labels_figures.noisy_labels_figures`)."""
    table = per_setting(results)
    methods = [m for m in COMPARED_METHODS if m in set(table.method)]
    return noisy_labels_figures(table, methods, SETTING, out_dir)

"""Noisy-label classification under a fair comparison: does fSGLD beat SGD tuned as well as it
is, and which of its two parts (the random weight perturbation, the Langevin noise) carries any
gain? (docs/theory.md §7; the paper's CIFAR-N / WebVision claims, in miniature.)

Protocol (the paper's, scaled down): every method trains with weight decay ``weight_decay``
(5e-4) and a step learning-rate schedule (``lr_milestones``, ``lr_decay``: x0.1 at half and
three quarters of training), long enough that SGD fits the noisy labels of MNIST-1D; the
primary outcome is the clean test accuracy, at the end of training and with early stopping
(at the epoch of best noisy-validation accuracy). Memorisation of the flipped labels, the fit of
the clean training labels and the Hessian's curvature are mechanisms, reported beside it.

Equal reach of tuning: every method tries the same number of configurations
(:data:`OWN_LISTS`), each along its own regularising direction, selected on the noisy validation
split only (never the test split):

| method   | configurations                                                    |
|----------|-------------------------------------------------------------------|
| sgd      | learning rate x ``sgd_learning_rate_factors`` (e.g. 0.02-0.5)      |
| sgd_wd   | SGD at the task's learning rate, weight decay ``sgd_weight_decays`` |
| sgld     | ``langevin_betas`` (no perturbation)                              |
| rwp      | the sigmas the coupling gives ``langevin_betas`` (no Langevin noise) |
| fsgld    | ``langevin_betas``, sigma = beta^(-(1+eta)/4)                      |
| sam/asam | ``sam_rhos`` / ``asam_rhos``                                       |

SGLD, RWP and fSGLD share their betas and sigmas, so fSGLD's selected configuration has a
matched RWP (same sigma, no Langevin noise) and a matched SGLD (same beta, no perturbation) on
the same seeds: the decomposition. The betas span the hot range (beta < 1e7) and the paper's
range (:data:`PAPER_BETAS`, beta in [1e7, 1e9]); SGLD, RWP and fSGLD are also selected within
each range alone. "SGD, best tuned" is SGD's union (learning rates and weight decays) selected on
validation: twice fSGLD's reach, so fSGLD beating it is the stronger statement.

A cell is (task, noise kind, noise rate, method); a task is ``"<dataset>/<model>"``. Cells of one
task run together: one compiled, vmapped program per method family (:mod:`sgldsim.nn.sweep`);
seeds follow :mod:`sgldsim.experiments.common.nn_setup` (paired across methods and settings).
"""

from __future__ import annotations

import math
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
from ...verdicts import PairedComparison, Verdict, paired_comparison
from ..common.checks import check_lr_schedule, check_range
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

CHUNK_SIZE = 14
COMPARED_METHODS = ("sgd", "sgd_wd", "sgld", "rwp", "fsgld", "sam", "asam")
"""The methods trained (the cells' ``method``), in the order tables and figures show."""
FAMILY = {**nn.METHOD_FAMILY, "sgd_wd": "langevin"}
"""The compiled program family of each method (:data:`sgldsim.nn.METHOD_FAMILY`)."""
SETTING = ["task", "noise", "noise_rate"]
OWN_LISTS = {"sgd": "sgd_learning_rate_factors", "sgd_wd": "sgd_weight_decays",
             "sgld": "langevin_betas", "rwp": "langevin_betas", "fsgld": "langevin_betas",
             "sam": "sam_rhos", "asam": "asam_rhos"}
"""The list each method tunes (RWP: the sigmas the coupling gives these betas, without Langevin
noise); every list has the same length, the same tuning budget."""
PAPER_BETAS = (1e7, 1e9)
"""The paper's range of inverse temperatures, [1e7, 1e9] (its code tunes 1/beta in [1e-9, 1e-7]);
smaller ones are "hot"."""
LANGEVIN = ("sgld", "rwp", "fsgld")
"""The methods whose configurations are betas (RWP: through the coupled sigma)."""
MEMORISES = 0.95
"""SGD "memorises" when its train accuracy on the noisy labels is at least this."""
TIE_TOLERANCE = 1e-6
"""Mean validation accuracies closer than this are tied: accuracies are counts over the
validation split stored in float32, so one example more moves a mean by at least 1 / (seeds x
validation examples), far above float32's rounding (~1e-7), and equal counts agree to it."""
OUTCOMES = {"end": ("validation_accuracy", "test_accuracy"),
            "early stopping": ("best_validation_accuracy", "test_accuracy_at_best")}
"""The two outcomes: (validation measure that selects, test measure reported). Early stopping
selects on the best epoch's noisy-validation accuracy and reports the test accuracy there."""


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
      mlp_epochs, cnn_epochs, residual_mlp_epochs, strided_cnn_epochs: a model's own epochs;
        > 0; absent: ``epochs``.
      batch_size: examples per step; > 0 and at most the training split.
      weight_decay: the coupled L2 decay of every method but ``sgd_wd``; >= 0 (the paper: 5e-4).
      lr_milestones: the step schedule's milestones, fractions of training in (0, 1),
        increasing (:func:`sgldsim.nn.step_schedule`); empty: constant learning rates.
      lr_decay: the factor at each milestone; in (0, 1].
      seeds: paired seeds per configuration; >= 2.
      mlp_learning_rates, cnn_learning_rates, residual_mlp_learning_rates,
        strided_cnn_learning_rates: the learning rates every method tries on a model; each
        > 0.
      sgd_learning_rate_factors: SGD's own list: factors of the learning rate; each > 0.
      sgd_weight_decays: ``sgd_wd``'s own list: weight decays replacing ``weight_decay``;
        each >= 0.
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
    epochs: int = 120
    mlp_epochs: int | None = None
    cnn_epochs: int | None = None
    residual_mlp_epochs: int | None = None
    strided_cnn_epochs: int | None = None
    batch_size: int = 128
    weight_decay: float = 5e-4
    lr_milestones: tuple[float, ...] = (0.5, 0.75)
    lr_decay: float = 0.1
    seeds: int = 5
    mlp_learning_rates: tuple[float, ...] | None = (0.5,)
    cnn_learning_rates: tuple[float, ...] | None = None
    residual_mlp_learning_rates: tuple[float, ...] | None = (0.5,)
    strided_cnn_learning_rates: tuple[float, ...] | None = (0.5,)
    sgd_learning_rate_factors: tuple[float, ...] = (0.04, 0.1, 0.4, 1.0)
    sgd_weight_decays: tuple[float, ...] = (2e-3, 5e-3, 1e-2, 2e-2)
    langevin_betas: tuple[float, ...] = (1e4, 1e5, 1e7, 1e8)
    coupling_eta: float = 0.1
    sam_rhos: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2)
    asam_rhos: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
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
        return getattr(self, OWN_LISTS[method])


Params.NOT_SWEPT = tuple(name for name in Params.names() if name not in (*SETTING, "method"))
PARAMS = Params
MODEL_EPOCHS = tuple(f"{model}_epochs" for model in nn.MODELS)
MODEL_LEARNING_RATES = tuple(f"{model}_learning_rates" for model in nn.MODELS)


def validate(config: ExperimentConfig) -> None:
    """Each task's model has its learning rates, the own lists have equal lengths, ranges (each
    message names the key and the range), the schedule, and the batch against the datasets."""
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
    check_range(config, p, "seeds", 2, low_inclusive=True)
    for name in ("epochs", "batch_size", "hessian_examples", "lanczos_iterations",
                 "num_samples_mnist1d", *MODEL_EPOCHS, *WIDTHS):
        check_range(config, p, name, 0)
    check_range(config, p, "trace_samples", 1)
    for name in (*sorted(set(OWN_LISTS.values()) - {"sgd_weight_decays"}),
                 *MODEL_LEARNING_RATES):
        check_range(config, p, name, 0.0)
    for name in ("weight_decay", "asam_eta", "sgd_weight_decays"):
        check_range(config, p, name, 0.0, low_inclusive=True)
    check_lr_schedule(config, p)
    check_dataset_fits(config, p, [parse_task(t)[0] for t in tasks], config.key_path("task"),
                       [p.batch_size])


def tuning_grid(method: str, model: str, p: Params) -> list[tuple[str, nn.Hyperparameters]]:
    """``(label, hyperparameters)`` of each configuration a method tries: the model's learning
    rates x the method's own list (:data:`OWN_LISTS`), every one with ``weight_decay`` but
    ``sgd_wd``'s: SGD learning-rate factors, SGD weight decays, SGLD and fSGLD betas (fSGLD's
    sigma from the coupling at ``coupling_eta``), RWP the coupled sigmas of those betas
    without Langevin noise, SAM and ASAM their rhos."""
    configs = []
    decay = p.weight_decay
    for lr in p.learning_rates(model):
        for value in p.own_list(method):
            if method == "sgd":
                configs.append((f"lr={lr * value:g}",
                                nn.hyperparameters(lr * value, weight_decay=decay)))
            elif method == "sgd_wd":
                configs.append((f"lr={lr:g} wd={value:g}",
                                nn.hyperparameters(lr, weight_decay=value)))
            elif method in LANGEVIN:
                sigma = float(coupled_sigma(value, p.coupling_eta))
                label, hyper = {
                    "sgld": (f"lr={lr:g} beta={value:g}",
                             nn.hyperparameters(lr, beta=value, weight_decay=decay)),
                    "fsgld": (f"lr={lr:g} beta={value:g} sigma={sigma:.3g}",
                              nn.hyperparameters(lr, beta=value, sigma=sigma,
                                                 weight_decay=decay)),
                    "rwp": (f"lr={lr:g} sigma={sigma:.3g}",
                            nn.hyperparameters(lr, sigma=sigma, weight_decay=decay)),
                }[method]
                configs.append((label, hyper))
            else:
                configs.append((f"lr={lr:g} rho={value:g}",
                                nn.hyperparameters(lr, rho=value, weight_decay=decay)))
    return configs


def label_values(label: str) -> dict[str, str]:
    """A configuration label of :func:`tuning_grid` as its fields: "lr=0.5 beta=1e+07" ->
    {"lr": "0.5", "beta": "1e+07"}."""
    return dict(part.split("=", 1) for part in label.split())


def config_beta(label: str, p: Params) -> float:
    """The beta of an SGLD/fSGLD label; for an RWP label, the beta of ``p.langevin_betas`` whose
    coupled sigma it shows (as :func:`tuning_grid` formats it), else the inverse of
    sigma = beta^(-(1+eta)/4); NaN for the other methods."""
    values = label_values(label)
    if "beta" in values:
        return float(values["beta"])
    if "sigma" in values and "rho" not in values:
        for beta in p.langevin_betas:
            if f"{float(coupled_sigma(beta, p.coupling_eta)):.3g}" == values["sigma"]:
                return float(beta)
        return float(values["sigma"]) ** (-4.0 / (1.0 + p.coupling_eta))
    return math.nan


def regime(beta: float) -> str:
    """"paper" for beta in :data:`PAPER_BETAS`, "hot" below it, "cold" above."""
    low, high = PAPER_BETAS
    return "hot" if beta < low else "paper" if beta <= high else "cold"


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
            families[FAMILY[q.method]] += len(tuning_grid(q.method, model_name, p))
        runs = max(families.values()) * p.seeds
        needed, params = classifier_runs_memory(
            p, dataset_name, model_name, runs, p.batch_size, p.task_epochs(model_name),
            curvature_runs=3 * len(group) * p.seeds, hessian_examples=p.hessian_examples,
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
        family = FAMILY[q.method]
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
            epochs=p.task_epochs(model_name), batch_size=p.batch_size, asam_eta=p.asam_eta,
            milestones=p.lr_milestones, decay=p.lr_decay, labels=names)
        m = jax.tree.map(np.asarray, m)
        for r, member in enumerate(members):
            metrics[member] = {name: float(getattr(m, name)[r]) for name in m._fields}
            where[member] = (family, r)
        trained[family] = trained_params

    # The configurations whose end-of-training curvature is measured: each cell's selection at
    # the end of training, overall and (SGLD, RWP, fSGLD) within each range of beta.
    selected, measured = [], []
    for i, grid in enumerate(grids):
        grid_labels = [label for label, _ in grid]
        val = [np.mean([metrics[i, j, s]["validation_accuracy"] for s in range(num_seeds)])
               for j in range(len(grid))]
        chosen = configuration_selections(grid_labels, val, p)
        selected.append(chosen["all"])
        measured.append(sorted(set(chosen.values())))

    n_hessian = p.hessian_examples
    chosen = [(i, j, s) for i in range(len(cells)) for j in measured[i] for s in range(num_seeds)]
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
                cell_rows += [{"measure": name, "value": value, **tags}
                              for name, value in curv.get((i, j, s), {}).items()]
        out.append(cell_rows)
    return out


def tie_break_key(label: str) -> tuple[float, float]:
    """The order in which tied configurations are preferred, from a label of
    :func:`tuning_grid`: the smaller learning rate first, then the weaker regularisation (the
    smaller rho, sigma or weight decay; without them, the larger beta; none: 0). The same rule
    for every method: among configurations the noisy validation split cannot tell apart, the
    one closest to plain small-step SGD."""
    values = label_values(label)
    learning_rate = float(values["lr"])
    for name in ("rho", "sigma", "wd"):
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


def configuration_selections(labels: list[str], validation, p: Params) -> dict[str, int]:
    """:func:`select_configuration` over all of a method's configurations (``"all"``) and, for
    configurations that are betas (SGLD, RWP, fSGLD), within each range of beta
    (:func:`regime`: ``"hot"``, ``"paper"``); the index of each selection."""
    chosen = {"all": select_configuration(labels, validation)[0]}
    betas = [config_beta(label, p) for label in labels]
    if labels and all(np.isfinite(betas)):
        for name in ("hot", "paper"):
            part = [j for j, beta in enumerate(betas) if regime(beta) == name]
            if part:
                j, _ = select_configuration([labels[k] for k in part],
                                            [validation[k] for k in part])
                chosen[name] = part[j]
    return chosen


# ----------------------------------------------------------------------------------------------
# Analysis: arms (a method under a selection rule), outcomes, paired differences.

ARMS = ("sgd_best", "sgd", "sgd_wd", "sgld", "rwp", "fsgld", "sam", "asam",
        "fsgld[paper]", "fsgld[hot]", "rwp@fsgld", "sgld@fsgld")
"""What the summary compares: each method selected over its own configurations; ``sgd_best``
SGD's union (learning rates and weight decays); ``fsgld[paper]`` / ``fsgld[hot]`` fSGLD selected
within the paper's betas / the hot ones; ``rwp@fsgld`` RWP at the sigma of fSGLD's selected
configuration (no Langevin noise) and ``sgld@fsgld`` SGLD at its beta (no perturbation), on
the same seeds: the decomposition."""
COMPARISONS = (("fsgld", "sgd_best"), ("fsgld", "sgd"), ("fsgld", "sgd_wd"), ("fsgld", "sgld"),
               ("fsgld", "rwp"), ("fsgld", "sam"), ("fsgld", "asam"),
               ("fsgld", "rwp@fsgld"), ("fsgld", "sgld@fsgld"),
               ("rwp", "sgd_best"), ("sgld", "sgd_best"),
               ("fsgld[paper]", "sgd_best"), ("fsgld[hot]", "sgd_best"))
"""The paired differences reported (a - b), per outcome."""
ARM_NAMES = {"sgd_best": "SGD, best tuned", "sgd": "SGD (learning rates)",
             "sgd_wd": "SGD + weight decay", "sgld": "SGLD", "rwp": "RWP", "fsgld": "fSGLD",
             "sam": "SAM", "asam": "ASAM", "fsgld[paper]": "fSGLD, paper's betas",
             "fsgld[hot]": "fSGLD, hot betas", "rwp@fsgld": "RWP at fSGLD's sigma",
             "sgld@fsgld": "SGLD at fSGLD's beta"}
MECHANISMS = ("train_accuracy", "clean_train_accuracy", "memorized_fraction", "top_eigenvalue",
              "trace", "best_epoch")


def run_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (setting, method, configuration, seed), a column per measure."""
    keys = [*SETTING, "method", "config", "seed"]
    wide = results.pivot_table(index=keys, columns="measure", values="value", sort=False)
    return wide.reset_index()


def _arm_candidates(arm: str, methods: dict[str, list[str]], fsgld_config: str | None
                    ) -> list[tuple[str, str]]:
    """The (method, configuration) pairs ``sgd_best`` or a matched arm (``rwp@fsgld``,
    ``sgld@fsgld``: at the sigma or beta and learning rate of ``fsgld_config``) selects among."""
    if arm == "sgd_best":
        return [(m, c) for m in ("sgd", "sgd_wd") for c in methods.get(m, [])]
    method = arm.split("@")[0]
    if fsgld_config is None:
        return []
    wanted = label_values(fsgld_config)
    key = "sigma" if method == "rwp" else "beta"
    return [(method, c) for c in methods.get(method, [])
            if (values := label_values(c)).get(key) == wanted[key]
            and values["lr"] == wanted["lr"]]


def arm_runs(results: pd.DataFrame, p: Params, outcome: str = "end") -> pd.DataFrame:
    """Per setting, arm (:data:`ARMS`) and seed: the selected configuration's ``test`` accuracy
    for ``outcome`` (:data:`OUTCOMES`: "end", or "early stopping" at the best noisy-validation
    epoch) and the mechanisms (:data:`MECHANISMS`), with ``method`` and ``config``. Each arm
    selects on the outcome's mean noisy-validation accuracy over seeds: a method and its
    ``[hot]`` / ``[paper]`` arms by :func:`configuration_selections`, ``sgd_best`` and the
    matched arms by :func:`select_configuration` over :func:`_arm_candidates`."""
    selects, reports = OUTCOMES[outcome]
    wide = run_table(results)
    rows = []
    for setting, part in wide.groupby(SETTING, sort=False):
        means = part.groupby(["method", "config"], sort=False)[selects].mean()
        methods = defaultdict(list)
        for method, config in means.index:
            methods[method].append(config)
        picks = {m: configuration_selections(labels, [means[m, c] for c in labels], p)
                 for m, labels in methods.items()}
        chosen = {}
        for arm in ARMS:
            if arm == "sgd_best" or arm.endswith("@fsgld"):
                fsgld = chosen.get("fsgld")
                candidates = _arm_candidates(arm, methods, None if fsgld is None else fsgld[1])
                if candidates:
                    j, _ = select_configuration([c for _, c in candidates],
                                                [means[mc] for mc in candidates])
                    chosen[arm] = candidates[j]
                continue
            method, _, within = arm.partition("[")
            key = within.rstrip("]") or "all"
            if key in picks.get(method, {}):
                chosen[arm] = (method, methods[method][picks[method][key]])
        for arm, (method, config) in chosen.items():
            seeds = part[(part.method == method) & (part.config == config)]
            for _, run in seeds.iterrows():
                rows.append({**dict(zip(SETTING, setting, strict=True)), "arm": arm,
                             "method": method, "config": config, "seed": int(run.seed),
                             "validation": run[selects], "test": run[reports],
                             **{m: run.get(m, np.nan) for m in MECHANISMS}})
    return pd.DataFrame(rows)


def paired(runs: pd.DataFrame, a: str, b: str, measure: str = "test", runs_b=None,
           log: bool = False) -> pd.DataFrame:
    """Arm ``a``'s and arm ``b``'s ``measure`` on the same setting and seed (``runs_b``: take
    b from another outcome's runs), logs with ``log``: columns ``a``, ``b``, the setting, seed."""
    runs_b = runs if runs_b is None else runs_b
    keys = [*SETTING, "seed"]
    left = runs[runs.arm == a][[*keys, measure]].rename(columns={measure: "a"})
    right = runs_b[runs_b.arm == b][[*keys, measure]].rename(columns={measure: "b"})
    pairs = left.merge(right, on=keys)
    if log:
        pairs[["a", "b"]] = np.log(pairs[["a", "b"]].astype(float))
    return pairs


def compare(pairs: pd.DataFrame, direction: str = "a > b", claim: str | None = None
            ) -> tuple[PairedComparison, dict[tuple, PairedComparison]]:
    """Over a task's settings, seeds as units (each seed's differences averaged over the
    settings, t quantiles with seeds - 1 dof), and per setting over its seeds (t quantiles):
    :func:`sgldsim.verdicts.paired_comparison`."""
    a, b = pairs.a.to_numpy(float), pairs.b.to_numpy(float)
    overall = paired_comparison(a, b, units=pairs.seed.to_numpy(), direction=direction,
                                claim=claim)
    each = {setting: paired_comparison(part.a.to_numpy(float), part.b.to_numpy(float),
                                       direction=direction)
            for setting, part in pairs.groupby(SETTING[1:], sort=False)}
    return overall, each


def _interval_text(r: PairedComparison, scale: float = 100.0) -> str:
    if not np.isfinite(r.mean):
        return "n/a"
    return (f"{scale * r.mean:+.2f} [{scale * r.interval[0]:+.2f}, "
            f"{scale * r.interval[1]:+.2f}]")


def _word(r: PairedComparison) -> str:
    """wins / loses / ties for a - b with direction "a > b"."""
    return {"consistent": "wins", "inconsistent": "loses"}.get(r.verdict.verdict, "ties")


def difference_table(runs: pd.DataFrame, task: str, other: pd.DataFrame | None = None
                     ) -> tuple[pd.DataFrame, dict]:
    """Rows: :data:`COMPARISONS` (and, with ``other``, fSGLD at the end against the best-tuned
    SGD with early stopping); columns: each setting and the task (seeds as units); cells: the
    mean difference in pp with its 95 % interval and wins/ties/loses."""
    part = runs[runs.task == task]
    other = None if other is None else other[other.task == task]
    rows, results = [], {}
    items = [(a, b, None) for a, b in COMPARISONS]
    if other is not None:
        items.append(("fsgld", "sgd_best", other))
    for a, b, runs_b in items:
        pairs = paired(part, a, b, runs_b=runs_b)
        if pairs.empty:
            continue
        overall, each = compare(pairs)
        name = f"{ARM_NAMES[a]} - {ARM_NAMES[b]}" + (" (early stopping)" if runs_b is not None
                                                      else "")
        row = {"a - b": name}
        for setting, r in each.items():
            row[f"{setting[0]} {setting[1]:g}"] = f"{_interval_text(r)} {_word(r)}"
        row["task (seeds as units)"] = f"{_interval_text(overall)} {_word(overall)}"
        rows.append(row)
        results[a, b, runs_b is not None] = overall
    return pd.DataFrame(rows).set_index("a - b"), results


MECHANISM_SECTIONS = (
    ("train_accuracy", "mechanism: train accuracy on the noisy labels (%)",
     lambda m, s: f"{100 * m:.0f}"),
    ("clean_train_accuracy", "mechanism: train accuracy on the clean labels (%)",
     lambda m, s: f"{100 * m:.0f}"),
    ("memorized_fraction", "mechanism: flipped training labels memorised (%)",
     lambda m, s: f"{100 * m:.0f}"),
    ("top_eigenvalue", "mechanism: top Hessian eigenvalue (nan: not measured)",
     lambda m, s: f"{m:.3g}"),
    ("trace", "mechanism: Hessian trace (nan: not measured)", lambda m, s: f"{m:.3g}"))
"""(column, title, format) of the mechanism tables of the summary."""


def _mean_table(runs: pd.DataFrame, task: str, column: str, form) -> pd.DataFrame:
    part = runs[(runs.task == task) & runs.arm.isin(ARMS)]
    table = part.groupby(["noise", "noise_rate", "arm"], sort=False)[column].agg(
        ["mean", "std"]).reset_index()
    table["shown"] = [form(m, s) for m, s in zip(table["mean"], table["std"], strict=True)]
    wide = table.pivot(index=["noise", "noise_rate"], columns="arm", values="shown")
    return wide[[a for a in ARMS if a in wide.columns]]


LEGEND = """\
Legend. Arms: each method selected over its own configurations on the mean noisy-validation
accuracy over the seeds (never the test split); "SGD, best tuned" (sgd_best) selects over SGD's
learning rates and weight decays together ({union} configurations against fSGLD's {own});
fsgld[paper] / fsgld[hot] select fSGLD within the paper's betas [1e7, 1e9] / below them;
rwp@fsgld and sgld@fsgld are RWP at the sigma and SGLD at the beta of fSGLD's selected
configuration (same learning rate and seeds): fSGLD = perturbation (RWP) + Langevin noise
(SGLD). Outcomes: "end" selects on and reports the end of training; "early stopping" selects on
the best epoch's noisy-validation accuracy and reports the test accuracy at that epoch.
Differences a - b are in percentage points, paired on the seeds (same initialisation, batches
and flipped labels): per setting over its seeds, per task with seeds as units (each seed's
difference averaged over the task's settings), 95 % intervals with t quantiles (seeds - 1 dof);
"wins" / "loses" when the interval lies above / below 0, "ties" otherwise. Mechanisms: train
accuracy against the noisy labels and the clean ones, the share of flipped labels predicted as
flipped (memorised), the top Hessian eigenvalue and trace of the noisy training loss (weight
decay excluded) at the end of training, the best epoch (0-based)."""


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    p = Params.from_config(config)
    end = arm_runs(results, p, "end")
    early = arm_runs(results, p, "early stopping")
    runs = run_table(results)
    tasks = list(dict.fromkeys(end.task))
    seeds = int(end.groupby([*SETTING, "arm"]).seed.nunique().min())
    sections, verdicts, fitted = [], [], {}
    for task in tasks:
        epochs = p.task_epochs(parse_task(task)[1])
        header = (f"=== {task}: {epochs} epochs, {seeds} paired seeds, weight decay "
                  f"{p.weight_decay:g}, step schedule x{p.lr_decay:g} at "
                  f"{', '.join(f'{f:g}' for f in p.lr_milestones)} of training ===")
        end_table, end_results = difference_table(end, task, other=early)
        early_table, early_results = difference_table(early, task)
        pct = lambda m, s: f"{100 * m:.1f} ± {100 * s:.1f}"  # noqa: E731
        sections += [
            header,
            "test accuracy at the end of training (%, mean ± std over seeds):\n"
            + _mean_table(end, task, "test", pct).to_string(),
            "test accuracy with early stopping (%):\n"
            + _mean_table(early, task, "test", pct).to_string(),
            "differences at the end of training (pp, 95 % interval):\n"
            + end_table.to_string(),
            "differences with early stopping (pp, 95 % interval):\n"
            + early_table.to_string(),
            *[f"{title} (end of training, mean over seeds):\n"
              + _mean_table(end, task, column, form).to_string()
              for column, title, form in MECHANISM_SECTIONS],
            "selected configurations at the end of training:\n"
            + _config_table(end, task).to_string(),
            "selected configurations with early stopping:\n"
            + _config_table(early, task).to_string(),
        ]
        task_verdicts, task_fitted = _task_verdicts(task, end, end_results, early_results,
                                                    runs)
        verdicts += task_verdicts
        fitted.update(task_fitted)
    own = len(p.learning_rates(parse_task(tasks[0])[1])) * len(p.langevin_betas) if tasks else 0
    sections.append(LEGEND.format(union=2 * own, own=own))
    return Summary(table="\n\n".join(sections), fitted=fitted, verdicts=verdicts)


def _config_table(runs: pd.DataFrame, task: str) -> pd.DataFrame:
    part = runs[runs.task == task]
    wide = part.groupby(["noise", "noise_rate", "arm"], sort=False).config.first().unstack("arm")
    return wide[[a for a in ARMS if a in wide.columns]]


TASK_CLAIMS = (
    ("end", ("fsgld", "sgd_best"), "fSGLD's test accuracy at the end of training exceeds the "
     "best-tuned SGD's (learning rates and weight decays)"),
    ("early stopping", ("fsgld", "sgd_best"), "with early stopping on noisy validation, "
     "fSGLD's test accuracy exceeds the best-tuned SGD's"),
    ("end", ("fsgld", "sgld"), "fSGLD's test accuracy exceeds SGLD's (each tuned over its "
     "betas)"),
    ("end", ("fsgld", "rwp"), "fSGLD's test accuracy exceeds RWP's (each tuned over the same "
     "sigmas)"),
    ("end", ("fsgld", "sam"), "fSGLD's test accuracy exceeds SAM's"),
    ("end", ("fsgld", "asam"), "fSGLD's test accuracy exceeds ASAM's"),
    ("end", ("fsgld", "rwp@fsgld"), "the Langevin noise adds to the perturbation: fSGLD's test "
     "accuracy exceeds RWP's at fSGLD's sigma"),
    ("end", ("fsgld", "sgld@fsgld"), "the perturbation adds to the Langevin noise: fSGLD's "
     "test accuracy exceeds SGLD's at fSGLD's beta"),
    ("end", ("fsgld[paper]", "sgd_best"), "at the paper's betas (1e7-1e9) fSGLD's test "
     "accuracy exceeds the best-tuned SGD's"),
)
"""(outcome, (a, b), claim) of each accuracy verdict, per task (direction a > b)."""


def _task_verdicts(task, end, end_results, early_results, runs):
    """A task's verdicts: :data:`TASK_CLAIMS` from the difference tables' comparisons, the
    regime (:func:`largest_rate_fit`), and the mechanisms against the best-tuned SGD
    (memorisation, curvature; seeds as units)."""
    verdicts, fitted = [], {}
    for outcome, (a, b), claim in TASK_CLAIMS:
        r = (end_results if outcome == "end" else early_results).get((a, b, False))
        if r is None:
            verdicts.append(Verdict(f"{task}: {claim}", "inconclusive",
                                    f"no {ARM_NAMES[a]} / {ARM_NAMES[b]} runs"))
            continue
        key = f"{a}-{b}[{task}, {outcome}]"
        fitted[key] = r.mean
        fitted[f"{key}_stderr"] = r.stderr
        verdicts.append(Verdict(f"{task}: {claim}", r.verdict.verdict, (
            f"{ARM_NAMES[a]} - {ARM_NAMES[b]} = {_interval_text(r)} pp ({_word(r)}); "
            f"{r.verdict.reason}")))

    part = end[end.task == task]
    lowest = part.noise_rate.min()
    claim = (f"{task}: the regime: SGD fits the noisy labels (train accuracy >= "
             f"{100 * MEMORISES:g} % at {100 * lowest:g} % noise, its largest learning rate)")
    fit = largest_rate_fit(runs[runs.task == task], lowest)
    if not np.isfinite(fit):
        verdicts.append(Verdict(claim, "inconclusive", "no SGD runs"))
    else:
        fitted[f"sgd_noisy_train_accuracy[{task}]"] = fit
        verdicts.append(Verdict(claim, "consistent" if fit >= MEMORISES else "inconsistent",
                                f"SGD at its largest learning rate fits {100 * fit:.1f} % of the "
                                "noisy training labels (mean over seeds and noise kinds)"))
    for measure, log, direction, claim, name in (
            ("memorized_fraction", False, "a < b", "fSGLD memorises fewer flipped labels than "
             "the best-tuned SGD", "memorised"),
            ("top_eigenvalue", True, "a < b", "fSGLD ends flatter than the best-tuned SGD "
             "(top Hessian eigenvalue)", "log top eigenvalue ratio"),
            ("trace", True, "a < b", "fSGLD ends flatter than the best-tuned SGD (Hessian "
             "trace)", "log trace ratio")):
        r, _ = compare(paired(part, "fsgld", "sgd_best", measure, log=log), direction)
        if np.isfinite(r.mean):
            fitted[f"{measure}_fsgld-sgd_best[{task}]"] = r.mean
        scale = 1.0 if log else 100.0
        verdicts.append(Verdict(f"{task}: {claim}", r.verdict.verdict, (
            f"{name}: fSGLD - SGD = {_interval_text(r, scale)}{'' if log else ' pp'}; "
            f"{r.verdict.reason}")))
    return verdicts, fitted


def largest_rate_fit(runs: pd.DataFrame, rate: float) -> float:
    """SGD's mean noisy train accuracy over seeds (and noise kinds) at its largest learning rate
    with the base weight decay (the configuration that fits most) at noise rate ``rate``;
    ``runs`` from :func:`run_table`. NaN without SGD runs."""
    sgd = runs[(runs.method == "sgd") & np.isclose(runs.noise_rate, rate)]
    if sgd.empty:
        return float("nan")
    lr = sgd.config.map(lambda c: float(c.split("=", 1)[1]))
    return float(sgd[lr == lr.max()].train_accuracy.mean())


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """``accuracy``, ``differences`` and ``hessian``
    (:func:`~.nn_noisy_labels_figures.noisy_labels_figures`)."""
    p = Params.from_config(config)
    return noisy_labels_figures(arm_runs(results, p, "end"),
                                arm_runs(results, p, "early stopping"), out_dir)

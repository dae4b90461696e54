"""Leave-one-domain-out domain generalisation trained to near convergence: does DGSAM beat ERM,
SAM and per-domain SAM on an unseen domain, and does it lower the training domains' individual
sharpness? (DGSAM paper §3-§5's DomainBed claims; docs/theory.md §8.)

A cell is (dataset, method). Domains come from :func:`sgldsim.nn.load_domains` (rotated digits:
six rotations; MNIST-1D: eight generator settings). For every test domain and trial (trial t
splits each domain 80/20 with seed t and trains with key ``fold_in(key(seed), t)``, shared by
all methods: paired), the method trains an MLP on the other S domains with one batch per domain
per step (:func:`sgldsim.nn.fit_domains`, Adam) for every configuration of a crossed grid
``learning_rates x rhos`` (ERM: the learning rates alone); every method has the same grid (the
same tuning reach). ``dgsam_rho_over_s`` is DGSAM with rho / S per visit: DGSAM's perturbations
accumulate over S + 1 visits, so its last gradient is taken up to S rho from the weights, and a
grid that is fair to it includes rho / S (DGSAM paper §4, Algorithm 1). The configuration with
the best validation accuracy on the *training* domains' 20 % parts is selected (DomainBed's
training-domain validation); its accuracy on the test domain (all of its examples, never seen in
training or selection) is reported, and its sharpness on the training domains
(:func:`sgldsim.optim.domain_sharpness` on the first ``sharpness_examples`` training examples of
each): zeroth-order sharpness, top Hessian eigenvalue and Hessian trace, averaged over the
domains' own losses (individual), their maximum (worst domain) and of the pooled loss. The cost
row counts the per-domain loss evaluations of one step (a callback inside the loss, so the count
is what ran, not a formula).

All runs of a cell are one compiled call: vmapped over configurations inside a vmap over
(test domain, trial) pairs, whose data the configurations share.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy import stats

from ... import nn, optim
from ..._divergence import warn_training_divergence
from ..._memory import MemoryEstimate
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure
from ...runner import Cell, ConfigError, ExperimentConfig, ExperimentParams, Summary, cell_values
from ...verdicts import Verdict, paired_comparison
from ..common.checks import check_range
from ..common.memory import curvature_bytes, network_footprint, split_bytes, training_bytes

CHUNK_SIZE = 1
VALIDATION_FRACTION = 0.2
"""Share of every domain held out for training-domain validation (DomainBed's 20 %)."""
METHODS = (*optim.DOMAIN_METHODS, "dgsam_rho_over_s")
"""The methods a cell may train: :data:`sgldsim.optim.DOMAIN_METHODS` and DGSAM with rho / S."""
DGSAM_VARIANTS = ("dgsam", "dgsam_no_first", "dgsam_rho_over_s")
BASELINES = ("erm", "sam", "domain_sam")
LABELS = {"erm": "ERM", "sam": "SAM", "domain_sam": "per-domain SAM", "gsam": "GSAM",
          "sagm": "SAGM", "dgsam": "DGSAM", "dgsam_no_first": "DGSAM (no first)",
          "dgsam_rho_over_s": "DGSAM (rho/S)"}
COLORS = {"erm": "#777777", "sam": "#009988", "domain_sam": "#EE7733", "gsam": "#33BBEE",
          "sagm": "#0077BB", "dgsam": "#CC3311", "dgsam_no_first": "#AA3377",
          "dgsam_rho_over_s": "#EE3377"}
SHARPNESS = ("zeroth_order", "top_eigenvalue")
"""The sharpness measures judged (the trace is recorded and tabulated)."""


@dataclass(frozen=True)
class Params(ExperimentParams):
    """dgsam-domains' parameters. Only ``dataset`` and ``method`` may be swept; the rest is
    fixed (one budget per run).

    Attributes:
      dataset: the multi-domain dataset (:data:`sgldsim.nn.DOMAIN_DATASETS`).
      method: the domain method trained (:data:`METHODS`).
      domain_seed: which digits go to which rotation / the MNIST-1D generator seeds.
      mnist1d_per_domain: signals per MNIST-1D domain; a multiple of 10, >= 20.
      trials: data splits and training seeds per test domain, shared by methods; > 1.
      learning_rates: Adam's learning rates of the crossed grid; each > 0.
      rhos: the rho values of the crossed grid (per visit for DGSAM, divided by S for
        ``dgsam_rho_over_s``; unused by ERM); each > 0.
      gsam_alpha: GSAM's alpha (the surrogate-gap weight); > 0.
      sagm_alpha: SAGM's alpha; > 0.
      epochs: passes over the training domains; > 0.
      batch_size: examples per domain and step; > 0 and at most a domain's training part.
      mlp_hidden: hidden widths of the MLP; each > 0.
      sharpness_rho: radius of the measured zeroth-order sharpness (all methods); > 0.
      sharpness_examples: training examples per domain in the sharpness measures; > 0 and at
        most a domain's training part.
      ascent_steps: projected ascent steps of the zeroth-order sharpness; > 0.
      lanczos_iterations: Lanczos iterations of the top Hessian eigenvalue; > 0.
      trace_samples: Hutchinson probes of the Hessian trace; > 1.
    """

    dataset: Literal[nn.DOMAIN_DATASETS] = "rotated_digits"
    method: Literal[METHODS] = "erm"
    domain_seed: int = 0
    mnist1d_per_domain: int = 400
    trials: int = 5
    learning_rates: tuple[float, ...] = (0.001, 0.003, 0.01)
    rhos: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1)
    gsam_alpha: float = 0.1
    sagm_alpha: float = 0.001
    epochs: int = 60
    batch_size: int = 32
    mlp_hidden: tuple[int, ...] = (128,)
    sharpness_rho: float = 0.05
    sharpness_examples: int = 100
    ascent_steps: int = 10
    lanczos_iterations: int = 20
    trace_samples: int = 10


Params.NOT_SWEPT = tuple(name for name in Params.names() if name not in ("dataset", "method"))
PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    """Ranges (each message names the key and the range), and the batch against the domains."""
    p = Params.from_config(config)
    for name in ("epochs", "batch_size", "mlp_hidden", "sharpness_examples",
                 "lanczos_iterations", "ascent_steps", "learning_rates", "rhos", "gsam_alpha",
                 "sagm_alpha", "sharpness_rho"):
        check_range(config, p, name, 0)
    for name in ("trials", "trace_samples"):
        check_range(config, p, name, 1)
    for name in ("learning_rates", "rhos"):
        if not getattr(p, name):
            raise ConfigError(f"{config.key_path(name)}=[] is not allowed: at least one value")
    for name in cell_values(config, p, "dataset"):
        domains = _domains(p, name)
        n_train = _training_examples(domains)
        for key in ("batch_size", "sharpness_examples"):
            if getattr(p, key) > n_train:
                raise ConfigError(f"{config.key_path(key)}={getattr(p, key)} is not allowed "
                                  f"for {name!r}: at most {n_train} (training examples per "
                                  "domain)")


def _domains(p: Params, name: str) -> nn.Split:
    try:
        return nn.load_domains(name, seed=p.domain_seed, num_per_domain=p.mnist1d_per_domain)
    except ValueError as error:  # the message names the value (domain_seed or mnist1d_per_domain)
        raise ConfigError(f"dataset {name!r}: {error}") from None


def _training_examples(domains: nn.Split) -> int:
    """Examples per domain in the training part of a split (the same for every trial)."""
    n = domains.y.shape[1]
    return n - round(VALIDATION_FRACTION * n)


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk (its cells run one at a time): a cell's runs (test domains x
    trials x grid configurations) train vmapped together over the (test domain, trial) pairs'
    data (shared by the configurations), each run with the MLP's state and one step over a
    batch of every training domain (or an evaluation over the validation or test examples);
    then the selected runs' sharpness."""
    worst = (0.0, "")
    for cell in cells:
        p = Params.from_cell(cell)
        domains = _domains(p, p.dataset)
        num_domains, per_domain = domains.y.shape
        footprint = network_footprint("mlp", tuple(domains.x.shape[2:]), tuple(p.mlp_hidden))
        configs = len(configurations(p, p.method))
        pairs = num_domains * p.trials
        n_train = _training_examples(domains)
        evaluated = max((num_domains - 1) * (per_domain - n_train), per_domain)
        train = training_bytes(footprint, pairs * configs, (num_domains - 1) * p.batch_size,
                               evaluated) + pairs * split_bytes(domains)
        sharp = curvature_bytes(footprint, 1, (num_domains - 1) * p.sharpness_examples,
                                p.lanczos_iterations)
        needed = max(train, sharp) + split_bytes(domains)
        worst = max(worst, (needed, f"{p.dataset}: {pairs * configs} runs (test domains x "
                                    f"trials = {pairs} pairs x {configs} grid configurations) "
                                    f"of an MLP of {footprint.params} parameters"))
    return MemoryEstimate(*worst, "lower params.trials, params.learning_rates, params.rhos, "
                                  "params.mlp_hidden or params.mnist1d_per_domain")


def configurations(p: Params, method: str) -> np.ndarray:
    """float[C, 2]: the (learning rate, rho) grid of ``method``: the crossed product of
    ``learning_rates`` and ``rhos`` (learning rate slowest), or for ERM the learning rates with
    rho 0. The rho is the grid's, before ``dgsam_rho_over_s`` divides it by S."""
    rhos = (0.0,) if method == "erm" else p.rhos
    return np.array(list(itertools.product(p.learning_rates, rhos)), dtype=np.float64)


def domain_method(method: str, learning_rate, rho, num_domains: int, p: Params) -> optim.Method:
    """The optimiser of ``method`` at one grid point: :func:`sgldsim.optim.domain_method` with
    GSAM's or SAGM's alpha from ``p``, and rho / S for ``dgsam_rho_over_s``."""
    if method == "dgsam_rho_over_s":
        return optim.domain_method("dgsam", learning_rate, rho / num_domains)
    alpha = {"gsam": p.gsam_alpha, "sagm": p.sagm_alpha}.get(method, 0.0)
    return optim.domain_method(method, learning_rate, rho, alpha)


@partial(jax.jit, static_argnames=("method", "model", "p", "num_domains"))
def _train(keys, hypers, train, validation, test, *, method, model, p, num_domains):
    """Vmapped over (test domain, trial) pairs (keys and data) and, inside, over the grid
    (``hypers``, shared by the pairs): (params, validation accuracy, test accuracy, last epoch
    loss, first non-finite step or -1), each with leading axes (pair, configuration)."""

    def run(key, hyper, train, validation, test):
        m = domain_method(method, hyper[0], hyper[1], num_domains, p)
        params, losses, info = nn.fit_domains(key, m, model, train, epochs=p.epochs,
                                              batch_size=p.batch_size, return_info=True,
                                              warn=False)
        return (params, nn.domain_accuracy(model, params, validation),
                nn.domain_accuracy(model, params, test), losses[-1], info.diverged_at)

    grid = jax.vmap(run, in_axes=(None, 0, None, None, None))
    return jax.vmap(grid, in_axes=(0, None, 0, 0, 0))(keys, hypers, train, validation, test)


@partial(jax.jit, static_argnames=("model", "ascent_steps", "lanczos_iterations",
                                   "trace_samples"))
def _sharpness(params, train, key, rho, *, model, ascent_steps, lanczos_iterations,
               trace_samples):
    """domain_sharpness of each selected model on its training domains, one model after the
    other (``lax.map``: the same program vmapped over 8 or more models with 20 Lanczos
    iterations never finished on XLA:CPU, jax 0.10.2, idle in the runtime)."""
    loss = nn.classification_loss(model)

    def one(params, train):
        domains = [(train.x[d], train.y[d]) for d in range(train.y.shape[0])]
        return optim.domain_sharpness(loss, params, domains, rho, key, ascent_steps=ascent_steps,
                                      lanczos_iterations=lanczos_iterations,
                                      trace_samples=trace_samples)

    return jax.lax.map(lambda args: one(*args), (params, train))


def count_domain_evaluations(method: str, model: nn.Model, params, batches, p: Params) -> float:
    """Per-domain loss evaluations in one jitted step of ``method`` (a callback in the loss
    adds the number of domain batches it sees; vmapped evaluations count each domain)."""
    per_domain = batches[0][0].size
    count = []
    base = nn.classification_loss(model)

    def loss(params, batch):
        jax.debug.callback(lambda x: count.append(np.size(x) / per_domain), batch[0])
        return base(params, batch)

    m = domain_method(method, 1e-3, 0.05, len(batches), p)
    step = jax.jit(m.train_step(loss))
    out = step(jax.random.key(0), params, m.optimizer.init(params), batches)
    jax.block_until_ready(out)
    jax.effects_barrier()
    return float(sum(count))


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    del keys  # trials share keys across methods (paired)
    return [_run_cell(config, cell) for cell in cells]


def _run_cell(config: ExperimentConfig, cell: Cell) -> list[dict]:
    p = Params.from_cell(cell)
    method = p.method
    domains = _domains(p, p.dataset)
    num_domains, trials = domains.y.shape[0], p.trials
    grid = configurations(p, method)
    model = nn.flat_model(nn.mlp(domains.x.shape[2:], nn.NUM_CLASSES, p.mlp_hidden))

    pairs = [(d, t) for d in range(num_domains) for t in range(trials)]
    splits = [nn.split_domains(domains, VALIDATION_FRACTION, t) for t in range(trials)]
    held = [nn.leave_one_domain_out(splits[t], d) for d, t in pairs]
    stack = lambda trees: jax.tree.map(lambda *xs: jnp.stack(xs), *trees)  # noqa: E731
    train = stack([h[0].train for h in held])
    keys = jnp.stack([jax.random.fold_in(jax.random.key(config.seed), t) for _, t in pairs])
    params, val_acc, test_acc, last_loss, diverged_at = _train(
        keys, jnp.asarray(grid, jnp.float32), train, stack([h[0].validation for h in held]),
        stack([h[1] for h in held]), method=method, model=model, p=p,
        num_domains=num_domains - 1)
    val_acc, test_acc, last_loss, diverged_at = map(
        np.asarray, (val_acc, test_acc, last_loss, diverged_at))
    warn_training_divergence(diverged_at.reshape(-1), f"{config.name} training", [
        f"{p.dataset} {method}, test domain {d}, trial {t}, lr {lr:g}, rho {rho:g}"
        for d, t in pairs for lr, rho in grid])
    best = np.argmax(val_acc, axis=1)  # the first of equals

    rows = []
    for i, (d, t) in enumerate(pairs):
        for c, (lr, rho) in enumerate(grid):
            tags = {"test_domain": d, "trial": t, "configuration": c,
                    "selected": bool(c == best[i])}
            rows += [{"measure": m, "value": float(v), **tags} for m, v in (
                ("validation_accuracy", val_acc[i, c]), ("test_accuracy", test_acc[i, c]),
                ("final_train_loss", last_loss[i, c]), ("diverged_at", diverged_at[i, c]),
                ("learning_rate", lr), ("rho", rho))]

    chosen = jax.tree.map(lambda x: x[np.arange(len(pairs)), best], params)
    sharp = _sharpness(chosen, jax.tree.map(lambda x: x[:, :, :p.sharpness_examples], train),
                       jax.random.key(config.seed + 1), p.sharpness_rho, model=model,
                       ascent_steps=p.ascent_steps, lanczos_iterations=p.lanczos_iterations,
                       trace_samples=p.trace_samples)
    sharp = jax.tree.map(np.asarray, sharp)
    for i, (d, t) in enumerate(pairs):
        tags = {"test_domain": d, "trial": t, "configuration": int(best[i]), "selected": True}
        for field in optim.SharpnessMeasures._fields:
            per_domain = getattr(sharp.per_domain, field)[i]
            rows += [{"measure": f"{kind}_{field}", "value": float(v), **tags} for kind, v in (
                ("individual", per_domain.mean()), ("worst_domain", per_domain.max()),
                ("pooled", getattr(sharp.pooled, field)[i]))]

    batches = nn.domains.domain_batches(
        jax.tree.map(lambda x: x[0], train),
        jnp.tile(jnp.arange(p.batch_size), (num_domains - 1, 1)))
    count = count_domain_evaluations(method, model, jax.tree.map(lambda x: x[0], chosen),
                                     batches, p)
    rows.append({"measure": "domain_gradients_per_step", "value": count})
    rows.append({"measure": "training_domains", "value": float(num_domains - 1)})
    return rows


def selected_runs(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method, test domain, trial) of the selected configuration."""
    chosen = results[results.selected.astype(bool)]
    wide = chosen.pivot_table(index=["dataset", "method", "test_domain", "trial"],
                              columns="measure", values="value", sort=False)
    return wide.reset_index()


def paired_against(runs: pd.DataFrame, method: str, baseline: str, column: str, claim: str,
                   direction: str, log: bool = False):
    """:func:`sgldsim.verdicts.paired_comparison` of method against baseline over (test domain,
    trial) pairs (the same split and training key), test domains as units: trials of one test
    domain share it, so the standard error is the spread of the per-domain mean differences
    (t quantiles with test domains - 1 degrees of freedom). With ``log``: log(method /
    baseline)."""
    keys = ["test_domain", "trial"]
    a = runs[runs.method == method].set_index(keys)[column]
    b = runs[runs.method == baseline].set_index(keys)[column].reindex(a.index)
    a, b = (np.log(a), np.log(b)) if log else (a, b)
    return paired_comparison(a.to_numpy(), b.to_numpy(),
                             units=a.index.get_level_values("test_domain"),
                             direction=direction, claim=claim)


def _outcome(result) -> str:
    """wins / loses / ties for the method against the baseline, from the verdict of the claim
    that the method is the better one."""
    return {"consistent": "wins", "inconsistent": "loses"}.get(result.verdict.verdict, "ties")


def _comparisons(runs: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, dict]:
    """Every DGSAM variant against every baseline: accuracy (pp) and the log ratios of the
    individual sharpness measures, each with its 95 % interval and outcome; and the results
    by (variant, baseline, column)."""
    present = set(runs.method)
    rows, results = [], {}
    measures = [("test_accuracy", "accuracy (pp)", "a > b", False, 100.0)] + [
        (f"individual_{m}", f"log individual {m.replace('_', ' ')}", "a < b", True, 1.0)
        for m in SHARPNESS]
    for variant, baseline in itertools.product(DGSAM_VARIANTS, BASELINES):
        if variant not in present or baseline not in present:
            continue
        for column, shown, direction, log, scale in measures:
            res = paired_against(runs, variant, baseline, column,
                                 f"{dataset}: {LABELS[variant]} vs {LABELS[baseline]}, {shown}",
                                 direction, log=log)
            results[variant, baseline, column] = res
            rows.append({"method": LABELS[variant], "baseline": LABELS[baseline],
                         "measure": shown, "difference": scale * res.mean,
                         "low": scale * res.interval[0], "high": scale * res.interval[1],
                         "dof": res.dof, "outcome": _outcome(res)})
    return pd.DataFrame(rows), results


def sharpness_accuracy_correlation(runs: pd.DataFrame, column: str) -> pd.Series:
    """Spearman's rank correlation across methods between ``column`` (a sharpness) and the
    test accuracy, within each (test domain, trial): the methods share the split and the
    training key there, so the correlation is free of the between-domain spread. Indexed by
    (test domain, trial); nan where fewer than 3 methods or either value is constant."""
    def one(group):
        if group.method.nunique() < 3 or group[column].nunique() < 2 \
                or group.test_accuracy.nunique() < 2:
            return np.nan
        return stats.spearmanr(group[column], group.test_accuracy).statistic

    return runs.groupby(["test_domain", "trial"]).apply(one, include_groups=False)


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    runs = selected_runs(results)
    blocks, verdicts, fitted = [], [], {}
    order = [m for m in METHODS if m in set(runs.method)]
    for dataset, part in runs.groupby("dataset", sort=False):
        acc = part.pivot_table(index="test_domain", columns="method", values="test_accuracy",
                               aggfunc="mean")[order]
        per_method = part.groupby("method").agg(
            accuracy=("test_accuracy", "mean"),
            validation=("validation_accuracy", "mean"),
            min_validation=("validation_accuracy", "min"),
            lr=("learning_rate", "median"),
            rho=("rho", "median"),
            ind_sharp=("individual_zeroth_order", "mean"),
            worst_sharp=("worst_domain_zeroth_order", "mean"),
            pool_sharp=("pooled_zeroth_order", "mean"),
            ind_top=("individual_top_eigenvalue", "mean"),
            pool_top=("pooled_top_eigenvalue", "mean"),
            ind_trace=("individual_trace", "mean")).loc[order]
        per_method.insert(1, "spread", acc.std(ddof=1))
        cost = results[(results.dataset == dataset)
                       & (results.measure == "domain_gradients_per_step")]
        cost = cost.groupby("method").value.first()
        per_method["grads"] = cost.reindex(order)
        blocks.append(f"{dataset}: test accuracy (%) per test domain, mean over trials of the "
                      "configuration selected on training-domain validation:\n"
                      + (100 * acc).rename(columns=LABELS).to_string(
                          float_format=lambda x: f"{x:.1f}"))
        shown = per_method.rename(index=LABELS)
        for c in ("accuracy", "validation", "min_validation", "spread"):
            shown[c] = 100 * shown[c]
        blocks.append(f"{dataset}: per method\n"
                      + shown.to_string(float_format=lambda x: f"{x:.3g}"))
        for m in order:
            fitted[f"{dataset}:accuracy[{m}]"] = per_method.accuracy[m]
            fitted[f"{dataset}:validation[{m}]"] = per_method.validation[m]
        table, compared = _comparisons(part, dataset)
        if len(table):
            blocks.append(f"{dataset}: DGSAM against the baselines (paired over test domain x "
                          "trial, test domains as units; 95 % interval with t quantiles; "
                          "sharpness as log(method / baseline), < 0: flatter)\n"
                          + table.to_string(index=False, float_format=lambda x: f"{x:+.3f}"))
        verdicts += _verdicts(dataset, compared, fitted)
        if part.method.nunique() >= 3:
            verdicts.append(_mechanism_verdict(part, dataset, fitted))
        s = int(results[(results.dataset == dataset)
                        & (results.measure == "training_domains")].value.iloc[0])
        if "dgsam" in cost and "sam" in cost:
            claim = f"{dataset}: DGSAM costs S + 1 per-domain gradients per step, SAM 2S"
            ok = cost["dgsam"] == s + 1 and cost["sam"] == 2 * s
            verdicts.append(Verdict(claim, "consistent" if ok else "inconsistent", (
                f"counted per step with S = {s}: DGSAM {cost['dgsam']:g}, SAM {cost['sam']:g}"
                + (f", ERM {cost['erm']:g}" if "erm" in cost else ""))))
    sharpness_rho = Params.from_config(config).sharpness_rho
    legend = (
        "accuracy / validation / min_validation: mean test-domain accuracy, mean and lowest "
        "training-domain-validation accuracy (%) of the selected configurations; spread: std "
        "over test domains of the per-domain accuracy (%); lr, rho: median selected values "
        "(rho of the grid; DGSAM (rho/S) perturbs by rho / S per visit);\n"
        "ind_sharp / worst_sharp / pool_sharp: zeroth-order sharpness max_{|e|<=rho} L(w+e) - "
        f"L(w) (rho = {sharpness_rho:g}) averaged over the training domains' own losses / "
        "their largest / of the pooled loss;\n"
        "ind_top / pool_top: top Hessian eigenvalue (Lanczos), mean over domains / pooled; "
        "ind_trace: Hutchinson trace, mean over domains;\ngrads: per-domain loss evaluations "
        "counted in one step (S training domains).\nOutcome: wins / loses when the 95 % "
        "interval excludes 0 on the better / worse side, ties otherwise "
        "(sgldsim.verdicts.paired_comparison, SE between the test-domain means).")
    return Summary(table="\n\n".join([*blocks, legend]), fitted=fitted, verdicts=verdicts)


def _verdicts(dataset: str, compared: dict, fitted: dict) -> list[Verdict]:
    """DGSAM's claims against the baselines: higher test accuracy than ERM, SAM and per-domain
    SAM; lower individual sharpness (both measures) than ERM and SAM."""
    verdicts = []
    for baseline in BASELINES:
        res = compared.get(("dgsam", baseline, "test_accuracy"))
        if res is None:
            continue
        if np.isfinite(res.mean):
            fitted[f"{dataset}:accuracy_gain_vs_{baseline}"] = res.mean
        verdicts.append(res.verdict._replace(
            claim=f"{dataset}: DGSAM beats {LABELS[baseline]} in test-domain accuracy",
            reason=(f"DGSAM - {LABELS[baseline]} = {100 * res.mean:+.2f} pp, 95 % interval "
                    f"[{100 * res.interval[0]:+.2f}, {100 * res.interval[1]:+.2f}]; "
                    f"{res.verdict.reason}")))
    for baseline, measure in itertools.product(("erm", "sam"), SHARPNESS):
        res = compared.get(("dgsam", baseline, f"individual_{measure}"))
        if res is None:
            continue
        if np.isfinite(res.mean):
            fitted[f"{dataset}:log_individual_{measure}_ratio_vs_{baseline}"] = res.mean
        verdicts.append(res.verdict._replace(
            claim=(f"{dataset}: DGSAM reaches lower individual {measure.replace('_', ' ')} "
                   f"than {LABELS[baseline]}"),
            reason=(f"mean log(DGSAM / {LABELS[baseline]}) = {res.mean:+.3f} (ratio "
                    f"{np.exp(res.mean):.2f}), 95 % interval [{res.interval[0]:+.3f}, "
                    f"{res.interval[1]:+.3f}]; {res.verdict.reason}")))
    return verdicts


def _mechanism_verdict(part: pd.DataFrame, dataset: str, fitted: dict) -> Verdict:
    """Does lower individual sharpness go with higher test accuracy across the methods? The
    within-(test domain, trial) rank correlations, test domains as units, against 0."""
    corr = sharpness_accuracy_correlation(part, "individual_zeroth_order")
    res = paired_comparison(corr.to_numpy(), np.zeros(len(corr)),
                            units=corr.index.get_level_values("test_domain"), direction="a < b",
                            claim=(f"{dataset}: lower individual sharpness goes with higher "
                                   "test-domain accuracy (across methods)"))
    if np.isfinite(res.mean):
        fitted[f"{dataset}:sharpness_accuracy_rank_correlation"] = res.mean
    return res.verdict._replace(reason=(
        f"Spearman correlation across the {part.method.nunique()} methods within each (test "
        f"domain, trial), mean {res.mean:+.2f}, 95 % interval [{res.interval[0]:+.2f}, "
        f"{res.interval[1]:+.2f}]; {res.verdict.reason}"))


def _per_domain_difference(part: pd.DataFrame, method: str, column: str, log: bool = False):
    """Per test domain: the mean over trials of method - ERM (pp; with ``log``: log(method /
    ERM)) and the 95 % t-interval half-width over the trials."""
    keys = ["test_domain", "trial"]
    a = part[part.method == method].set_index(keys)[column]
    b = part[part.method == "erm"].set_index(keys)[column].reindex(a.index)
    diff = np.log(a) - np.log(b) if log else 100 * (a - b)
    grouped = diff.groupby(level="test_domain")
    n = grouped.count()
    half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * grouped.std(ddof=1) / np.sqrt(n)
    return grouped.mean(), half


def _difference_panel(ax, part: pd.DataFrame, methods: list[str], column: str, log: bool,
                      scale: float) -> None:
    """One panel of paired differences to ERM: per test domain (coloured, 95 % over trials)
    and over test domains (black square, 95 % with t quantiles), the dashed zero line = ERM."""
    for x, m in enumerate(methods):
        mean, half = _per_domain_difference(part, m, column, log)
        ax.errorbar(x + np.linspace(-0.28, 0.18, len(mean)), mean, yerr=half, fmt="o",
                    markersize=2.5, linewidth=0.6, color=COLORS[m])
        res = paired_against(part, m, "erm", column, "", "a > b", log=log)
        ax.errorbar([x + 0.33], [scale * res.mean],
                    yerr=[[scale * (res.mean - res.interval[0])],
                          [scale * (res.interval[1] - res.mean)]],
                    fmt="s", markersize=3.5, color="k", linewidth=1.2)
    ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")


def _difference_figure(runs: pd.DataFrame, rows: list[tuple[str, bool, float, str]]):
    """Rows of difference panels (one column per dataset, y shared along a row) and a legend."""
    datasets = list(dict.fromkeys(runs.dataset))
    methods = [m for m in METHODS if m in set(runs.method) and m != "erm"]
    fig, axes = new_figure(len(rows), len(datasets), width_in=PAGE_WIDTH_IN,
                           aspect=0.5 if len(rows) == 1 else 0.55, squeeze=False,
                           sharey="row")
    for r, (column, log, scale, label) in enumerate(rows):
        for ax, dataset in zip(axes[r], datasets, strict=True):
            _difference_panel(ax, runs[runs.dataset == dataset], methods, column, log, scale)
            last = r == len(rows) - 1
            ax.set_xticks(range(len(methods)), [LABELS[m] for m in methods] if last else [],
                          rotation=40, ha="right")
            if r == 0:
                ax.set_title(dataset)
        axes[r, 0].set_ylabel(label)
    handles = [axes[0, 0].errorbar([], [], fmt="o", markersize=2.5, color="0.3"),
               axes[0, 0].errorbar([], [], fmt="s", markersize=3.5, color="k"),
               axes[0, 0].axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")]
    fig.legend(handles, ["per test domain (95 % over trials)", "over test domains (95 %, t)",
                         "ERM (difference 0)"], loc="outside lower center", ncols=3,
               fontsize="x-small")
    return fig


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """Paired differences to ERM (same test domain, trial and training key), per test domain
    (coloured dots: mean over trials, bars: 95 % t-interval over trials) and over test domains
    (black square: mean and 95 % t-interval, test domains as units); the dashed zero line is
    ERM, y shared along a row. ``accuracy``: test-domain accuracy (pp). ``sharpness``: log of
    the individual zeroth-order sharpness (top row) and of the individual top Hessian
    eigenvalue (bottom row) over ERM's: below 0 is flatter than ERM for every training domain
    on average. The absolute values are tabulated in the summary."""
    runs = selected_runs(results)
    if "erm" not in set(runs.method) or runs.method.nunique() < 2:
        return []
    fig = _difference_figure(runs, [("test_accuracy", False, 100.0,
                                     "test accuracy - ERM (pp)")])
    paths = save_figure(fig, out_dir, "accuracy")
    fig = _difference_figure(runs, [
        ("individual_zeroth_order", True, 1.0, "zeroth-order sharpness:\nlog(method / ERM)"),
        ("individual_top_eigenvalue", True, 1.0, "top eigenvalue:\nlog(method / ERM)")])
    return paths + save_figure(fig, out_dir, "sharpness")

"""Leave-one-domain-out domain generalisation in miniature: does DGSAM beat ERM and SAM on an
unseen domain, and does it lower the training domains' individual sharpness? (DGSAM paper's
DomainBed claims; docs/theory.md §8.)

A cell is (dataset, method). Domains come from :func:`sgldsim.nn.load_domains` (rotated digits,
MNIST-1D generator settings). For every test domain and trial (trial t splits each domain 80/20
with seed t and trains with key ``fold_in(key(seed), t)``, shared by all methods: paired),
the method trains an MLP on the other domains with one batch per domain per step
(:func:`sgldsim.nn.fit_domains`) for each of ``hparam_samples`` random hyperparameter draws
(learning rate, rho, alpha; the same draws for every method: the same budget). The draw with
the best validation accuracy on the *training* domains' 20% parts is selected; its accuracy on
the test domain (all of its examples, never seen in training or selection) is reported, and its
sharpness on the training domains (:func:`sgldsim.optim.domain_sharpness` on the first
``sharpness_examples`` training examples of each) per domain and pooled. The cost row counts
the per-domain loss evaluations of one step (a callback inside the loss, so the count is what
ran, not a formula).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ... import nn, optim
from ..._divergence import warn_training_divergence
from ..._memory import MemoryEstimate
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure
from ...runner import Cell, ConfigError, ExperimentConfig, ExperimentParams, Summary, cell_values
from ...verdicts import Verdict, paired_comparison
from ..common.checks import check_range
from ..common.memory import curvature_bytes, network_footprint, split_bytes, training_bytes

CHUNK_SIZE = 1
LABELS = {"erm": "ERM", "sam": "SAM", "domain_sam": "per-domain SAM", "gsam": "GSAM",
          "sagm": "SAGM", "dgsam": "DGSAM", "dgsam_no_first": "DGSAM (no first)"}
COLORS = {"erm": "#777777", "sam": "#009988", "domain_sam": "#EE7733", "gsam": "#33BBEE",
          "sagm": "#0077BB", "dgsam": "#CC3311", "dgsam_no_first": "#AA3377"}


@dataclass(frozen=True)
class Params(ExperimentParams):
    """dgsam-domains' parameters. Only ``dataset`` and ``method`` may be swept; the rest is
    fixed (one budget per run).

    Attributes:
      dataset: the multi-domain dataset (:data:`sgldsim.nn.DOMAIN_DATASETS`).
      method: the domain method trained (:data:`sgldsim.optim.DOMAIN_METHODS`).
      domain_seed: which digits go to which rotation / the MNIST-1D generator seeds.
      mnist1d_per_domain: signals per MNIST-1D domain; > 0.
      trials: data splits and training seeds per test domain, shared by methods; > 0.
      hparam_samples: random hyperparameter draws per method (the same draws for all); > 0.
      learning_rate_range: [low, high] of Adam's learning rate, drawn log-uniform;
        0 < low <= high.
      rho_range: [low, high] of rho, drawn log-uniform (unused by ERM); 0 < low <= high.
      alpha_range: [low, high] of GSAM's and SAGM's alpha, drawn log-uniform; 0 < low <= high.
      epochs: passes over the training domains; > 0.
      batch_size: examples per domain and step; > 0 and at most a domain's training part.
      mlp_hidden: hidden widths of the MLP; each > 0.
      sharpness_rho: radius of the measured zeroth-order sharpness (all methods); > 0.
      sharpness_examples: training examples per domain in the sharpness measures; > 0.
      ascent_steps: projected ascent steps of the zeroth-order sharpness; > 0.
      lanczos_iterations: Lanczos iterations of the top Hessian eigenvalue; > 0.
      trace_samples: Hutchinson probes of the Hessian trace; > 1.
    """

    dataset: Literal[nn.DOMAIN_DATASETS] = "rotated_digits"
    method: Literal[optim.DOMAIN_METHODS] = "erm"
    domain_seed: int = 0
    mnist1d_per_domain: int = 300
    trials: int = 3
    hparam_samples: int = 3
    learning_rate_range: tuple[float, ...] = (0.001, 0.01)
    rho_range: tuple[float, ...] = (0.01, 0.1)
    alpha_range: tuple[float, ...] = (0.001, 0.1)
    epochs: int = 10
    batch_size: int = 32
    mlp_hidden: tuple[int, ...] = (64,)
    sharpness_rho: float = 0.05
    sharpness_examples: int = 50
    ascent_steps: int = 5
    lanczos_iterations: int = 10
    trace_samples: int = 5


Params.NOT_SWEPT = tuple(name for name in Params.names() if name not in ("dataset", "method"))
PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    """Ranges (each message names the key and the range), and the batch against the domains."""
    p = Params.from_config(config)
    for name in ("trials", "hparam_samples", "epochs", "batch_size", "mlp_hidden",
                 "sharpness_examples", "lanczos_iterations", "ascent_steps",
                 "mnist1d_per_domain"):
        check_range(config, p, name, 0)
    check_range(config, p, "trace_samples", 1)
    for name, value in (("learning_rate_range", p.learning_rate_range),
                        ("rho_range", p.rho_range), ("alpha_range", p.alpha_range)):
        if len(value) != 2 or not 0 < value[0] <= value[1]:
            raise ConfigError(f"params.{name}={list(value)!r} is not allowed: [low, high] with "
                              "0 < low <= high")
    check_range(config, p, "sharpness_rho", 0.0)
    for name in cell_values(config, p, "dataset"):
        domains = _domains(p, name)
        n_train = nn.split_domains(domains, 0.2, 0).train.y.shape[1]
        if p.batch_size > n_train:
            raise ConfigError(f"{config.key_path('batch_size')}={p.batch_size} is not allowed "
                              f"for {name!r}: at most {n_train} (training examples per domain)")


def _domains(p: Params, name: str) -> nn.Split:
    return nn.load_domains(name, seed=p.domain_seed, num_per_domain=p.mnist1d_per_domain)


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk (its cells run one at a time): a cell's runs (test domains x
    trials x hyperparameter draws) train vmapped together, each with its own copy of the
    domains' examples, the MLP's state and one step over a batch of every training domain (or
    an evaluation over the validation or test examples); then the selected runs' sharpness."""
    worst = (0.0, "")
    for cell in cells:
        p = Params.from_cell(cell)
        domains = _domains(p, p.dataset)
        num_domains, per_domain = domains.y.shape
        input_shape = tuple(domains.x.shape[2:])
        footprint = network_footprint("mlp", input_shape, tuple(p.mlp_hidden))
        runs = num_domains * p.trials * p.hparam_samples
        n_train = nn.split_domains(domains, 0.2, 0).train.y.shape[1]
        evaluated = max((num_domains - 1) * (per_domain - n_train), per_domain)
        train = training_bytes(footprint, runs, (num_domains - 1) * p.batch_size, evaluated,
                               data_bytes_per_run=split_bytes(domains))
        sharp = curvature_bytes(footprint, num_domains * p.trials,
                                (num_domains - 1) * p.sharpness_examples, p.lanczos_iterations)
        needed = max(train, sharp) + split_bytes(domains)
        worst = max(worst, (needed, f"{p.dataset}: {runs} runs (test domains x trials = "
                                    f"{p.trials} x hparam_samples = {p.hparam_samples}) of an "
                                    f"MLP of {footprint.params} parameters"))
    return MemoryEstimate(*worst, "lower params.trials, params.hparam_samples, "
                                  "params.mlp_hidden or params.mnist1d_per_domain")


def hyperparameter_draws(p: Params, seed: int) -> np.ndarray:
    """float[hparam_samples, 3]: (learning rate, rho, alpha), each log-uniform in its range,
    from ``numpy.random.default_rng([seed, 7])``: the same draws for every method."""
    rng = np.random.default_rng([seed, 7])
    draws = [np.exp(rng.uniform(*np.log(bounds), p.hparam_samples))
             for bounds in (p.learning_rate_range, p.rho_range, p.alpha_range)]
    return np.stack(draws, axis=1)


@partial(jax.jit, static_argnames=("method", "model", "epochs", "batch_size"))
def _train(keys, hypers, train, validation, test, *, method, model, epochs, batch_size):
    """Vmapped over runs: (params, validation accuracy, test accuracy, last epoch loss, first
    non-finite step or -1)."""

    def run(key, hyper, train, validation, test):
        lr, rho, alpha = hyper[0], hyper[1], hyper[2]
        params, losses, info = nn.fit_domains(
            key, optim.domain_method(method, lr, rho, alpha), model, train, epochs=epochs,
            batch_size=batch_size, return_info=True, warn=False)
        return (params, nn.domain_accuracy(model, params, validation),
                nn.domain_accuracy(model, params, test), losses[-1], info.diverged_at)

    return jax.vmap(run)(keys, hypers, train, validation, test)


@partial(jax.jit, static_argnames=("model", "ascent_steps", "lanczos_iterations",
                                   "trace_samples"))
def _sharpness(params, train, key, rho, *, model, ascent_steps, lanczos_iterations,
               trace_samples):
    """domain_sharpness of each selected model (vmapped) on its training domains."""
    loss = nn.classification_loss(model)

    def one(params, train):
        domains = [(train.x[d], train.y[d]) for d in range(train.y.shape[0])]
        return optim.domain_sharpness(loss, params, domains, rho, key, ascent_steps=ascent_steps,
                                      lanczos_iterations=lanczos_iterations,
                                      trace_samples=trace_samples)

    return jax.vmap(one)(params, train)


def count_domain_evaluations(method: str, model: nn.Model, params, batches) -> float:
    """Per-domain loss evaluations in one jitted step of ``method`` (a callback in the loss
    adds the number of domain batches it sees; vmapped evaluations count each domain)."""
    per_domain = batches[0][0].size
    count = []
    base = nn.classification_loss(model)

    def loss(params, batch):
        jax.debug.callback(lambda x: count.append(np.size(x) / per_domain), batch[0])
        return base(params, batch)

    m = optim.domain_method(method, 1e-3, 0.05, 0.01)
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
    hypers = hyperparameter_draws(p, config.seed)
    model = nn.flat_model(nn.mlp(domains.x.shape[2:], nn.NUM_CLASSES, p.mlp_hidden))

    # runs: (test domain, trial, draw), draw fastest
    index = [(d, t, h) for d in range(num_domains) for t in range(trials)
             for h in range(len(hypers))]
    held = {(d, t): nn.leave_one_domain_out(nn.split_domains(domains, 0.2, t), d)
            for d in range(num_domains) for t in range(trials)}
    stack = lambda trees: jax.tree.map(lambda *xs: jnp.stack(xs), *trees)  # noqa: E731
    train = stack([held[d, t][0].train for d, t, _ in index])
    validation = stack([held[d, t][0].validation for d, t, _ in index])
    test = stack([held[d, t][1] for d, t, _ in index])
    trial_keys = [jax.random.fold_in(jax.random.key(config.seed), t) for t in range(trials)]
    run_keys = jnp.stack([trial_keys[t] for _, t, _ in index])
    params, val_acc, test_acc, last_loss, diverged_at = _train(
        run_keys, jnp.asarray(hypers[[h for _, _, h in index]], jnp.float32), train, validation,
        test, method=method, model=model, epochs=p.epochs, batch_size=p.batch_size)
    val_acc, test_acc, last_loss, diverged_at = map(np.asarray, (val_acc, test_acc, last_loss,
                                                                 diverged_at))
    warn_training_divergence(diverged_at, f"{config.name} training", [
        f"{p.dataset} {method}, test domain {d}, trial {t}, draw {h}" for d, t, h in index])

    rows, selected = [], []
    for d in range(num_domains):
        for t in range(trials):
            runs = [i for i, (dd, tt, _) in enumerate(index) if (dd, tt) == (d, t)]
            best = runs[int(np.argmax(val_acc[runs]))]
            selected.append(best)
            for i in runs:
                h = index[i][2]
                tags = {"test_domain": d, "trial": t, "draw": h, "selected": i == best}
                rows += [{"measure": m, "value": float(v), **tags} for m, v in (
                    ("validation_accuracy", val_acc[i]), ("test_accuracy", test_acc[i]),
                    ("final_train_loss", last_loss[i]), ("diverged_at", diverged_at[i]),
                    ("learning_rate", hypers[h, 0]),
                    ("rho", hypers[h, 1]), ("alpha", hypers[h, 2]))]

    n_sharp = p.sharpness_examples
    chosen = jnp.asarray(selected)
    sharp = _sharpness(jax.tree.map(lambda x: x[chosen], params),
                       jax.tree.map(lambda x: x[chosen][:, :, :n_sharp], train),
                       jax.random.key(config.seed + 1), p.sharpness_rho, model=model,
                       ascent_steps=p.ascent_steps, lanczos_iterations=p.lanczos_iterations,
                       trace_samples=p.trace_samples)
    sharp = jax.tree.map(np.asarray, sharp)
    for r, i in enumerate(selected):
        d, t, h = index[i]
        tags = {"test_domain": d, "trial": t, "draw": h, "selected": True}
        for field in optim.SharpnessMeasures._fields:
            rows.append({"measure": f"individual_{field}",
                         "value": float(getattr(sharp.per_domain, field)[r].mean()), **tags})
            rows.append({"measure": f"pooled_{field}",
                         "value": float(getattr(sharp.pooled, field)[r]), **tags})

    first_train = jax.tree.map(lambda x: x[0], train)
    batches = nn.domains.domain_batches(
        first_train, jnp.tile(jnp.arange(p.batch_size), (num_domains - 1, 1)))
    count = count_domain_evaluations(method, model, jax.tree.map(lambda x: x[0], params), batches)
    rows.append({"measure": "domain_gradients_per_step", "value": count})
    rows.append({"measure": "training_domains", "value": float(num_domains - 1)})
    return rows


def selected_runs(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method, test domain, trial) of the selected draw."""
    chosen = results[results.selected.astype(bool)]
    wide = chosen.pivot_table(index=["dataset", "method", "test_domain", "trial"],
                              columns="measure", values="value", sort=False)
    return wide.reset_index()


def _paired(runs: pd.DataFrame, method: str, baseline: str, column: str, claim: str,
            direction: str, log: bool = False):
    """:func:`sgldsim.verdicts.paired_comparison` of method against baseline over (test domain,
    trial) pairs (the same split and training key), test domains as units: trials of one test
    domain share it, so the standard error is the spread of the per-domain mean differences
    (t quantiles with test domains - 1 degrees of freedom). With ``log``: log(method /
    baseline). Also returns how many test domains have a mean difference above / below 0."""
    keys = ["test_domain", "trial"]
    a = runs[runs.method == method].set_index(keys)[column]
    b = runs[runs.method == baseline].set_index(keys)[column].reindex(a.index)
    a, b = (np.log(a), np.log(b)) if log else (a, b)
    result = paired_comparison(a.to_numpy(), b.to_numpy(),
                               units=a.index.get_level_values("test_domain"),
                               direction=direction, claim=claim)
    per_domain = (a - b).dropna().groupby(level="test_domain").mean()
    return result, int((per_domain > 0).sum()), int((per_domain < 0).sum())


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    runs = selected_runs(results)
    blocks, verdicts, fitted = [], [], {}
    order = [m for m in optim.DOMAIN_METHODS if m in set(runs.method)]
    for dataset, part in runs.groupby("dataset", sort=False):
        acc = part.pivot_table(index="test_domain", columns="method", values="test_accuracy",
                               aggfunc="mean")[order]
        per_method = part.groupby("method").agg(
            accuracy=("test_accuracy", "mean"),
            validation=("validation_accuracy", "mean"),
            ind_sharp=("individual_zeroth_order", "mean"),
            pool_sharp=("pooled_zeroth_order", "mean"),
            ind_top=("individual_top_eigenvalue", "mean"),
            pool_top=("pooled_top_eigenvalue", "mean"),
            ind_trace=("individual_trace", "mean")).loc[order]
        per_method.insert(1, "spread", acc.std(ddof=1))
        per_method["gap"] = per_method.ind_sharp - per_method.pool_sharp
        cost = results[(results.dataset == dataset)
                       & (results.measure == "domain_gradients_per_step")]
        cost = cost.groupby("method").value.first()
        per_method["grads"] = cost.reindex(order)
        blocks.append(f"{dataset}: test accuracy (%) per test domain, mean over trials of the "
                      "draw selected on training-domain validation:\n"
                      + (100 * acc).to_string(float_format=lambda x: f"{x:.1f}"))
        shown = per_method.copy()
        for c in ("accuracy", "validation", "spread"):
            shown[c] = 100 * shown[c]
        blocks.append(f"{dataset}: per method\n"
                      + shown.to_string(float_format=lambda x: f"{x:.3g}"))
        for m in order:
            fitted[f"{dataset}:accuracy[{m}]"] = per_method.accuracy[m]
        s = int(results[(results.dataset == dataset)
                        & (results.measure == "training_domains")].value.iloc[0])
        for baseline in ("erm", "sam"):
            claim = f"{dataset}: DGSAM beats {baseline.upper()} in test-domain accuracy"
            res, above, below = _paired(part, "dgsam", baseline, "test_accuracy", claim,
                                        "a > b")
            if np.isfinite(res.mean):
                fitted[f"{dataset}:accuracy_gain_vs_{baseline}"] = res.mean
            verdicts.append(res.verdict._replace(reason=(
                f"DGSAM - {baseline.upper()} = {100 * res.mean:+.2f} ± {100 * res.stderr:.2f} pp"
                f"; higher on {above}, lower on {below} test domains; {res.verdict.reason}")))
        claim = f"{dataset}: DGSAM reaches lower individual sharpness than SAM"
        res, above, below = _paired(part, "dgsam", "sam", "individual_zeroth_order", claim,
                                    "a < b", log=True)
        if np.isfinite(res.mean):
            fitted[f"{dataset}:log_individual_sharpness_ratio_vs_sam"] = res.mean
        verdicts.append(res.verdict._replace(reason=(
            f"mean log(DGSAM / SAM) of the individual zeroth-order sharpness = {res.mean:+.3f} "
            f"± {res.stderr:.3f} (ratio {np.exp(res.mean):.2f}); lower on {below}, higher on "
            f"{above} test domains; {res.verdict.reason}")))
        if "dgsam" in cost and "sam" in cost:
            claim = f"{dataset}: DGSAM costs S + 1 per-domain gradients per step, SAM 2S"
            ok = cost["dgsam"] == s + 1 and cost["sam"] == 2 * s
            verdicts.append(Verdict(claim, "consistent" if ok else "inconsistent", (
                f"counted per step with S = {s}: DGSAM {cost['dgsam']:g}, SAM {cost['sam']:g}"
                + (f", ERM {cost['erm']:g}" if "erm" in cost else ""))))
    sharpness_rho = Params.from_config(config).sharpness_rho
    legend = (
        "accuracy / validation: mean test-domain / training-domain-validation accuracy (%) of "
        "the selected draws; spread: std over test domains of the per-domain accuracy (%);\n"
        "ind_sharp / pool_sharp: zeroth-order sharpness max_{|e|<=rho} L(w+e) - L(w) (rho = "
        f"{sharpness_rho:g}) averaged over the training domains' own losses / "
        "of their pooled loss; gap = ind_sharp - pool_sharp (>= 0);\n"
        "ind_top / pool_top: top Hessian eigenvalue (Lanczos), mean over domains / pooled; "
        "ind_trace: Hutchinson trace, mean over domains;\ngrads: per-domain loss evaluations "
        "counted in one step (S training domains).\nVerdicts: paired differences over (test "
        "domain, trial), test domains as units (sgldsim.verdicts.paired_comparison: SE between "
        "the test-domain means, 95 % interval with t quantiles; consistent when it excludes 0 on "
        "the claimed side, inconsistent when on the other).")
    return Summary(table="\n\n".join([*blocks, legend]), fitted=fitted, verdicts=verdicts)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """``accuracy``: test-domain accuracy per method, a panel per dataset (dots: test
    domains, bar: mean). ``sharpness``: individual against pooled zeroth-order sharpness at the
    selected models (points: test domain x trial; the diagonal is individual = pooled)."""
    runs = selected_runs(results)
    datasets = list(dict.fromkeys(runs.dataset))
    order = [m for m in optim.DOMAIN_METHODS if m in set(runs.method)]
    fig, axes = new_figure(1, len(datasets), width_in=PAGE_WIDTH_IN, aspect=0.45,
                           squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        part = runs[runs.dataset == dataset]
        for x, m in enumerate(order):
            per = part[part.method == m].groupby("test_domain").test_accuracy.mean()
            ax.scatter(x + np.linspace(-0.2, 0.2, len(per)), 100 * per, s=8, color=COLORS[m])
            ax.plot([x - 0.3, x + 0.3], [100 * per.mean()] * 2, color="k", linewidth=1.2)
        ax.set_xticks(range(len(order)), [LABELS[m] for m in order], rotation=45, ha="right")
        ax.set_ylabel("test-domain accuracy (%)")
        ax.set_title(dataset)
    paths = save_figure(fig, out_dir, "accuracy")
    fig, axes = new_figure(1, len(datasets), width_in=PAGE_WIDTH_IN, aspect=0.45,
                           squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        part = runs[runs.dataset == dataset]
        for m in order:
            r = part[part.method == m]
            ax.scatter(r.pooled_zeroth_order, r.individual_zeroth_order, s=8, color=COLORS[m],
                       label=LABELS[m])
        top = float(np.nanmax(part[["pooled_zeroth_order", "individual_zeroth_order"]].values))
        ax.plot([0, top], [0, top], color="0.5", linestyle=":", linewidth=0.8)
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_xlabel("pooled sharpness")
        ax.set_ylabel("individual sharpness")
        ax.set_title(dataset)
    axes[0, 0].legend(fontsize="x-small")
    return paths + save_figure(fig, out_dir, "sharpness")

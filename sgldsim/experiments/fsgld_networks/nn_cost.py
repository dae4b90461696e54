"""Cost per step: SGD, RWP, SGLD, fSGLD, SAM and ASAM on the same model and batch
(docs/theory.md §7).

The paper: fSGLD costs about what SGD costs (one gradient per step) and about half of SAM
(two sequential gradients); ResNet-34 on CIFAR-100N, 23.7 s/epoch against SAM's 41.3 (0.57).
Each method is the library's own (``optim.sgd``, ``optim.fsgld``, ...) on the model's flat
parameter vector (as in the training experiments) or, for the models in ``pytree_models``, on
its parameter pytree as a user would write it (one array per weight and bias), compiled as
``steps_per_call`` steps in one ``lax.scan`` on a fixed batch, each call ending in
``block_until_ready``.

Timing design. After two warm-up calls each, ``repeats`` rounds run every call once, in the
order of :func:`round_orders`: blocks of a Williams design with random labels, so every call
holds every place in a round and follows every other call equally often. Reported: the median
seconds per step, and each call's per-round ratio to SGD (and to SGLD and SAM) with its median
and distribution-free 95 % interval. A ratio within a round cancels the machine's slow drift;
the balanced, randomised order turns what is left (the machine changing speed within a round, a
call slowed by the one before it) into spread that the interval shows, instead of a bias a
fixed order would put into one ratio. The check on all this is a same-program control
(:data:`CONTROL`): SGD compiled a second time and timed like the methods; control / SGD must be 1,
and a verdict says whether its interval contains 1. Calls are short (50 steps) and rounds many
(48), so a round's calls are close in time.

Why: the committed run before this design had SGLD / SGD = 0.86 (0.81-0.995) on the pytree MLP
at batch 512, although SGLD's step is SGD's plus a Gaussian draw. Measured on this 2-core
machine, shared with another process, that cell (8 calls, the control included): with the old
fixed rotation (16 rounds of 100 steps) SGLD / SGD 1.11 (1.02-1.14), fSGLD 1.13 (1.11-1.14),
control 1.00 (0.98-1.05); in random order 1.13 (1.09-1.16), control 1.00 (0.98-1.02); random,
30 rounds of 50 steps, 1.13 (1.11-1.14), fSGLD 1.13 (1.12-1.15), control 0.99 (0.97-1.00);
pinned to one core, 1.15 (1.13-1.23), fSGLD 1.16 (1.15-1.24), control 1.01 (0.99-1.06); the
default grid at 12 rounds in this design, 1.02 (1.00-1.05), fSGLD 1.14 (1.13-1.18), control 0.99
(0.97-1.09). Not a compilation difference: SGD compiled again runs at SGD's speed in every run
and SGLD never came out below SGD. What did move is the machine: in the 16-round rotation run
SGD's step took 3.6-4.0 ms in most rounds and 2.0 ms in four consecutive ones (the other process
idle), and SGLD's extra time depends on that state: 47 us per step in the 12-round run (SGD at
2.0 ms), where fSGLD's draws alone took 240 us. Presumably a free core draws SGLD's noise beside
the gradient, which it does not depend on; fSGLD's perturbation must come before its gradient.
The 0.86 was not reproduced in these five runs. The old design, with no control, could not
tell a biased timing from a real difference; this one can.

Extra per-step work on top of one gradient: Gaussian draws over all parameters (SGLD one,
RWP one, fSGLD two: the Box-Muller pair of one counter-based Threefry hash per parameter, see
:func:`sgldsim._random.tree_normal_pair`), a second gradient (SAM, ASAM). SGLD's draw is the part
of fSGLD's overhead that fSGLD shares; fSGLD / SGLD is the rest (a verdict asks whether it is
below the SGD-like limit). That work is fixed per parameter while SGD's grows with the batch,
so the ratio to SGD falls as the batch grows; the grid has the training batch (128) and a larger
one, and the table gives the extra microseconds per step and nanoseconds per parameter. fSGLD's
draws are also timed alone, in the same rounds (:func:`_scanned_draws`): 1 + draws / SGD is the
ratio fSGLD would have if its step added nothing to SGD's but them.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jax
import numpy as np
import pandas as pd
import scipy.stats

from ... import nn, optim
from ..._memory import MemoryEstimate
from ..._random import tree_normal_pair
from ...coupling import coupled_sigma
from ...figures.style import PAGE_WIDTH_IN, new_figure, save_figure, style_for
from ...runner import Cell, ConfigError, ExperimentConfig, Summary, cell_values
from ...verdicts import Verdict
from ..common.checks import check_range
from ..common.nn_setup import (
    WIDTHS,
    DatasetName,
    ModelName,
    NetworkParams,
    check_dataset_fits,
    classifier_runs_memory,
    dataset_from_params,
    model_from_params,
)

TIMED_METHODS = ("sgd", "rwp", "sgld", "fsgld", "sam", "asam")
"""The methods nn-cost can time (``methods`` picks some), in the order tables and bars show."""
REQUIRED = ("sgd", "sgld", "fsgld", "sam")
"""Methods the verdicts compare (the others are reported for context)."""
CONTROL = "sgd_control"
"""SGD compiled a second time (its own ``jax.jit``), timed in every round like the methods: the
same program, so control / SGD is 1 unless the timing is biased."""
GRADIENTS_PER_STEP = {"sgd": 1, CONTROL: 1, "sgld": 1, "rwp": 1, "fsgld": 1, "sam": 2, "asam": 2}
SGD_LIKE = 1.15
"""fSGLD "costs about SGD" when its time per step is at most this multiple of SGD's."""
HALF_OF_SAM = 0.7
"""fSGLD "costs about half of SAM" when at most this fraction (the paper measured 0.57)."""


@dataclass(frozen=True)
class Params(NetworkParams):
    """nn-cost's parameters (each may be swept in ``[grid]`` unless marked fixed), besides the
    data split and widths of :class:`~sgldsim.experiments.common.nn_setup.NetworkParams`.

    Attributes:
      methods: the methods timed (fixed), from :data:`TIMED_METHODS`; must include sgd, sgld,
        fsgld and sam (the same-program control, :data:`CONTROL`, is always timed).
      dataset: the dataset whose first ``batch_size`` training examples make the batch.
      model: the model timed (a name of :data:`sgldsim.nn.MODELS`).
      batch_size: examples in the fixed batch; > 0 and at most the training split.
      pytree_models: models kept as their parameter pytree (one array per weight and bias);
        the others train on one flat vector.
      learning_rate: every method's learning rate; > 0.
      beta: SGLD's and fSGLD's inverse temperature; > 0.
      coupling_eta: fSGLD's sigma = beta^(-(1+eta)/4) at this eta.
      sigma: RWP's perturbation scale; >= 0.
      rho: SAM's radius; >= 0.
      asam_rho: ASAM's radius; >= 0.
      asam_eta: ASAM's eta; >= 0.
      steps_per_call: steps scanned inside one compiled call; > 0.
      repeats: timed rounds, every call once per round in the order of
        :func:`round_orders`; >= 6 (a 95 % interval of the median needs 6).
    """

    NOT_SWEPT = (*NetworkParams.NOT_SWEPT, "methods")

    methods: tuple[Literal[TIMED_METHODS], ...] = TIMED_METHODS
    dataset: DatasetName = "mnist1d"
    model: ModelName = "residual_mlp"
    batch_size: int = 128
    mlp_hidden: tuple[int, ...] | None = (300, 300)
    residual_mlp_hidden: tuple[int, ...] | None = (100, 100)
    strided_cnn_channels: tuple[int, ...] | None = (25, 25, 25)
    pytree_models: tuple[ModelName, ...] = ("mlp",)
    learning_rate: float = 0.1
    beta: float = 1e4
    coupling_eta: float = 0.1
    sigma: float = 0.02
    rho: float = 0.05
    asam_rho: float = 0.5
    asam_eta: float = 0.01
    steps_per_call: int = 50
    repeats: int = 48


PARAMS = Params


def validate(config: ExperimentConfig) -> None:
    """Ranges (each message names the key and the range), the compared methods, and the batch
    against the dataset."""
    p = Params.from_config(config)
    for name in ("batch_size", "steps_per_call", "num_samples_mnist1d", *WIDTHS):
        check_range(config, p, name, 0)
    check_range(config, p, "repeats", 6, low_inclusive=True)
    for name in ("learning_rate", "beta"):
        check_range(config, p, name, 0.0)
    for name in ("sigma", "rho", "asam_rho", "asam_eta"):
        check_range(config, p, name, 0.0, low_inclusive=True)
    if not set(REQUIRED) <= set(p.methods):
        raise ConfigError(f"params.methods={list(p.methods)!r} is not allowed: a list of methods "
                          f"from {', '.join(TIMED_METHODS)} that includes {', '.join(REQUIRED)}")
    check_dataset_fits(config, p, cell_values(config, p, "dataset"),
                       config.key_path("dataset"), cell_values(config, p, "batch_size"))


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk (its cells run one at a time): every method's state and compiled
    scan are alive together, each step one gradient (SAM, ASAM: two) over the fixed batch,
    beside the dataset (:func:`~sgldsim.experiments.common.nn_setup.classifier_runs_memory`
    with one run per method, the control and the draws)."""
    worst = (0.0, "")
    for cell in cells:
        p = Params.from_cell(cell)
        needed, params = classifier_runs_memory(p, p.dataset, p.model, len(p.methods) + 2,
                                                2 * p.batch_size, evaluate=False)
        worst = max(worst, (needed, f"{p.model} ({params} parameters) at batch_size = "
                                    f"{p.batch_size}"))
    return MemoryEstimate(*worst, "lower the model's widths or batch_size")


def methods_from_params(p: Params) -> dict[str, optim.Method]:
    """The methods of ``p.methods`` at the configured hyperparameters."""
    lr = p.learning_rate
    methods = {
        "sgd": optim.sgd(lr),
        "sgld": optim.sgld(lr, p.beta),
        "rwp": optim.rwp(lr, p.sigma),
        "fsgld": optim.fsgld(lr, p.beta, sigma=float(coupled_sigma(p.beta, p.coupling_eta))),
        "sam": optim.sam(lr, p.rho),
        "asam": optim.asam(lr, p.asam_rho, eta=p.asam_eta),
    }
    return {name: methods[name] for name in p.methods}


def _scanned_steps(method: optim.Method, loss_fn, num_steps: int):
    step = method.train_step(loss_fn)

    def run(key, params, opt_state, batch):
        def body(carry, step_key):
            params, opt_state, _ = step(step_key, *carry, batch)
            return (params, opt_state), None

        carry, _ = jax.lax.scan(body, (params, opt_state), jax.random.split(key, num_steps))
        return carry

    return jax.jit(run)


def _scanned_draws(num_steps: int):
    """fSGLD's random work alone, scanned like the steps: per step the Box-Muller pair over the
    parameters (the draw a fSGLD step makes, :func:`sgldsim._random.tree_normal_pair`) and one
    update with both noises, theta + 1e-3 (xi_0 + xi_1); no gradient."""

    def run(key, params):
        def body(params, step_key):
            perturbation, noise = tree_normal_pair(step_key, params)
            return jax.tree.map(lambda p, a, b: p + 1e-3 * (a + b), params, perturbation,
                                noise), None

        return jax.lax.scan(body, params, jax.random.split(key, num_steps))[0]

    return jax.jit(run)


def round_orders(num_calls: int, repeats: int, rng: np.random.Generator) -> np.ndarray:
    """The order of the calls in each round, ``(repeats, num_calls)`` indices: blocks of a
    Williams design (Williams 1949), each relabelled by a random permutation.

    Row i of the design is (c_0 + i, c_1 + i, ...) mod n with c = (0, 1, n-1, 2, n-2, ...); for
    odd n the mirrored rows follow. In a whole block (n rounds; 2n for odd n) every call takes
    every position equally often and follows every other call equally often, so neither a
    position in the round nor the call before carries a bias into a ratio; the random labels
    make the blocks differ and a partial last block unbiased on average.

    References:
      E. J. Williams, Experimental designs balanced for the estimation of residual effects of
      treatments, Australian Journal of Scientific Research A 2 (1949) 149-168.
    """
    if num_calls < 1 or repeats < 1:
        raise ValueError(f"num_calls={num_calls} and repeats={repeats} are not allowed: both "
                         "must be >= 1")
    n = num_calls
    first = np.array([(k + 1) // 2 if k % 2 else (n - k // 2) % n for k in range(n)])
    design = (first[None, :] + np.arange(n)[:, None]) % n
    if n % 2:
        design = np.concatenate([design, design[:, ::-1]])
    blocks = -(-repeats // len(design))
    return np.concatenate([rng.permutation(n)[design] for _ in range(blocks)])[:repeats]


def interleaved_seconds(calls: dict, repeats: int, steps_per_call: int,
                        rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Seconds per step of each call in ``calls`` (name -> no-argument function running
    ``steps_per_call`` steps), ``repeats`` rounds each. Every call is run twice first (compile,
    settle caches); then each round runs every call once, in the order of
    :func:`round_orders`, so all share the machine's state of that round and none is favoured
    by its place in it (ratios are taken per round)."""
    for call in calls.values():
        for _ in range(2):
            jax.block_until_ready(call())
    names = list(calls)
    seconds = {name: np.empty(repeats) for name in names}
    for round_, order in enumerate(round_orders(len(names), repeats, rng)):
        for index in order:
            start = time.perf_counter()
            jax.block_until_ready(calls[names[index]]())
            seconds[names[index]][round_] = (time.perf_counter() - start) / steps_per_call
    return seconds


RATIO_BASELINES = ("sgd", "sgld", "sam")
"""Each timed call's per-round ratio to these is reported (``relative_to_<baseline>``)."""


def run_cell(config: ExperimentConfig, cell: Cell, key) -> list[dict]:
    """Median seconds per step of each method, of the same-program control (:data:`CONTROL`)
    and of fSGLD's draws alone (``draws``), and their per-round ratios to SGD, SGLD and SAM
    (median and 95 % interval)."""
    p = Params.from_cell(cell)
    dataset = dataset_from_params(p, p.dataset)
    model = model_from_params(p, p.model, dataset, flat=p.model not in p.pytree_models)
    loss_fn = nn.classification_loss(model)
    batch = (dataset.train.x[: p.batch_size], dataset.train.y[: p.batch_size])
    params = model.init(jax.random.key(0))
    num_steps = p.steps_per_call
    methods = methods_from_params(p)
    methods = {"sgd": methods["sgd"], CONTROL: methods["sgd"]} | methods
    calls = {}
    for name, method in methods.items():
        # a fresh jit per name: the control is compiled on its own, not a cache hit of SGD's
        calls[name] = functools.partial(_scanned_steps(method, loss_fn, num_steps), key, params,
                                        method.optimizer.init(params), batch)
    names = list(calls)
    calls["draws"] = functools.partial(_scanned_draws(num_steps), key, params)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
    seconds = interleaved_seconds(calls, p.repeats, num_steps, rng)
    return timing_rows(seconds, names) + [
        {"measure": "num_parameters",
         "value": float(sum(x.size for x in jax.tree.leaves(params)))},
        {"measure": "num_leaves", "value": float(len(jax.tree.leaves(params)))}]


def timing_rows(seconds: dict[str, np.ndarray], names: list[str]) -> list[dict]:
    """Result rows from per-round seconds per step (``seconds``: name -> one entry per round,
    ``names`` the timed methods and the control, ``seconds["draws"]`` fSGLD's draws alone):
    each name's median, its median extra time over SGD's in the same round, and its
    per-round ratio to each of :data:`RATIO_BASELINES` (median and 95 % interval); SGD's and
    the control's seconds of every round (``round_seconds``, with ``round``: the summary's
    family-wise interval of the control is computed from them)."""
    sgd, draws = seconds["sgd"], seconds["draws"]
    rows = [{"measure": "draws_seconds", "value": float(np.median(draws))},
            {"measure": "draws_relative_to_sgd", "value": float(np.median(draws / sgd))}]
    rows += [{"measure": "round_seconds", "method": name, "round": r, "value": float(t)}
             for name in ("sgd", CONTROL) if name in seconds
             for r, t in enumerate(seconds[name])]
    for name in names:
        t = seconds[name]
        rows += [{"measure": "seconds_per_step", "method": name, "value": float(np.median(t))},
                 {"measure": "extra_seconds", "method": name, "value": float(np.median(t - sgd))}]
        for baseline in RATIO_BASELINES:
            if name != baseline and baseline in seconds:
                ratio = t / seconds[baseline]
                low, high = median_interval(ratio)
                rows += [{"measure": f"relative_to_{baseline}{suffix}", "method": name,
                          "value": float(value)} for suffix, value in (
                              ("", np.median(ratio)), ("_low", low), ("_high", high))]
    rows += [{"measure": f"relative_to_sgd{suffix}", "method": "sgd", "value": 1.0}
             for suffix in ("", "_low", "_high")]
    return rows


def median_interval(x, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval for the median of i.i.d. ``x``: the order
    statistics (x_(j), x_(n+1-j)) with the largest j such that P(j <= B <= n - j) >= ``level``,
    B ~ Binomial(n, 1/2) (the number of draws below the median). Needs n >= 6 for 95 %."""
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    # j = the number of k with P(B <= k) <= (1 - level) / 2, so P(B < j) <= (1 - level) / 2
    j = int(np.sum(scipy.stats.binom.cdf(np.arange(n), n, 0.5) <= (1 - level) / 2))
    if j < 1:
        raise ValueError(f"{n} rounds are too few for a {level:.0%} interval of the median: "
                         "at least 6 are needed")
    return x[j - 1], x[n - j]


CELL_MEASURES = ("num_parameters", "num_leaves", "draws_seconds", "draws_relative_to_sgd")
"""Measures of a (model, batch size) cell rather than of a method."""


def per_method(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, batch size, method) with a column per measure."""
    rows = results[results.method.notna()]
    keys = [c for c in ("model", "batch_size", "dataset") if c in rows] + ["method"]
    wide = rows.pivot_table(index=keys, columns="measure", values="value", sort=False)
    wide = wide.reset_index()
    for measure in CELL_MEASURES:
        if not (results.measure == measure).any():  # run folders from before the draws column
            continue
        values = results[results.measure == measure].set_index(
            [c for c in ("model", "batch_size", "dataset") if c in rows]).value
        wide = wide.merge(values.rename(measure), left_on=values.index.names, right_index=True)
    return wide


RATIOS = {"control/sgd": (CONTROL, "sgd"), "sgld/sgd": ("sgld", "sgd"),
          "fsgld/sgd": ("fsgld", "sgd"), "fsgld/sgld": ("fsgld", "sgld"),
          "fsgld/sam": ("fsgld", "sam")}
"""The ratios the verdicts read (name -> (method, baseline)), tabled per cell with intervals."""


def _interval(what: str, mid: float, low: float, high: float, digits: int = 2) -> str:
    return (f"{what} = {mid:.{digits}f} (95 % interval of the median over rounds "
            f"{low:.{digits}f}-{high:.{digits}f})")


def _verdict(claim: str, low: float, mid: float, high: float, limit: float, what: str):
    """At most ``limit``: consistent when the interval lies at or below it, inconsistent when
    wholly above, inconclusive when it straddles it."""
    verdict = ("consistent" if high <= limit else "inconsistent" if low > limit else
               "inconclusive")
    return Verdict(claim, verdict, f"{_interval(what, mid, low, high)}; limit {limit:g}")


def _unbiased_verdict(claim: str, low: float, mid: float, high: float, what: str,
                      level: float = 0.95):
    """A ratio that must be 1 (the same program timed twice): consistent when its interval
    contains 1, inconsistent when it excludes 1 (three decimals, so an end near 1 shows on
    which side it lies); ``level``: the interval's coverage."""
    inside = low <= 1.0 <= high
    text = _interval(what, mid, low, high, 3).replace("95 %", f"{100 * level:.4g} %")
    return Verdict(claim, "consistent" if inside else "inconsistent",
                   f"{text}; {'contains' if inside else 'excludes'} 1")


def _as_tuple(key) -> tuple:
    """A groupby key as a tuple (its values keep their types, unlike ``np.atleast_1d``)."""
    return key if isinstance(key, tuple) else (key,)


def control_intervals(results: pd.DataFrame, cells: list[str], level: float = 0.95
                      ) -> dict[tuple, tuple[float, float, float, float]]:
    """Per cell: (low, median, high, coverage) of the control's per-round ratio to SGD: the
    interval of the median at ``level`` (:func:`median_interval`) from the ``round_seconds``
    rows; where the rounds are too few for ``level``, the whole range (min, max), whose
    coverage 1 - 2^(1 - rounds) is returned. Empty for run folders without those rows."""
    rounds = results[results.measure == "round_seconds"]
    out = {}
    for key, part in rounds.groupby(cells, sort=False):
        wide = part.pivot_table(index="round", columns="method", values="value")
        if {"sgd", CONTROL} <= set(wide.columns):
            ratio = (wide[CONTROL] / wide["sgd"]).to_numpy()
            try:
                (low, high), coverage = median_interval(ratio, level), level
            except ValueError:  # too few rounds: the widest interval there is
                low, high, coverage = ratio.min(), ratio.max(), 1 - 2.0 ** (1 - ratio.size)
            out[_as_tuple(key)] = (float(low), float(np.median(ratio)), float(high), coverage)
    return out


def _bracketed(low: float, mid: float, high: float, digits: int) -> str:
    return f"{mid:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def _ratio(rows: pd.DataFrame, method: str, baseline: str) -> tuple[float, float, float] | None:
    """(low, median, high) of ``method``'s per-round ratio to ``baseline`` in one cell's rows
    (indexed by method); None where the run did not measure it (older run folders)."""
    column = f"relative_to_{baseline}"
    if method not in rows.index or column not in rows or np.isnan(rows.loc[method, column]):
        return None
    return tuple(float(rows.loc[method, column + end]) for end in ("_low", "", "_high"))


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    table = per_method(results)
    cells = [c for c in ("model", "batch_size", "dataset") if c in table]
    table = table.assign(gradients=table.method.map(GRADIENTS_PER_STEP),
                         microseconds_per_step=1e6 * table.seconds_per_step,
                         extra_microseconds=1e6 * table.extra_seconds,
                         extra_ns_per_parameter=1e9 * table.extra_seconds / table.num_parameters)
    shown = table[[*cells, "num_parameters", "num_leaves", "method", "gradients",
                   "microseconds_per_step", "extra_microseconds", "extra_ns_per_parameter",
                   "relative_to_sgd", "relative_to_sgd_low", "relative_to_sgd_high",
                   "relative_to_sam"]]
    verdicts, fitted, ratio_rows = [], {}, []
    num_cells = table.groupby(cells).ngroups
    family_level = 1 - 0.05 / num_cells  # Bonferroni: no false alarm in any cell w.p. >= 95 %
    family = control_intervals(results, cells, family_level)
    for key, group in table.groupby(cells, sort=False):
        label = ", ".join(f"{c}={v}" for c, v in zip(cells, np.atleast_1d(key), strict=True))
        rows = group.set_index("method")
        ratios = {name: _ratio(rows, *pair) for name, pair in RATIOS.items()}
        ratio_rows.append(dict(zip(cells, np.atleast_1d(key), strict=True))
                          | {name: _bracketed(*r, 3 if name == "control/sgd" else 2)
                             for name, r in ratios.items() if r is not None})
        f = rows.loc["fsgld"]
        if ratios["control/sgd"] is not None:
            fitted[f"control_over_sgd[{label}]"] = ratios["control/sgd"][1]
            claim = ("the timing is unbiased: the same-program control / SGD is 1 within its "
                     f"interval ({label})")
            both = family.get(_as_tuple(key))
            if both is None:  # older run folders: the per-cell 95 % interval only
                verdicts.append(_unbiased_verdict(claim, *ratios["control/sgd"],
                                                  "control / SGD"))
            else:
                verdict = _unbiased_verdict(claim, *both[:3], "control / SGD", both[3])
                low, mid, high = ratios["control/sgd"]
                verdicts.append(verdict._replace(reason=(
                    f"{verdict.reason} (Bonferroni over the {num_cells} cells); per cell at "
                    f"95 %: {_bracketed(low, mid, high, 3)}")))
        fitted[f"fsgld_over_sgd[{label}]"] = f.relative_to_sgd
        fitted[f"fsgld_over_sam[{label}]"] = f.relative_to_sam
        fitted[f"fsgld_extra_ns_per_parameter[{label}]"] = f.extra_ns_per_parameter
        with_draws = ""
        if "draws_relative_to_sgd" in f:
            fitted[f"draws_ns_per_parameter[{label}]"] = 1e9 * f.draws_seconds / f.num_parameters
            fitted[f"sgd_plus_draws_over_sgd[{label}]"] = 1 + f.draws_relative_to_sgd
            with_draws = f"; SGD plus fSGLD's draws alone: {1 + f.draws_relative_to_sgd:.2f}"
        verdict = _verdict(f"fSGLD costs about SGD per step ({label})", *ratios["fsgld/sgd"],
                           SGD_LIKE, "fSGLD / SGD")
        verdicts.append(verdict._replace(reason=verdict.reason + with_draws))
        if ratios["fsgld/sgld"] is not None and ratios["sgld/sgd"] is not None:
            fitted[f"sgld_over_sgd[{label}]"] = ratios["sgld/sgd"][1]
            fitted[f"fsgld_over_sgld[{label}]"] = ratios["fsgld/sgld"][1]
            verdict = _verdict(f"fSGLD costs about SGLD per step ({label})",
                               *ratios["fsgld/sgld"], SGD_LIKE, "fSGLD / SGLD")
            verdicts.append(verdict._replace(
                reason=f"{verdict.reason}; SGLD / SGD = {_bracketed(*ratios['sgld/sgd'], 2)}"))
        verdicts.append(_verdict(f"fSGLD costs about half of SAM per step ({label})",
                                 *ratios["fsgld/sam"], HALF_OF_SAM, "fSGLD / SAM"))
    text = ("time per step (median over rounds; relative_to_*: median per-round ratio, with "
            "its 95 % interval):\n"
            + shown.to_string(index=False, float_format=lambda v: f"{v:.3g}")
            + "\n\nLegend: num_parameters, num_leaves: the model's parameter count and arrays "
            "(1: one flat vector; more: the pytree as written); gradients: loss gradients per "
            f"step; {CONTROL}: SGD compiled a second time on its own and timed like the "
            "methods (the same program: its ratio to SGD must be 1); microseconds_per_step: "
            "median wall time of one step; extra_microseconds: "
            "median over rounds of (time - SGD's time in the same round), "
            "extra_ns_per_parameter: that per parameter (the draws' cost is per parameter, "
            "SGD's grows with the batch); relative_to_sgd: median over rounds of (time / SGD's "
            "time in the same round), _low/_high: its distribution-free 95 % interval (order "
            "statistics); relative_to_sam: the same against SAM.")
    ratio_table = pd.DataFrame(ratio_rows)
    text += ("\n\nthe ratios the verdicts read (median per-round ratio, its 95 % interval in "
             "brackets; control/sgd: the same program timed twice, 1 if the timing is unbiased; "
             "fsgld/sgld: the part of fSGLD's cost not shared with SGLD, whose step makes one of "
             "fSGLD's two Gaussian draws):\n" + ratio_table.to_string(index=False)
             + "\nVerdicts: consistent when the interval lies below the limit, inconsistent "
             "when above, inconclusive when it straddles it; limits fSGLD/SGD <= "
             f"{SGD_LIKE:g}, fSGLD/SGLD <= {SGD_LIKE:g}, fSGLD/SAM <= {HALF_OF_SAM:g}; the "
             "control is consistent when its interval contains 1; its verdicts use intervals "
             f"at {100 * family_level:.4g} % (Bonferroni over the {num_cells} cells: with "
             "unbiased timing, no cell excludes 1 with probability >= 95 %; at 95 % per cell, "
             "one cell in twenty would exclude 1 by chance).")
    if "draws_seconds" in table:
        draws = table[table.method == "sgd"].assign(
            sgd_microseconds=lambda t: 1e6 * t.seconds_per_step,
            draws_microseconds=lambda t: 1e6 * t.draws_seconds,
            draws_ns_per_parameter=lambda t: 1e9 * t.draws_seconds / t.num_parameters,
            sgd_plus_draws=lambda t: 1 + t.draws_relative_to_sgd)
        text += ("\n\nfSGLD's draws alone (per step: the Box-Muller pair over all parameters and "
                 "one update with both noises, no gradient; medians over the same rounds):\n"
                 + draws[[*cells, "num_parameters", "sgd_microseconds", "draws_microseconds",
                          "draws_ns_per_parameter", "sgd_plus_draws"]].to_string(
                              index=False, float_format=lambda v: f"{v:.3g}")
                 + "\nsgd_plus_draws = 1 + median per-round (draws / SGD): SGD's time plus the "
                 "draws' in units of SGD's, what fSGLD / SGD would be if its step added nothing "
                 "else and nothing overlapped (the draws' own update pass is counted, so fSGLD "
                 "can come out a little below it).")
    return Summary(table=text, fitted=fitted, verdicts=verdicts)


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """Time per step relative to SGD, a group of bars per (model, batch size), with the 95 %
    interval of the median per-round ratio: SGD, the same-program control (hatched; 1 if the
    timing is unbiased), then the methods, SGLD beside fSGLD; a white diamond on fSGLD's bar at
    1 + (its draws alone / SGD)."""
    table = per_method(results)
    cells = [c for c in ("model", "batch_size", "dataset") if c in table]
    groups = list(table.groupby(cells, sort=False))
    fig, ax = new_figure(1, 1, width_in=PAGE_WIDTH_IN * 0.75, aspect=0.45)
    methods = [m for m in ("sgd", CONTROL, *TIMED_METHODS[1:]) if m in set(table.method)]
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        rows = [g[g.method == method].iloc[0] for _, g in groups]
        x = np.arange(len(groups)) + (k - (len(methods) - 1) / 2) * width
        mid = np.array([r.relative_to_sgd for r in rows])
        err = np.array([[m - r.relative_to_sgd_low, r.relative_to_sgd_high - m]
                        for r, m in zip(rows, mid, strict=True)]).T
        if method == CONTROL:
            look = {"color": style_for("sgd")["color"], "label": "SGD compiled again (control)",
                    "hatch": "////", "edgecolor": "white"}
        else:
            look = {"color": style_for(method)["color"], "label": style_for(method)["label"]}
        ax.bar(x, mid, width, yerr=err, capsize=1.5, **look)
        if method == "fsgld" and "draws_relative_to_sgd" in table:
            ax.scatter(x, [1 + r.draws_relative_to_sgd for r in rows], marker="D", s=12,
                       facecolor="white", edgecolor="k", linewidth=0.8, zorder=3,
                       label="SGD + fSGLD's draws alone")
    ax.axhline(1.0, color="0.4", linestyle=":", linewidth=0.8)
    ax.axhline(SGD_LIKE, color="0.4", linestyle="--", linewidth=0.8,
               label=f"fSGLD/SGD limit {SGD_LIKE}")
    labels = ["\n".join(str(v) if c == "model" else f"{c.replace('_', ' ')} {v}"
                         for c, v in zip(cells, np.atleast_1d(key), strict=True))
              for key, _ in groups]
    ax.set_xticks(range(len(groups)), labels, fontsize="small")
    top = max(table.relative_to_sgd_high.max(), SGD_LIKE)
    ax.set(ylabel="time per step / SGD's", ylim=(0, 1.3 * top))  # room for the legend
    ax.legend(ncol=4, fontsize="x-small", loc="upper left")
    return save_figure(fig, out_dir, "time_per_step")

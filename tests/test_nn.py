"""sgldsim.nn (data, label noise, models, training) and the three NN experiments (smoke runs).

Tolerances: flip fractions within 5 binomial standard errors; exact equalities where the maths
says two computations are the same.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
import pytest
from param_checks import assert_wrong_type_is_refused

from sgldsim import nn, optim
from sgldsim.runner import (
    ConfigError,
    resolve_experiment,
    run_experiment,
)

K = nn.NUM_CLASSES


def _labels(n=20000, seed=0):
    return jnp.asarray(np.random.default_rng(seed).integers(0, K, n), jnp.int32)


@pytest.mark.parametrize("kind", nn.NOISE_KINDS)
@pytest.mark.parametrize("rate", [0.2, 0.4])
def test_flip_fraction_matches_rate(kind, rate):
    labels = _labels()
    noisy = nn.noisy_labels(jax.random.key(1), labels, kind, rate, K)
    flipped = np.asarray(noisy != labels)
    se = math.sqrt(rate * (1 - rate) / labels.size)
    assert abs(flipped.mean() - rate) < 5 * se


def test_asymmetric_noise_maps_each_class_to_the_next():
    labels = _labels()
    noisy = np.asarray(nn.noisy_labels(jax.random.key(2), labels, "asymmetric", 0.4, K))
    changed = noisy != np.asarray(labels)
    np.testing.assert_array_equal(noisy[changed], (np.asarray(labels)[changed] + 1) % K)


def test_symmetric_noise_is_uniform_over_the_other_classes():
    labels = _labels(40000)
    noisy = np.asarray(nn.noisy_labels(jax.random.key(3), labels, "symmetric", 0.5, K))
    shift = (noisy - np.asarray(labels)) % K
    shift = shift[shift != 0]
    counts = np.bincount(shift, minlength=K)[1:]
    expected = shift.size / (K - 1)
    se = math.sqrt(expected * (1 - 1 / (K - 1)))
    assert np.all(np.abs(counts - expected) < 5 * se), counts


def test_label_noise_leaves_test_labels_untouched():
    dataset = nn.load_dataset("digits", seed=0)
    noisy = nn.with_label_noise(jax.random.key(0), dataset, "symmetric", 0.4, K)
    np.testing.assert_array_equal(noisy.test.y, dataset.test.y)
    np.testing.assert_array_equal(noisy.test.x, dataset.test.x)
    for clean, dirty in ((dataset.train, noisy.train), (dataset.validation, noisy.validation)):
        n = clean.y.size
        assert abs(float(jnp.mean(clean.y != dirty.y)) - 0.4) < 5 * math.sqrt(0.24 / n)


def test_split_is_a_seeded_partition():
    x, y = nn.load_arrays("digits")
    a = nn.split_dataset(x, y, 0.15, 0.25, seed=3)
    b = nn.split_dataset(x, y, 0.15, 0.25, seed=3)
    sizes = [s.y.size for s in a]
    assert sum(sizes) == len(y) and sizes[2] == round(0.25 * len(y))
    np.testing.assert_array_equal(a.test.x, b.test.x)
    rows = np.concatenate([np.asarray(s.x).reshape(s.y.size, -1) for s in a])
    assert np.unique(rows, axis=0).shape[0] == np.unique(x.reshape(len(y), -1), axis=0).shape[0]


def test_mnist1d_is_generated_offline_and_leaves_numpy_state():
    pytest.importorskip("mnist1d")
    state = np.random.get_state()[1].copy()
    x, y = nn.load_arrays("mnist1d", num_samples=100)
    assert x.shape == (100, 40, 1) and x.dtype == np.float32 and set(np.unique(y)) <= set(range(K))
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("name,shape", [("mlp", (8, 8, 1)), ("cnn", (8, 8, 1)), ("cnn", (40, 1)),
                                        ("residual_mlp", (40, 1)), ("strided_cnn", (40, 1))])
def test_model_output_shapes_and_flat_twin(name, shape):
    model = nn.model_from_name(name, shape, K)
    x = jax.random.normal(jax.random.key(0), (5, *shape), jnp.float32)
    params = model.init(jax.random.key(1))
    logits = jax.jit(model.apply)(params, x)
    assert logits.shape == (5, K) and logits.dtype == jnp.float32
    flat = nn.flat_model(model)
    flat_params = flat.init(jax.random.key(1))
    assert flat_params.ndim == 1
    np.testing.assert_array_equal(jax.jit(flat.apply)(flat_params, x), logits)


@pytest.mark.parametrize("shape", [(7, 9, 2), (11, 3)])
def test_cnn_convolution_equals_lax_conv(shape):
    from sgldsim.nn.models import _patches

    rank = len(shape) - 1
    letters = "HW"[-rank:]
    w = jax.random.normal(jax.random.key(0), (*([3] * rank), shape[-1], 4), jnp.float32)
    x = jax.random.normal(jax.random.key(1), (2, *shape), jnp.float32)
    expected = jax.lax.conv_general_dilated(
        x, w, (1,) * rank, "SAME", dimension_numbers=(f"N{letters}C", f"{letters}IO",
                                                      f"N{letters}C"))
    np.testing.assert_allclose(_patches(x, 3) @ w.reshape(-1, 4), expected, atol=1e-5)


def test_strided_cnn_is_the_mnist1d_benchmark_convnet():
    """Each block equals lax.conv_general_dilated (stride 2, padding 1) + bias + ReLU; length 40
    gives 25 x 5 = 125 features, 5210 parameters in all."""
    model = nn.strided_cnn((40, 1), K)
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (3, 40, 1), jnp.float32)
    h = x
    for conv in params["convs"]:
        h = jax.nn.relu(jax.lax.conv_general_dilated(
            h, conv["w"], (2,), [(1, 1)], dimension_numbers=("NHC", "HIO", "NHC")) + conv["b"])
    assert h.shape == (3, 5, 25)
    expected = h.reshape(3, -1) @ params["head"]["w"] + params["head"]["b"]
    np.testing.assert_allclose(model.apply(params, x), expected, rtol=1e-4, atol=1e-5)
    assert sum(v.size for v in jax.tree.leaves(params)) == 5210


def test_residual_mlp_adds_the_second_layers_input():
    model = nn.residual_mlp((40, 1), K)
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (3, 40, 1), jnp.float32).reshape(3, -1)
    h1 = jax.nn.relu(x @ params[0]["w"] + params[0]["b"])
    h2 = jax.nn.relu(h1 @ params[1]["w"] + params[1]["b"]) + h1
    np.testing.assert_allclose(model.apply(params, x), h2 @ params[2]["w"] + params[2]["b"],
                               rtol=1e-5, atol=1e-5)
    assert sum(v.size for v in jax.tree.leaves(params)) == 15210


def test_history_and_memorisation_metrics_are_consistent(tiny):
    """The last epoch of the per-epoch history is the end-of-training accuracy; the best epoch
    is the argmax of the validation history; memorised = flipped labels predicted as flipped,
    recomputed by hand."""
    dataset, model, _ = tiny
    labels = nn.noisy_labels(jax.random.key(5), dataset.train.y, "symmetric", 0.4, K)
    method = nn.with_weight_decay(optim.sgd(0.3), 5e-4)
    validation = dataset.validation

    def evaluate(params):
        return nn.accuracy(model, params, validation), nn.accuracy(model, params, dataset.test)

    params, _, (val, test) = jax.jit(lambda k: nn.fit_with_history(
        k, method, model, nn.Split(dataset.train.x, labels), epochs=3, batch_size=128,
        evaluate=evaluate))(jax.random.key(0))
    hyper = nn.hyperparameters(np.full(1, 0.3), weight_decay=5e-4)
    _, m = nn.train_classifier_runs("langevin", model, dataset, jax.random.key(0)[None], hyper,
                                    labels[None], validation.y[None], epochs=3, batch_size=128)
    np.testing.assert_allclose(m.validation_accuracy[0], val[-1], atol=2e-3)
    np.testing.assert_allclose(m.test_accuracy[0], test[-1], atol=2e-3)
    assert int(m.best_epoch[0]) in np.flatnonzero(np.isclose(val, val.max(), atol=2e-3))
    predicted = np.argmax(model.apply(params, dataset.train.x), axis=-1)
    flipped = np.asarray(labels != dataset.train.y)
    memorised = np.mean(predicted[flipped] == np.asarray(labels)[flipped])
    np.testing.assert_allclose(m.memorized_fraction[0], memorised, atol=0.02)
    clean = np.mean(predicted == np.asarray(dataset.train.y))
    noisy = np.mean(predicted == np.asarray(labels))
    assert abs(clean - noisy) > 0.05  # the two fits differ at 40 % noise
    np.testing.assert_allclose(m.clean_train_accuracy[0], clean, atol=0.02)


def test_early_stopping_picks_the_first_best_validation_epoch():
    from sgldsim.nn.sweep import early_stopping

    val = jnp.array([0.2, 0.5, 0.7, 0.7, 0.6])
    test = jnp.array([0.1, 0.4, 0.8, 0.9, 0.3])
    best, best_val, best_test = early_stopping(val, test)
    assert int(best) == 2
    np.testing.assert_allclose([float(best_val), float(best_test)], [0.7, 0.8], rtol=1e-6)


# Every "langevin"-family training below is 4 runs of this tiny MLP on digits, for 1 epoch of
# batch 128 with weight decay 5e-4, so that all of them share one compiled program.
TINY_DATA = ("params.epochs=1", "params.batch_size=128", "params.mlp_hidden=[8]",
             "params.weight_decay=5e-4", "params.seeds=2")


@pytest.fixture(scope="module")
def tiny():
    dataset = nn.load_dataset("digits", seed=0)
    model = nn.flat_model(nn.mlp((8, 8, 1), K, (8,)))

    def train(keys, beta, sigma):
        hyper = nn.hyperparameters(np.full(4, 0.3), beta=beta, sigma=sigma, weight_decay=5e-4)
        labels = [jnp.broadcast_to(s.y, (4, s.y.size)) for s in (dataset.train,
                                                                 dataset.validation)]
        return nn.train_classifier_runs("langevin", model, dataset, keys, hyper, *labels,
                                        epochs=1, batch_size=128)

    return dataset, model, train


def test_training_is_deterministic_given_the_key(tiny):
    _, _, train = tiny
    keys = jax.random.split(jax.random.key(0), 4)
    first, metrics = train(keys, 1e4, 0.05)
    again, _ = train(keys, 1e4, 0.05)
    other, _ = train(jax.random.split(jax.random.key(1), 4), 1e4, 0.05)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    accuracies = np.asarray(metrics.test_accuracy)
    assert accuracies.shape == (4,) and np.all((accuracies >= 0) & (accuracies <= 1))


def test_fsgld_without_noise_or_perturbation_is_sgd(tiny):
    """beta = inf and sigma = 0 make fSGLD's update SGD's (the sweep's "langevin" family runs
    SGD, SGLD and RWP this way); the two compilations may round differently (float32 ulps),
    while any leftover noise would move the weights by ~1e-3."""
    dataset, model, train = tiny
    keys = jax.random.split(jax.random.key(0), 4)
    as_sgd, _ = train(keys, math.inf, 0.0)
    sgd = nn.with_weight_decay(optim.sgd(0.3), 5e-4)
    params, _ = jax.jit(lambda k: nn.fit(k, sgd, model, dataset.train, epochs=1,
                                         batch_size=128))(keys[2])
    np.testing.assert_allclose(params, as_sgd[2], rtol=0, atol=1e-6)


def _run(name, tmp_path, *overrides):
    return run_experiment(name, overrides=list(overrides), out_dir=tmp_path / name,
                          progress=False)


def test_noisy_labels_smoke(tmp_path, monkeypatch):
    from sgldsim.experiments.fsgld_networks import nn_noisy_labels

    # Drawing costs more than this tiny run; the figure code runs in the real runs.
    monkeypatch.setattr(nn_noisy_labels, "figures", lambda results, config, out_dir: [])
    two = ("params.sgd_learning_rate_factors=[0.5, 1.0]", "params.sgd_weight_decays=[0, 1e-2]",
           "params.langevin_betas=[1e4, 1e8]", "params.sam_rhos=[0.05, 0.1]",
           "params.asam_rhos=[0.5, 1.0]")
    result = _run("nn-noisy-labels", tmp_path, *TINY_DATA, "params.mlp_epochs=1",
                  "params.mlp_learning_rates=[0.3]",
                  *two, 'grid.task=["digits/mlp"]', 'grid.noise=["symmetric"]',
                  "grid.noise_rate=[0.2]", 'grid.method=["sgd","sgd_wd","sgld","rwp","fsgld"]',
                  "params.hessian_examples=32", "params.lanczos_iterations=4",
                  "params.trace_samples=2")
    runs = result.results
    chosen = runs[runs.selected.astype(bool) & (runs.measure == "test_accuracy")]
    assert len(chosen) == 5 * 2 and chosen.value.between(0, 1).all()  # 5 methods x 2 seeds
    assert set(runs.measure) >= {"validation_accuracy", "top_eigenvalue", "trace",
                                 "memorized_fraction", "test_accuracy_at_best", "best_epoch",
                                 "clean_train_accuracy"}
    # curvature: the selection overall and, for SGLD/RWP/fSGLD, within each range of beta
    curvature = runs[runs.measure == "top_eigenvalue"].groupby("method").config.nunique()
    assert curvature["sgd"] == 1 and curvature["fsgld"] in (1, 2)
    table = result.summary.table
    assert table.startswith("=== digits/mlp: 1 epochs, 2 paired seeds, weight decay 0.0005")
    for title in ("test accuracy at the end of training", "test accuracy with early stopping",
                  "differences at the end of training", "RWP at fSGLD's sigma",
                  "mechanism: flipped training labels memorised", "Legend"):
        assert title in table
    claims = [v.claim for v in result.summary.verdicts]
    assert any(c.startswith("digits/mlp: the regime: SGD fits") for c in claims)
    assert (tmp_path / "nn-noisy-labels" / "summary.txt").exists()


def test_median_interval_covers_the_median_at_its_binomial_level():
    """Order-statistic interval of the median for n = 25: exact coverage 1 - 2 P(B <= 7),
    B ~ Binomial(25, 1/2), = 0.9567; simulated over 4000 seeded samples within 5 SE."""
    import scipy.stats

    from sgldsim.experiments.fsgld_networks.nn_cost import median_interval

    rng = np.random.default_rng(0)
    hits = np.mean([lo <= 0 <= hi for lo, hi in (median_interval(rng.standard_normal(25))
                                                  for _ in range(4000))])
    exact = 1 - 2 * scipy.stats.binom.cdf(7, 25, 0.5)
    assert abs(hits - exact) < 5 * np.sqrt(exact * (1 - exact) / 4000)
    assert median_interval(np.arange(25.0)) == (7.0, 17.0)
    with pytest.raises(ValueError, match="5 rounds are too few"):
        median_interval(np.arange(5.0))


def test_a_model_can_train_longer_than_the_other_tasks(tmp_path):
    from sgldsim.experiments.fsgld_networks.nn_noisy_labels import Params

    params = Params(epochs=60, mlp_epochs=200)
    assert params.task_epochs("mlp") == 200 and params.task_epochs("residual_mlp") == 60
    with pytest.raises(ConfigError, match="mlp_epochs"):
        _run("nn-noisy-labels", tmp_path, "params.mlp_epochs=-5")
    with pytest.raises(ConfigError, match=r"params.lr_milestones: milestones=\(0.75, 0.5\) "
                                          "is not allowed"):
        _run("nn-noisy-labels", tmp_path, "params.lr_milestones=[0.75, 0.5]")
    with pytest.raises(ConfigError, match="the tuning lists .* equal lengths"):
        _run("nn-noisy-labels", tmp_path, "params.sgd_weight_decays=[1e-3]")


def test_coupling_smoke(tmp_path):
    result = _run("nn-coupling", tmp_path, *TINY_DATA, 'params.dataset="digits"',
                  'params.model="mlp"',
                  'grid.sigma_rule=["eta=0.5","eta=3"]', "grid.beta=[1e4]")
    eta = result.results[result.results.measure == "implied_eta"].value
    np.testing.assert_allclose(sorted(eta), [0.5, 3.0])
    assert len(result.summary.verdicts) == 3 and result.figures


def test_cost_smoke(tmp_path):
    result = _run("nn-cost", tmp_path, 'params.methods=["sgd","sgld","fsgld","sam"]',
                  "params.repeats=6", "params.steps_per_call=2", "params.mlp_hidden=[8]",
                  'params.dataset="digits"', 'grid.model=["mlp"]', "grid.batch_size=[16, 32]")
    rows = result.results[result.results.measure == "relative_to_sgd"]
    for _, rel in rows.groupby("batch_size"):
        rel = rel.set_index("method").value
        assert rel["sgd"] == 1.0 and np.isfinite(rel).all() and (rel > 0).all()
    # the extra time over SGD is per (model, batch): SGD's own is 0 in each cell
    extra = {k: v for k, v in result.summary.fitted.items() if k.startswith("fsgld_extra_ns")}
    assert len(extra) == 2 and all(np.isfinite(list(extra.values())))
    lines = result.summary.table.splitlines()
    column = lines[1].split().index("extra_microseconds")
    sgd_rows = [line.split() for line in lines if " sgd " in line]
    assert len(sgd_rows) == 2 and all(float(r[column]) == 0.0 for r in sgd_rows)
    assert {v.verdict for v in result.summary.verdicts} <= {"consistent", "inconsistent",
                                                            "inconclusive"}
    # the same-program control, timed and judged in each cell; fSGLD against SGLD too
    control = result.results[(result.results.method == "sgd_control")
                             & (result.results.measure == "relative_to_sgd")]
    assert len(control) == 2 and np.isfinite(control.value).all()
    claims = [v.claim for v in result.summary.verdicts]
    assert len(claims) == 8 and sum(c.startswith("the timing is unbiased") for c in claims) == 2
    assert sum(c.startswith("fSGLD costs about SGLD") for c in claims) == 2
    assert isinstance(result.results, pd.DataFrame)
    # fSGLD's draws alone, timed in the same rounds: 1 + (draws / SGD) per cell
    draws = result.results[result.results.measure == "draws_relative_to_sgd"]
    with_draws = {k: v for k, v in result.summary.fitted.items() if k.startswith("sgd_plus")}
    assert sorted(with_draws.values()) == sorted(1 + draws.value)
    about_sgd = [v for v in result.summary.verdicts if v.claim.startswith("fSGLD costs about SGD")]
    assert all("SGD plus fSGLD's draws alone" in v.reason for v in about_sgd)
    assert "sgd_plus_draws" in result.summary.table
    # results from before the draws were timed still summarise and draw
    from sgldsim.experiments.fsgld_networks import nn_cost

    older = result.results[~result.results.measure.str.startswith("draws_")
                           & ~result.results.measure.str.startswith("relative_to_sgld")
                           & (result.results.method != "sgd_control")]
    summary = nn_cost.summarize(older, result.config)
    assert "sgd_plus_draws" not in summary.table and len(summary.verdicts) == 4
    assert nn_cost.figures(older, result.config, tmp_path / "older")



# ---------------------------------------------------------------- declared parameters


def test_nn_cost_toml_gives_typed_parameters():
    config, module = resolve_experiment("nn-cost")
    p = module.PARAMS.from_config(config)
    assert p.methods == module.TIMED_METHODS and p.pytree_models == ("mlp",)
    assert p.model == ("residual_mlp", "strided_cnn", "mlp") and p.batch_size == (128, 512)
    assert p.mlp_hidden == (300, 300) and p.cnn_channels is None and p.repeats == 48
    assert p.beta == 1e4 and type(p.beta) is float and type(p.steps_per_call) is int
    assert p.widths("strided_cnn") == (25, 25, 25)


def test_nn_coupling_toml_gives_typed_parameters():
    config, module = resolve_experiment("nn-coupling")
    p = module.PARAMS.from_config(config)
    assert p.beta == (1e7, 1e8, 1e9) and all(type(b) is float for b in p.beta)
    assert p.sigma_rule[0] == "eta=-0.5" and p.sigma_rule[-1] == "sigma=0.008"
    assert (p.dataset, p.model, p.noise, p.noise_rate) == ("mnist1d", "residual_mlp",
                                                            "symmetric", 0.2)
    assert p.seeds == 5 and p.epochs == 120 and p.weight_decay == 5e-4
    assert p.lr_milestones == (0.5, 0.75) and p.lr_decay == 0.1
    assert p.residual_mlp_hidden == (100, 100) and p.mlp_hidden == (128, 128)


@pytest.mark.parametrize("name, epochs, learning_rates, noise, seeds", [
    ("nn-noisy-labels", {"residual_mlp": 120, "mlp": 150}, (0.5,), ("symmetric",), 5),
    ("nn-noisy-labels-full", {"residual_mlp": 200, "strided_cnn": 200, "mlp": 200},
     (0.2, 0.5), ("symmetric", "asymmetric"), 10),
])
def test_nn_noisy_labels_tomls_give_typed_parameters(name, epochs, learning_rates, noise,
                                                     seeds):
    """The issue's regime: >= 4 SGD configurations with weight decay among them, fSGLD betas
    from the hot range to the paper's (>= 1e7), >= 5 seeds, weight decay 5e-4 and a step
    schedule for every method, equal tuning lists."""
    config, module = resolve_experiment(name)
    p = module.PARAMS.from_config(config)
    assert p.method == module.COMPARED_METHODS and p.noise == noise and p.seeds == seeds
    assert p.noise_rate == (0.2, 0.4)
    assert {m: p.task_epochs(m) for m in epochs} == epochs
    assert p.learning_rates("mlp") == learning_rates and p.learning_rates("cnn") is None
    assert all(type(b) is float for b in p.langevin_betas) and p.langevin_betas[0] <= 1e4
    assert max(p.langevin_betas) >= 1e7 and p.weight_decay == 5e-4
    assert p.lr_milestones == (0.5, 0.75) and p.lr_decay == 0.1
    assert len({len(p.own_list(m)) for m in module.COMPARED_METHODS}) == 1
    assert len(p.sgd_learning_rate_factors) + len(p.sgd_weight_decays) >= 4
    lrs = [lr * f for lr in learning_rates for f in p.sgd_learning_rate_factors]
    assert min(lrs) <= 0.02 and max(lrs) >= 0.5


@pytest.mark.parametrize("name, key, value, expected", [
    ("nn-cost", "params.methods", ["sgd", "fsgld", "sam", "adam"], "list of 'sgd'"),
    ("nn-cost", "params.repeats", 25.5, "int"),
    ("nn-coupling", "params.seeds", "5", "int"),
    ("nn-coupling", "grid.beta", [1e4, "1e5"], "float"),
    ("nn-noisy-labels", "grid.noise", ["symmetric", "uniform"], "'symmetric' | 'asymmetric'"),
    ("nn-noisy-labels", "params.langevin_betas", 1e4, "list of float"),
])
def test_a_wrong_typed_nn_parameter_is_a_one_line_config_error(name, key, value, expected):
    assert_wrong_type_is_refused(name, key, value, expected)


def test_step_schedule_lowers_the_rate_at_its_milestones():
    """lr * 0.1^k(t): 100 steps with milestones 0.5 and 0.75 change at steps 50 and 75."""
    schedule = nn.step_schedule(0.4, 100, (0.5, 0.75), 0.1)
    rates = np.array([float(schedule(t)) for t in (0, 49, 50, 74, 75, 99)])
    np.testing.assert_allclose(rates, [0.4, 0.4, 0.04, 0.04, 0.004, 0.004], rtol=1e-6)
    assert nn.step_schedule(0.4, 100) == 0.4
    for milestones in ((0.75, 0.5), (0.0,), (1.0,)):
        with pytest.raises(ValueError, match="milestones=.* is not allowed"):
            nn.step_schedule(0.4, 100, milestones)
    with pytest.raises(ValueError, match="decay=0.0 is not allowed"):
        nn.step_schedule(0.4, 100, (0.5,), 0.0)


def test_scheduled_sweep_equals_fit_with_the_same_schedule(tiny):
    """A run of train_classifier_runs with milestones is fit_with_history with
    optax's piecewise-constant schedule at the same steps, and the per-run weight decay is
    with_weight_decay's: same final parameters up to float32 rounding."""
    dataset, model, _ = tiny
    steps = 2 * (dataset.train.y.size // 128)
    schedule = optax.piecewise_constant_schedule(0.3, {round(0.5 * steps): 0.1})
    method = nn.with_weight_decay(optim.fsgld(schedule, 1e5, sigma=0.02), 1e-3)
    params, _, _ = jax.jit(lambda k: nn.fit_with_history(
        k, method, model, dataset.train, epochs=2, batch_size=128,
        evaluate=lambda p: ()))(jax.random.key(3))
    hyper = nn.hyperparameters(np.full(1, 0.3), beta=1e5, sigma=0.02, weight_decay=1e-3)
    swept, _ = nn.train_classifier_runs(
        "langevin", model, dataset, jax.random.key(3)[None], hyper, dataset.train.y[None],
        dataset.validation.y[None], epochs=2, batch_size=128, milestones=(0.5,), decay=0.1)
    np.testing.assert_allclose(swept[0], params, rtol=1e-4, atol=1e-5)
    unscheduled, _ = nn.train_classifier_runs(
        "langevin", model, dataset, jax.random.key(3)[None], hyper, dataset.train.y[None],
        dataset.validation.y[None], epochs=2, batch_size=128)
    assert np.max(np.abs(np.asarray(unscheduled[0]) - np.asarray(params))) > 1e-3

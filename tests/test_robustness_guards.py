"""Guards of reliability round 3: every experiment states its peak memory and the runner refuses,
before any cell runs, a run that would not fit; O(N^2) work estimates its time and warns; a
trainer whose loss or parameters go non-finite stops there and reports the step."""

from __future__ import annotations

import importlib
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from test_cli import assert_one_line_error, cli

from sgldsim import _memory, _warnings, nn, optim, pinn
from sgldsim.distances import ksd_difference, ksd_with_info, wasserstein
from sgldsim.distances.stein import ksd_seconds
from sgldsim.runner import (
    ConfigError,
    experiment_files,
    load_experiment,
    resolve_experiment,
    run_experiment,
)
from sgldsim.runner.run import ChunkTask, check_experiment_memory, experiment_memory

AVAILABLE = 16 * 10**9  # bytes the oversized runs are refused against (whatever the machine has)
SHIPPED = {path.stem: path for path in experiment_files()}

OVERSIZED = {  # per shipped experiment, the parameter that drives its memory, far too large
    "convergence": ["params.n_particles=2000000000"],
    "coupling": [],  # its grids are set by gibbs_1d's resolution: refused against 10 MB below
    "demo-quadratic": ["params.n_particles=1000000000000"],
    "dgsam-domains": ["params.trials=1000000"],
    "dgsam-domains-large": ["params.trials=1000000"],
    "dgsam-toy": ["params.n_starts=1000000000"],
    "dimension": ["params.particle_dims=[10000000]"],
    "excess-risk": ["params.n_particles=2000000000"],
    "flatness": ["params.n_particles=1000000000"],
    "nn-cost": ["params.mlp_hidden=[1000000, 1000000]"],
    "nn-coupling": ["params.seeds=10000000"],
    "nn-noisy-labels": ["params.seeds=10000000"],
    "nn-noisy-labels-full": ["params.seeds=10000000"],
    "perturbation-noise": ["grid.step_size=[1e-14]"],
    "pinn-dcgd": ["params.n_residual=1000000000"],
    "pinn-dcgd-paper": ["params.n_residual=1000000000"],
    "pinn-dcgd-table": ["params.n_residual=1000000000"],
    "step-size-rate": ["params.n_particles=2000000000"],
}


@pytest.fixture
def fixed_memory(monkeypatch):
    """Host and device report ``AVAILABLE`` free bytes; no cell may run."""
    def available(amount=AVAILABLE):
        monkeypatch.setattr(_memory, "host_available_bytes", lambda: amount)
        monkeypatch.setattr(_memory, "device_available_bytes", lambda: amount)

    def no_cells(self, cells):
        raise AssertionError(f"a cell of {self.config.name} ran before the memory check")

    monkeypatch.setattr(ChunkTask, "__call__", no_cells)
    available()
    return available


# --- A. one memory estimator for every experiment ---------------------------------------------


def test_every_shipped_experiment_module_states_its_peak_memory():
    modules = {load_experiment(path).module for path in SHIPPED.values()}
    modules |= {f"sgldsim.experiments.{package}.{name}" for package, names in (
        ("fsgld_theory", ("convergence", "coupling", "demo_quadratic", "dimension",
                          "excess_risk", "flatness", "perturbation_noise", "step_size_rate")),
        ("fsgld_networks", ("nn_coupling", "nn_cost", "nn_noisy_labels")),
        ("dgsam", ("dgsam_domains", "dgsam_toy")), ("dcgd", ("pinn_dcgd",))) for name in names}
    lacking = [m for m in sorted(modules)
               if not callable(getattr(importlib.import_module(m), "peak_memory", None))]
    assert not lacking, f"experiment modules without peak_memory(config, cells): {lacking}"
    assert set(OVERSIZED) == set(SHIPPED), "give every shipped experiment an oversized setting"


GPU_SIZED = ("nn-noisy-labels-full", "pinn-dcgd-paper")  # for a GPU or a cluster


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_estimates_fit_and_their_oversized_settings_do_not(name):
    config, module = resolve_experiment(name)  # resolving checks no memory: runs do
    estimate = check_experiment_memory(config, module, available=10**11 if name in GPU_SIZED
                                       else AVAILABLE)
    assert 0 < estimate.needed < 10**11 and math.isfinite(estimate.needed)
    assert estimate.what and estimate.hint.startswith(("lower", "raise", "the exact"))
    if OVERSIZED[name]:
        big, _ = resolve_experiment(name, OVERSIZED[name])
        with pytest.raises(ConfigError, match=rf"^{name}: .* needs about .* of memory but 100 GB "
                                              r"are available: "):
            check_experiment_memory(big, module, available=10**11)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_an_oversized_run_is_refused_in_one_line_before_any_cell(name, fixed_memory, capsys,
                                                                 tmp_path):
    if not OVERSIZED[name]:
        fixed_memory(10**7)  # coupling: nothing sets its grids, so a machine with 10 MB free
    overrides = [arg for item in OVERSIZED[name] for arg in ("--set", item)]
    status, out, err = cli(capsys, "run", name, *overrides, "--out", tmp_path / "r")
    shown = "16 GB" if OVERSIZED[name] else "10 MB"
    assert_one_line_error(status, out, err, f"sgldsim: error: {name}: ", " needs about ",
                          f" of memory but {shown} are available: ")
    assert not (tmp_path / "r").exists()


def test_the_refusal_names_the_computation_and_what_to_lower(fixed_memory, capsys, tmp_path):
    status, out, err = cli(capsys, "run", "dimension", "--set", "params.particle_dims=[1000000]",
                           "--out", tmp_path / "r")
    assert_one_line_error(status, out, err)
    assert err == ("sgldsim: error: dimension: particles: n_particles = 1000 x d = 1000000 needs "
                   "about 64 GB of memory but 16 GB are available: lower params.n_particles or "
                   "the largest of params.particle_dims / params.ksd_dims\n")


def test_run_experiment_raises_the_config_error_before_writing_anything(fixed_memory, tmp_path):
    with pytest.raises(ConfigError, match=r"pinn-dcgd: helmholtz2d: 45 runs .* n_residual = "
                                          r"1000000000 .* needs about [\d.]+ TB of memory"):
        run_experiment("pinn-dcgd", ["params.n_residual=1000000000"], out_dir=tmp_path / "r",
                       progress=False)
    assert not (tmp_path / "r").exists()


def test_the_largest_chunk_sets_the_estimate():
    # dimension's cells run one at a time: a particle cell at d = 1e5 dominates every other
    config, module = resolve_experiment("dimension", ["params.particle_dims=[3, 100000]"])
    estimate = experiment_memory(config, module)
    assert estimate.what == "particles: n_particles = 1000 x d = 100000"
    small, _ = resolve_experiment("dimension")
    assert experiment_memory(small, module).needed < estimate.needed / 10


def test_particle_estimates_scale_with_particles_records_and_cells():
    base, module = resolve_experiment("convergence", ["params.n_particles=1000"])
    doubled, _ = resolve_experiment("convergence", ["params.n_particles=2000"])
    fewer, _ = resolve_experiment("convergence", ["params.n_particles=1000", "chunk_size=1"])
    one = experiment_memory(base, module).needed
    assert experiment_memory(doubled, module).needed == pytest.approx(2 * one)
    assert experiment_memory(fewer, module).needed == pytest.approx(one / 4)  # 4 step sizes


def test_network_estimates_follow_widths_and_runs():
    config, module = resolve_experiment("nn-coupling")
    wide, _ = resolve_experiment("nn-coupling", ["params.residual_mlp_hidden=[400, 400]"])
    more, _ = resolve_experiment("nn-coupling", ["params.seeds=10"])
    base = experiment_memory(config, module).needed
    assert experiment_memory(wide, module).needed > 2 * base
    assert experiment_memory(more, module).needed == pytest.approx(2 * base, rel=0.05)


# --- A. O(N^2) work estimates its time ----------------------------------------------------------


def test_ksd_time_estimate_grows_as_n_squared_d():
    assert ksd_seconds(2000, 100) == pytest.approx(4 * ksd_seconds(1000, 100), rel=0.5)
    assert ksd_seconds(1000, 10_000) > 5 * ksd_seconds(1000, 1000)
    if jax.default_backend() == "cpu":  # the case: ETA of seconds, then an hour
        assert ksd_seconds(1000, 100_000) > 60 > 10 * ksd_seconds(1000, 100)


def test_ksd_warns_before_a_long_sum(monkeypatch):
    x = np.random.default_rng(0).normal(size=(50, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # small: silent
        ksd_with_info(x, -x)
    monkeypatch.setattr(_warnings, "SLOW_SECONDS", 0.0)
    with pytest.warns(_warnings.SlowComputationWarning,
                      match=r"^ksd of N = 50 particles in d = 3 \(.* will take about .* "
                            r"\(estimated\); it is O\(N\^2 d\)") as record:
        ksd_with_info(x, -x, statistic="u")
    assert record[0].filename == __file__
    with pytest.warns(UserWarning, match=r"^ksd_difference of N = 50 particles in d = 3"):
        ksd_difference(x, -x, -0.9 * x)
    with pytest.warns(UserWarning, match=r"exact OT between clouds of 50 and 50 particles will "
                                         r"take about"):
        wasserstein(x, x + 1.0, 2)


def test_dimension_warns_about_its_ksd_part_before_any_work():
    with pytest.warns(_warnings.SlowComputationWarning,
                      match=r"dimension: the KSD part \(2 cells, n_particles = 1000, d up to "
                            r"100000\) will take about [\d.]+ (min|h)"):
        resolve_experiment("dimension", ["params.ksd_dims=[100000]"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", _warnings.SlowComputationWarning)
        resolve_experiment("dimension")


# --- B. non-finite training is never silent ------------------------------------------------------


def bomb(step: int, learning_rate: float = 0.05):
    """SGD whose learning rate is inf at step ``step`` (counting from 1): that step's
    parameters are non-finite, every earlier one is an ordinary step."""
    return optim.sgd(lambda count: jnp.where(count == step - 1, jnp.inf, learning_rate))


@pytest.fixture(scope="module")
def digits():
    data = nn.load_dataset("digits", seed=0)
    train = nn.Split(data.train.x[:64], data.train.y[:64])
    return nn.flat_model(nn.mlp(train.x.shape[1:], nn.NUM_CLASSES, (8,))), train


def test_fit_stops_at_the_first_non_finite_step_and_names_it(digits):
    model, train = digits  # batch = all 64 examples: one step per epoch, step k = epoch k
    with pytest.warns(RuntimeWarning, match=r"^training diverged at step 4: the loss or the "
                                            r"parameters became NaN or inf; training stopped"
                      ) as record:
        params, losses, info = nn.fit(jax.random.key(0), bomb(4), model, train, epochs=7,
                                      batch_size=64, return_info=True)
    assert record[0].filename == __file__
    assert int(info.diverged_at) == 4
    reference, reference_losses = nn.fit(jax.random.key(0), bomb(100), model, train, epochs=3,
                                         batch_size=64)
    assert np.all(np.isfinite(params))
    np.testing.assert_array_equal(params, reference)  # a run stopped just before step 4
    np.testing.assert_array_equal(losses[:3], reference_losses)
    assert np.all(np.isnan(losses[3:]))


def test_fit_keeps_its_signature_and_stays_silent_when_finite(digits):
    model, train = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = nn.fit(jax.random.key(0), optim.sgd(0.05), model, train, epochs=2, batch_size=32)
        history = nn.fit_with_history(jax.random.key(0), optim.sgd(0.05), model, train,
                                      epochs=2, batch_size=32, evaluate=lambda p: ())
    assert len(out) == 2 and len(history) == 3 and np.all(np.isfinite(out[1]))
    info = nn.fit(jax.random.key(0), optim.sgd(0.05), model, train, epochs=2, batch_size=32,
                  return_info=True)[2]
    assert int(info.diverged_at) == -1


def test_jitted_fit_reports_the_step_when_it_runs(digits):
    model, train = digits
    run = jax.jit(lambda k: nn.fit(k, bomb(3), model, train, epochs=5, batch_size=64))
    with pytest.warns(RuntimeWarning, match=r"^training diverged at step 3:"):
        params, losses = run(jax.random.key(0))
        jax.effects_barrier()
    assert np.all(np.isfinite(params)) and np.isnan(losses[2]) and np.isfinite(losses[1])


def test_the_first_bad_step_of_each_run_survives_vmap(digits):
    model, train = digits

    def one(step):
        return nn.fit(jax.random.key(0), bomb(step), model, train, epochs=6, batch_size=64,
                      return_info=True, warn=False)

    params, losses, info = jax.jit(jax.vmap(one))(jnp.array([2, 5, 100]))
    np.testing.assert_array_equal(info.diverged_at, [2, 5, -1])
    assert np.all(np.isfinite(params))
    np.testing.assert_array_equal(np.isnan(losses), [[False] + [True] * 5,
                                                     [False] * 4 + [True] * 2, [False] * 6])
    np.testing.assert_array_equal(params[1], nn.fit(jax.random.key(0), bomb(100), model, train,
                                                    epochs=4, batch_size=64)[0])


def test_classifier_sweep_records_and_names_each_diverged_run(digits, monkeypatch):
    from sgldsim.nn import sweep

    model, train = digits
    dataset = nn.Dataset(train, train, train)
    # the runs' rho carries the step their learning rate becomes inf (a traced value per run)
    monkeypatch.setattr(sweep, "build_method", lambda family, hyper, asam_eta, learning_rate=None:
                        optim.sgd(lambda count: jnp.where(count == hyper.rho - 1, jnp.inf,
                                                          hyper.learning_rate)))
    sweep._program.cache_clear()
    hyper = nn.hyperparameters(jnp.full(3, 0.05), rho=jnp.array([3.0, 1e9, 1.0]))
    labels = jnp.stack([train.y] * 3)
    with pytest.warns(RuntimeWarning, match=r"^langevin training diverged at step 3 \(run a\), "
                                            r"step 1 \(run c\): the loss"):
        _, metrics = nn.train_classifier_runs(
            "langevin", model, dataset, jax.random.split(jax.random.key(0), 3), hyper, labels,
            labels, epochs=4, batch_size=64, labels=["run a", "run b", "run c"])
    sweep._program.cache_clear()
    np.testing.assert_array_equal(metrics.diverged_at, [3, -1, 1])
    assert np.isnan(metrics.final_loss[0]) and np.isfinite(metrics.final_loss[1])


def test_fit_domains_stops_at_the_first_non_finite_step():
    domains = nn.split_domains(nn.load_domains("rotated_digits")).train
    train = nn.Split(domains.x[:3, :32], domains.y[:3, :32])
    model = nn.flat_model(nn.mlp(train.x.shape[2:], nn.NUM_CLASSES, (8,)))
    erm = optim.domain_method("erm", 0.01)
    bombed = optim.domain_method("erm", lambda c: jnp.where(c == 2, jnp.inf, 0.01))  # step 3
    with pytest.warns(RuntimeWarning, match=r"^domain training diverged at step 3:"):
        params, losses, info = nn.fit_domains(jax.random.key(1), bombed, model, train, epochs=5,
                                              batch_size=32, return_info=True)
    assert int(info.diverged_at) == 3 and np.isnan(losses[2:]).all()
    reference, _ = nn.fit_domains(jax.random.key(1), erm, model, train, epochs=2, batch_size=32)
    np.testing.assert_array_equal(params, reference)
    # the reproducer, DGSAM with rho = 1e30, is refused when the method is built
    with pytest.raises(ValueError, match=r"rho=1e\+30 is not allowed"):
        optim.dgsam(0.1, 1e30)


def test_pinn_runs_stop_at_the_first_non_finite_step(monkeypatch):
    problem = pinn.problem("helmholtz2d")
    keys = jnp.stack([jax.random.key(0), jax.random.key(1)])
    options = dict(hidden=(8,), block_steps=1, n_residual=16, n_boundary=4, ntk_points=4)
    real_adam = optax.adam
    monkeypatch.setattr(optax, "adam", lambda schedule: real_adam(
        lambda count: jnp.where(count == 3, jnp.inf, schedule(count))))  # step 4
    with pytest.warns(RuntimeWarning, match=r"^helmholtz2d training diverged at step 4 \(run 0: "
                                            r"adam\), step 4 \(run 1: ntk\): the loss"):
        runs = pinn.train_pinn_runs(problem, ["adam", "ntk"], keys, steps=6, **options)
    monkeypatch.setattr(optax, "adam", real_adam)
    reference = pinn.train_pinn_runs(problem, ["adam", "ntk"], keys, steps=3, **options)
    np.testing.assert_array_equal(runs.diverged_at, [4, 4])
    np.testing.assert_array_equal(reference.diverged_at, [-1, -1])
    assert np.all(np.isfinite(runs.final_params))
    np.testing.assert_array_equal(runs.final_params, reference.final_params)
    np.testing.assert_array_equal(runs.block_loss[:, :3], reference.block_loss)
    assert np.isnan(runs.block_loss[:, 3:]).all()
    assert np.all(runs.best_step < 3) and math.isfinite(float(runs.rel_l2_final[0]))

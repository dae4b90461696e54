"""Particle dynamics against closed forms (docs/theory.md §1, §5).

Statistical checks compare a particle average with its exact value within 5 standard errors;
particles are independent across N at a fixed step, so SE = (std of the summand) / sqrt(N).
On u = (a/2)|x|^2 every chain of the family is Gaussian: from x0 = 0 the per-coordinate
variance after k steps is V (1 - rho^(2k)), rho = 1 - lam a, with the fSGLD stationary variance
V = (lam a^2 sigma^2 + 2/beta) / (a (2 - lam a)) (SGLD: sigma = 0; SGD with additive gradient
noise of scale s: V = lam s^2 / (a (2 - lam a))).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.extend.random import threefry_2x32
from scipy import stats

import sgldsim
from sgldsim import (
    AdditiveGradientNoise,
    Quadratic,
    fsgld_sampler,
    gd_sampler,
    rwp_sampler,
    sgd_sampler,
    sgld_sampler,
    simulate,
)
from sgldsim._precision import enable_x64
from sgldsim.dynamics import SamplerParams, draw_noise, init, positions, step, threefry2x32

KEY = jax.random.key(20260401)
Z = 5.0  # standard errors allowed


def fsgld_variance(lam, beta, sigma, a, k=None):
    """Per-coordinate variance of fSGLD on (a/2) x^2 after k steps from 0 (k=None: the limit)."""
    v = (lam * a**2 * sigma**2 + 2.0 / beta) / (a * (2.0 - lam * a))
    return v if k is None else v * (1.0 - (1.0 - lam * a) ** (2 * k))


def assert_second_moment(samples, variance, axis=-2):
    """mean(x^2) over the particle axis equals ``variance`` within Z SE (Gaussian, mean 0)."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[axis]
    estimate = np.mean(samples**2, axis=axis)
    se = np.sqrt(2.0) * variance / np.sqrt(n)
    np.testing.assert_array_less(np.abs(estimate - variance), Z * se)


# --- random numbers ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key, counter, expected",
    [  # Random123 known-answer vectors for threefry2x32_20
        ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ],
)
def test_threefry_known_answers(key, counter, expected):
    k = tuple(jnp.uint32(v) for v in key)
    out = threefry2x32(k, jnp.uint32(counter[0]), jnp.uint32(counter[1]))
    assert tuple(int(v) for v in out) == expected


def test_threefry_matches_jax_on_random_counters():
    rng = np.random.default_rng(1)
    key = rng.integers(0, 2**32, 2, dtype=np.uint32)
    x = rng.integers(0, 2**32, (2, 1000), dtype=np.uint32)
    words = (jnp.uint32(key[0]), jnp.uint32(key[1]))
    ours = threefry2x32(words, jnp.asarray(x[0]), jnp.asarray(x[1]))
    ref = threefry_2x32(jnp.asarray(key), jnp.asarray(x.reshape(-1)))
    np.testing.assert_array_equal(np.concatenate([np.asarray(o) for o in ours]), np.asarray(ref))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_draw_noise_is_standard_normal_and_independent(dtype):
    with enable_x64(dtype == jnp.float64):  # a building block: simulate enables x64 itself
        noise = draw_noise(KEY, (2, 4, 25_000), dtype)
    a, b = (np.asarray(v, dtype=float).reshape(2, -1) for v in noise)
    assert noise.perturbation.dtype == dtype and noise.langevin.dtype == dtype
    n = a.shape[1]
    for z in (*a, *b):  # each cell and stream: N(0, 1)
        assert abs(z.mean()) < Z / np.sqrt(n)
        assert abs(np.mean(z**2) - 1.0) < Z * np.sqrt(2.0 / n)
        assert stats.kstest(z, "norm").pvalue > 1e-6
    for x, y in ((a[0], b[0]), (a[0], a[1]), (b[0], b[1])):  # streams and cells uncorrelated
        assert abs(np.mean(x * y)) < Z / np.sqrt(n)


# --- stationary laws on quadratics -------------------------------------------------------------
@pytest.mark.parametrize(
    "sampler, dtype",
    [(fsgld_sampler(0.2, 5.0, 0.7), "float32"), (sgld_sampler(0.2, 5.0), "float32"),
     (fsgld_sampler(0.2, 5.0, 0.7), "float64")],
)
def test_stationary_variance_per_coordinate(sampler, dtype):
    a = np.array([0.5, 1.0, 2.0])
    n_steps = 300  # (1 - lam a_min)^(2k) = 0.9^600: the transient factor is kept anyway
    run = simulate(KEY, Quadratic(a, dim=3), sampler, np.zeros((20_000, 3)), n_steps, dtype=dtype)
    assert run.particles.dtype == np.dtype(dtype)
    assert run.particles.shape == (2, 20_000, 3)
    expected = fsgld_variance(sampler.step_size, sampler.beta, sampler.sigma, a, n_steps)
    assert_second_moment(run.particles[-1], expected)


def test_cell_grid_gives_each_cell_its_variance():
    lam = np.array([[0.05], [0.2], [0.5]])
    sigma = np.array([[0.0, 1.0]])
    sampler = fsgld_sampler(lam, 2.0, sigma)
    n_steps = 400
    run = simulate(KEY, Quadratic(1.0, dim=1), sampler, np.zeros((10_000, 1)), n_steps,
                   record_every=200)
    assert run.particles.shape == (3, 2, 3, 10_000, 1)
    np.testing.assert_array_equal(run.steps, [0, 200, 400])
    expected = fsgld_variance(lam, 2.0, sigma, 1.0, n_steps)  # (3, 2)
    assert_second_moment(run.particles[..., -1, :, 0], expected, axis=-1)
    assert np.all(run.diverged_at == -1) and run.diverged_at.shape == (3, 2)


def test_sgd_with_gradient_noise_has_closed_form_variance():
    lam, a, s, n_steps = 0.1, 1.0, 2.0, 300
    potential = AdditiveGradientNoise(Quadratic(a, dim=2), noise_scale=s)
    run = simulate(KEY, potential, sgd_sampler(lam), np.zeros((20_000, 2)), n_steps)
    expected = lam * s**2 / (a * (2 - lam * a)) * (1 - (1 - lam * a) ** (2 * n_steps))
    assert_second_moment(run.particles[-1], expected)


# --- deterministic and mean dynamics -----------------------------------------------------------
@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-5), ("float64", 1e-12)])
def test_gd_matches_closed_form(dtype, rtol):
    a, lam = np.array([0.5, 1.5]), 0.3
    x0 = np.random.default_rng(2).normal(size=(5, 2))
    run = simulate(KEY, Quadratic(a, dim=2), gd_sampler(lam), x0, 50, record_every=7, dtype=dtype)
    k = run.steps[:, None, None]
    np.testing.assert_allclose(run.particles, (1 - lam * a) ** k * x0, rtol=rtol, atol=0)


def test_rwp_mean_contracts_at_gd_rate():
    lam, a, n = 0.1, 2.0, 20_000
    run = simulate(KEY, Quadratic(a, dim=1), rwp_sampler(lam, 0.5), np.ones((n, 1)), 20,
                   record_at=[0, 5, 10, 20])
    x = np.asarray(run.particles[..., 0], dtype=float)
    se = x.std(axis=-1) / np.sqrt(n)
    np.testing.assert_array_less(np.abs(x.mean(axis=-1) - (1 - lam * a) ** run.steps),
                                 Z * se + 1e-6)


def test_schedule_equal_to_constant_gives_identical_particles():
    args = (KEY, Quadratic(1.0, dim=2), None, np.zeros((1000, 2)), 30)
    const = simulate(*args[:2], fsgld_sampler(0.1, 3.0, 0.5), *args[3:])
    sched = simulate(*args[:2], fsgld_sampler(optax.constant_schedule(0.1), 3.0, 0.5), *args[3:])
    np.testing.assert_array_equal(sched.particles, const.particles)


def test_decaying_schedule_gd_matches_product_formula():
    schedule = optax.exponential_decay(0.5, transition_steps=10, decay_rate=0.3)
    x0 = np.array([[1.0], [-2.0]])
    run = simulate(KEY, Quadratic(1.0, dim=1), gd_sampler(schedule), x0, 40, record_every=10,
                   dtype="float64")
    lam = np.asarray(schedule(np.arange(40)), dtype=float)
    factors = np.concatenate([[1.0], np.cumprod(1 - lam)])[run.steps]
    np.testing.assert_allclose(run.particles[..., 0], factors[:, None] * x0[:, 0], rtol=1e-6)


# --- reproducibility and building blocks -------------------------------------------------------
def test_same_key_same_particles_and_recording_does_not_change_draws():
    args = (Quadratic(1.0, dim=2), fsgld_sampler(0.1, 3.0, 0.5), np.zeros((500, 2)), 20)
    first = simulate(KEY, *args, record_every=4)
    again = simulate(KEY, *args, record_every=4)
    final_only = simulate(KEY, *args, record_at=[20])
    other = simulate(jax.random.key(7), *args, record_every=4)
    np.testing.assert_array_equal(first.particles, again.particles)
    np.testing.assert_array_equal(first.particles[-1], final_only.particles[-1])
    assert not np.allclose(first.particles[-1], other.particles[-1])


def test_simulate_equals_a_loop_of_step():
    potential, n_steps = Quadratic(np.array([0.5, 2.0]), dim=2), 5
    x0 = np.random.default_rng(3).normal(size=(100, 2)).astype(np.float32)
    run = simulate(KEY, potential, fsgld_sampler(0.1, 3.0, 0.5), x0, n_steps, record_at=[n_steps])
    params = SamplerParams(np.float32(0.1), np.float32(3.0), np.float32(0.5))
    state, one_step = init(x0), jax.jit(step)
    for k in range(n_steps):
        state, info = one_step(jax.random.fold_in(KEY, k), state, potential, params)
    assert int(state.step) == n_steps and bool(info.finite)
    np.testing.assert_allclose(positions(state), run.particles[-1], rtol=1e-5, atol=1e-6)


# --- divergence --------------------------------------------------------------------------------
def test_divergence_reports_first_bad_step_and_keeps_earlier_snapshots():
    # GD with lam a = 3 on a = 1: x_k = (-2)^k overflows float32 at the first k with
    # 2^k > float32 max, i.e. k = 128; the stable cell (lam a = 0.5) never diverges.
    overflow_step = int(np.ceil(np.log2(float(np.finfo(np.float32).max))))
    sampler = gd_sampler(np.array([0.5, 3.0]))
    with pytest.warns(RuntimeWarning, match=rf"diverged at step {overflow_step} \(cell \(1,\)\)"):
        run = simulate(KEY, Quadratic(1.0, dim=1), sampler, np.ones((3, 1)), 200,
                       record_every=10)
    np.testing.assert_array_equal(run.diverged_at, [-1, overflow_step])
    before = run.steps < overflow_step
    np.testing.assert_array_equal(run.particles[1, before, :, 0],
                                  np.repeat(((-2.0) ** run.steps[before])[:, None], 3, axis=1))
    assert not np.any(np.isfinite(run.particles[1, ~before]))
    assert np.all(np.isfinite(run.particles[0]))
    run64 = simulate(KEY, Quadratic(1.0, dim=1), sampler, np.ones((3, 1)), 200, dtype="float64")
    assert np.all(run64.diverged_at == -1)


# --- input validation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, match",
    [
        ({"n_steps": 0}, "n_steps=0"),
        ({"n_steps": 2.5}, "n_steps=2.5"),
        ({"record_every": 0}, "record_every=0"),
        ({"record_at": [0, 11]}, r"record_at=\[0, 11\].*\[0, n_steps=10\]"),
        ({"record_at": [5, 2]}, "strictly increasing"),
        ({"record_every": 2, "record_at": [1]}, "both given"),
        ({"x0": np.zeros((4, 3))}, r"shape \(4, 3\).*last axis must have length 2"),
        ({"x0": np.zeros(2)}, r"x0 has shape \(2,\)"),
        ({"x0": np.zeros((5, 4, 2))}, r"leading axes \(5,\).*cell shape \(3,\)"),
        ({"x0": np.full((4, 2), np.nan)}, "NaN or inf"),
        ({"dtype": "float16"}, "unknown dtype 'float16'"),
        ({"sampler": "sgld"}, "sampler='sgld'"),
    ],
)
def test_bad_inputs_raise_naming_the_value(change, match):
    kwargs = {"key": KEY, "potential": Quadratic(1.0, dim=2),
              "sampler": sgld_sampler([0.1, 0.2, 0.3], 1.0), "x0": np.zeros((4, 2)),
              "n_steps": 10} | change
    with pytest.raises(ValueError, match=match):
        simulate(**kwargs)


def test_x0_may_carry_the_cell_axes():
    x0 = np.stack([np.full((4, 1), v) for v in (1.0, 2.0)])  # (2 cells, 4 particles, d = 1)
    run = simulate(KEY, Quadratic(1.0, dim=1), gd_sampler(np.array([0.1, 0.5])), x0, 3,
                   record_at=[3])
    expected = np.array([1.0 * 0.9**3, 2.0 * 0.5**3])
    np.testing.assert_allclose(run.particles[:, 0, :, 0], expected[:, None] * np.ones(4),
                               rtol=1e-6)


def test_public_api_is_exported():
    for name in ("simulate", "SimulationResult", "sgld_sampler", "fsgld_sampler", "rwp_sampler",
                 "gd_sampler", "sgd_sampler"):
        assert name in sgldsim.__all__ and hasattr(sgldsim, name)
    for name in ("sgld", "fsgld", "rwp", "gd", "sgd"):  # optimisers live in sgldsim.optim only
        assert not hasattr(sgldsim, name)
    for name in ("init", "step", "update", "draw_noise", "ParticleState", "StepInfo",
                 "SamplerParams", "positions"):  # building blocks stay in their subpackage
        assert name in sgldsim.dynamics.__all__ and not hasattr(sgldsim, name)

"""Importing sgldsim changes nothing in JAX's configuration; float64 is scoped to the package's
own exact computations, which still return float64; optimisers keep the user's dtype."""

import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import sgldsim as sg
from sgldsim import optim as so
from sgldsim._precision import enable_x64

ROOT = Path(__file__).resolve().parents[1]


def test_import_leaves_float32_default_in_a_fresh_process():
    code = textwrap.dedent("""
        import jax, jax.numpy as jnp
        import sgldsim
        from sgldsim import optim
        import sgldsim.cli
        print(jnp.zeros(1).dtype, jax.config.jax_enable_x64, jnp.arange(3).dtype)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
                                        "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", "False", "int32"]


def test_float64_entry_points_restore_the_callers_precision():
    u = sg.GaussianWells(centers=[[-1.0], [1.2]], depths=[1.0, 0.7], widths=[0.4, 0.5],
                         confinement=0.5)
    sg.Gibbs(u, 5.0)
    with pytest.raises(ValueError, match="beta"):  # restored on error too
        sg.Gibbs(u, -1.0)
    assert not jax.config.jax_enable_x64
    assert jnp.zeros(1).dtype == jnp.float32


def test_exact_measure_is_float64_without_global_x64():
    """The quadrature measure of a potential built outside x64 equals the one of a potential
    built inside it: the parameters keep float64 precision (1 / 0.3 rounded to float32 would
    move the variance by 2.4e-8 relative)."""
    assert not jax.config.jax_enable_x64
    curvature = 1.0 / 0.3
    m = sg.Gibbs(sg.Quadratic(curvature), beta=1.0)
    with enable_x64(True):
        reference = sg.Gibbs(sg.Quadratic(curvature), beta=1.0)
    assert isinstance(m.edges, np.ndarray) and m.edges.dtype == np.float64
    np.testing.assert_allclose(m.var, reference.var, rtol=1e-14)
    np.testing.assert_allclose(m.var, 0.3, rtol=1e-7)  # the closed form, to the grid's error
    draws = m.sample(jax.random.key(0), 4)
    assert isinstance(draws, np.ndarray) and draws.dtype == np.float64


def test_float64_simulation_returns_float64_numpy_and_float32_stays_float32():
    u = sg.Quadratic(2.0)
    x0 = np.full((8, 1), 1.0 / 3.0)
    for dtype in ("float32", "float64"):
        run = sg.simulate(jax.random.key(1), u, sg.gd_sampler(0.1), x0, n_steps=3, dtype=dtype)
        assert isinstance(run.particles, np.ndarray) and run.particles.dtype == np.dtype(dtype)
        # gradient descent on a quadratic: x_k = (1 - lam a)^k x_0, exact to the dtype's rounding
        exact = (1 - 0.1 * 2.0) ** 3 / 3.0
        eps = np.finfo(dtype).eps
        np.testing.assert_allclose(run.particles[-1], exact, rtol=10 * eps, atol=0)


def test_wasserstein_of_float64_inputs_resolves_below_float32_rounding():
    a = np.linspace(0.0, 1.0, 101)
    shift = 1e-9  # invisible in float32 (eps ~ 1e-7), exact in float64
    np.testing.assert_allclose(sg.wasserstein(a, a + shift, p=1), shift, rtol=1e-6)


def test_potential_evaluates_in_the_precision_of_its_input():
    u = sg.GaussianWells(centers=[[0.1]], depths=[1.0], widths=[0.3], confinement=1.0)
    assert u.value(np.float32([[0.2]])).dtype == jnp.float32
    with enable_x64(True):
        x = np.array([[0.2]])
        exact = 0.5 * 0.04 - np.exp(-0.5 * 0.01 / 0.09)
        assert u.value(x).dtype == jnp.float64
        np.testing.assert_allclose(u.value(x), exact, rtol=1e-15)


def float32_params():
    return {"w": jnp.array([0.4, -1.2, 0.7], jnp.float32), "b": jnp.array([0.1], jnp.float32)}


def loss(params, batch):
    return jnp.sum((params["w"] - batch) ** 2) + jnp.sum(params["b"] ** 4) + jnp.sum(
        params["w"] ** 3)


@pytest.mark.parametrize("name, hyper, enable64", [
    ("sgld", dict(beta=100.0), True), ("asam", dict(rho=0.05), True),
    ("fsgld", dict(beta=1e4, num_draws=2, antithetic=True), True),
    ("sgd", dict(momentum=0.9), False),
])
def test_optimisers_keep_float32_parameters_float32(name, hyper, enable64):
    """Also with JAX's 64-bit mode on and float64 (NumPy) hyperparameters, which would promote
    an unguarded ``params + scale * direction`` (the perturbation, SAM's ascent, the noise)."""
    hyper = {k: np.float64(v) if isinstance(v, float) else v for k, v in hyper.items()}
    with enable_x64(enable64):
        method = so.method_from_name(name, learning_rate=np.float64(0.01), **hyper)
        params, state = float32_params(), None
        state = method.optimizer.init(params)
        step = jax.jit(method.train_step(loss))
        batch = jnp.array([0.0, 0.5, -0.5], jnp.float32)
        for t in range(2):
            params, state, info = step(jax.random.key(t), params, state, batch)
        dtypes = {leaf.dtype for leaf in jax.tree.leaves(params)}
    # (optax's own state, e.g. the momentum trace, follows optax's promotion rules)
    assert dtypes == {jnp.dtype(jnp.float32)}
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(params))


@pytest.mark.parametrize("make_rule", [
    lambda: so.random_perturbation(np.float64(0.1), num_draws=2, antithetic=True),
    lambda: so.sharpness_aware(np.float64(0.05)),
    lambda: so.adaptive_sharpness_aware(np.float64(0.05), np.float64(0.01)),
], ids=["random_perturbation", "sharpness_aware", "adaptive_sharpness_aware"])
def test_gradient_rules_keep_float32_points_under_x64(make_rule):
    """A float64 (NumPy) scale must not promote the float32 point where a rule takes the
    gradient (``params + scale * direction``): with JAX's 64-bit mode on, the loss there and
    the direction stay float32."""
    with enable_x64(True):
        direction, info = make_rule()(jax.random.key(0), float32_params(),
                                      jnp.array([0.0, 0.5, -0.5], jnp.float32),
                                      so.as_objective(loss))
        assert {leaf.dtype for leaf in jax.tree.leaves(direction)} == {jnp.dtype(jnp.float32)}
        assert info.loss.dtype == jnp.float32
        assert optax.tree.norm(direction).dtype == jnp.float32

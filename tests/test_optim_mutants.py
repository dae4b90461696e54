"""sgldsim.optim: tests written from a mutation check, one per plausible bug that the other
tests let through (the bug each one catches is named in its docstring). Hand computations in
float64, as in tests/test_optim.py."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from sgldsim import optim as so

pytestmark = pytest.mark.usefixtures("x64")
CURVATURE = {"b": np.array([0.5, 4.0]), "w": np.array([1.0, 2.0, 3.0])}
PARAMS = {"b": np.array([-0.3, 0.8]), "w": np.array([0.4, -1.2, 0.7])}
BATCH = {"b": np.array([0.1, 0.2]), "w": np.array([-0.5, 0.3, 0.0])}
LR, BETA, RHO = 0.1, 50.0, 0.05
KEY = jax.random.key(11)


def quadratic_loss(params, batch):
    """L = sum_leaf 0.5 a (p - x)^2: grad L = a (p - x), zero at p = x."""
    return sum(0.5 * jnp.sum(CURVATURE[n] * (params[n] - batch[n]) ** 2) for n in params)


def quadratic_grad(params, batch):
    return {n: CURVATURE[n] * (params[n] - batch[n]) for n in params}


def axpy(a, x, y):
    return jax.tree.map(lambda xi, yi: a * xi + yi, x, y)


def one_step(method, loss_fn, params, batch, num_steps=1):
    step = jax.jit(method.train_step(loss_fn))
    state = method.optimizer.init(params)
    for t in range(num_steps):
        params, state, info = step(jax.random.fold_in(KEY, t), params, state, batch)
    return params, info


def assert_finite_and_close(x, y, rtol=1e-12, atol=1e-14):
    for leaf in jax.tree.leaves(x):
        assert np.all(np.isfinite(leaf))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=rtol, atol=atol), x, y)


# ---------------------------------------------------------------- zero-norm guards


@pytest.mark.parametrize("method", [so.sam(LR, RHO), so.asam(LR, RHO)], ids=["sam", "asam"])
def test_sharpness_aware_at_a_zero_gradient_stays_put(method):
    """At the minimum g = 0: e = 0 (not 0/0 = NaN) and the step moves nothing.
    Catches: SAM/ASAM without the zero-gradient guard (e = rho g / |g|)."""
    at_minimum = BATCH
    params, info = one_step(method, quadratic_loss, at_minimum, BATCH)
    assert_finite_and_close(params, at_minimum, rtol=0, atol=0)
    assert info.loss == 0.0


def test_asam_with_zero_weights_and_eta_zero_takes_the_plain_gradient():
    """T = |theta| + eta = 0 makes T g = 0 for any g: e = 0 and the step is SGD's.
    Catches: ASAM without the guard on |T g| (NaN)."""
    zero = jax.tree.map(np.zeros_like, PARAMS)
    params, _ = one_step(so.asam(LR, RHO, eta=0.0), quadratic_loss, zero, BATCH)
    assert_finite_and_close(params, axpy(-LR, quadratic_grad(zero, BATCH), zero))


def weighted_loss(params, batch):
    return batch["weight"] * quadratic_loss(params, batch["target"])


def test_dgsam_skips_the_ascent_of_a_domain_with_zero_gradient():
    """A domain already fit (weight 0: gradient 0 everywhere) adds no ascent step and a zero
    gradient; the chain goes on from the same point. Catches: DGSAM without the guard."""
    domains = [{"target": BATCH, "weight": 1.0},
               {"target": jax.tree.map(lambda x: x + 1.0, BATCH), "weight": 0.0},
               {"target": jax.tree.map(lambda x: -x, BATCH), "weight": 2.0}]
    rule = so.domain_gradual_sharpness_aware(RHO)
    direction, _ = jax.jit(rule, static_argnums=3)(KEY, PARAMS, domains,
                                                   so.as_objective(weighted_loss))
    order = np.asarray(jax.random.permutation(KEY, 3))
    point, grads = PARAMS, []
    for d in [*order, order[0]]:
        g = jax.tree.map(lambda x, w=domains[d]["weight"]: w * x,
                         quadratic_grad(point, domains[d]["target"]))
        grads.append(g)
        norm = np.sqrt(sum(np.sum(np.asarray(x) ** 2) for x in jax.tree.leaves(g)))
        if norm > 0:
            point = axpy(RHO / norm, g, point)
    expected = jax.tree.map(lambda *g: 3 * sum(g) / 4, *grads)
    assert_finite_and_close(direction, expected)


# ---------------------------------------------------------------- hand computations


def test_sgd_momentum_is_the_heavy_ball_recursion():
    """v_t = g_t + mu v_{t-1} (v_{-1} = 0), theta_{t+1} = theta_t - lr v_t, computed by hand.
    Catches: momentum dropped or applied as Nesterov's."""
    mu = 0.9
    params, _ = one_step(so.sgd(LR, momentum=mu), quadratic_loss, PARAMS, BATCH, num_steps=3)
    expected, velocity = PARAMS, jax.tree.map(np.zeros_like, PARAMS)
    for _ in range(3):
        velocity = axpy(mu, velocity, quadratic_grad(expected, BATCH))
        expected = axpy(-LR, velocity, expected)
    assert_finite_and_close(params, expected)


def test_fsgld_coupling_uses_the_given_eta():
    """sigma = beta^(-(1 + eta)/4) with the eta passed, here 0.5 (the default is 0.1).
    Catches: the coupling ignoring ``eta``."""
    eta = 0.5
    coupled, _ = one_step(so.fsgld(LR, BETA, eta=eta), quadratic_loss, PARAMS, BATCH)
    explicit, _ = one_step(so.fsgld(LR, BETA, sigma=BETA ** (-(1 + eta) / 4)),
                           quadratic_loss, PARAMS, BATCH)
    assert_finite_and_close(coupled, explicit)


def test_hutchinson_standard_error_is_the_sample_std_over_sqrt_n():
    """estimate = mean_s v_s^T A v_s and SE = std_s(ddof=1) / sqrt(n) for the documented probes
    v_s = rademacher_like(split(key, n)[s]) of a quadratic with known Hessian A.
    Catches: the SE with ddof=0, or one probe reused."""
    a = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 4.0]])
    params = {"x": np.array([0.1, -0.2, 0.3])}

    def loss(p, data):
        x = p["x"]
        return 0.5 * x @ a @ x + 0.0 * jnp.sum(data)

    n = 7
    result = so.hessian_trace(loss, params, np.zeros((4, 1)), KEY, num_samples=n)
    samples = []
    for k in jax.random.split(KEY, n):
        v = np.asarray(optax.tree.random_like(k, params, jax.random.rademacher)["x"])
        samples.append(v @ a @ v)
    np.testing.assert_allclose(result.estimate, np.mean(samples), rtol=1e-13)
    np.testing.assert_allclose(result.standard_error, np.std(samples, ddof=1) / np.sqrt(n),
                               rtol=1e-13)

"""sgldsim.pinn: manufactured solutions satisfy their PDEs, the Burgers Cole-Hopf reference
against an independent finite-difference solver, forward-mode operators against jax.hessian,
short training lowers the error for every method, and bad input."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from param_checks import assert_wrong_type_is_refused
from scipy.integrate import solve_ivp
from scipy.sparse import diags

from sgldsim import pinn
from sgldsim.runner import resolve_experiment

MANUFACTURED = ["helmholtz2d", "klein-gordon", "heat5d", "helmholtz3d"]


def random_points(problem, n, seed=0):
    batch = problem.sample(jax.random.key(seed), n, n)
    return batch


@pytest.mark.parametrize("name", MANUFACTURED)
def test_manufactured_solution_satisfies_its_pde(name):
    """The closed-form u put through the autodiff residual and the boundary misfits gives 0
    to float32 round-off (relative to the size of the forcing)."""
    problem = pinn.problem(name)
    batch = random_points(problem, 64)

    def u(x):
        return problem.solution(x)

    x = batch["residual"]
    r = jax.jit(jax.vmap(lambda p: problem.residual(u, p)))(x)
    scale = float(jnp.max(jnp.abs(problem.forcing(x))))
    assert scale > 1.0
    assert float(jnp.max(jnp.abs(r))) < 2e-6 * scale
    for m in problem.boundary_misfits(u, batch["boundary"]):
        assert float(jnp.max(jnp.abs(m))) < 1e-5
    terms = problem.loss(lambda theta, p: problem.solution(p))(None, batch)
    assert sorted(terms) == ["boundary", "residual"]
    np.testing.assert_allclose(problem.reference(np.asarray(x, np.float64)),
                               problem.solution(np.asarray(x, np.float64), np), rtol=1e-12)


def test_a_wrong_solution_leaves_a_residual():
    """The check above can fail: u + 0.01 x^2 is not a solution."""
    problem = pinn.problem("helmholtz2d")
    x = random_points(problem, 64)["residual"]
    r = jax.vmap(lambda p: problem.residual(lambda y: problem.solution(y) + 0.01 * y[0]**2,
                                            p))(x)
    assert float(jnp.max(jnp.abs(r))) > 0.01


def finite_difference_burgers(n, times, nu):
    """Method of lines: central differences in x (n points on [-1, 1], flux form), BDF in t."""
    x = np.linspace(-1.0, 1.0, n)
    h = x[1] - x[0]

    def rhs(t, u):
        v = np.concatenate([[0.0], u, [0.0]])
        return nu * (v[2:] - 2 * v[1:-1] + v[:-2]) / h**2 - (v[2:] ** 2 - v[:-2] ** 2) / (4 * h)

    m = n - 2
    sparsity = diags([np.ones(m - 1), np.ones(m), np.ones(m - 1)], [-1, 0, 1])
    sol = solve_ivp(rhs, (0.0, times[-1]), -np.sin(np.pi * x[1:-1]), method="BDF",
                    t_eval=times, jac_sparsity=sparsity, rtol=1e-8, atol=1e-10)
    return x[1:-1], sol.y.T


def test_burgers_cole_hopf_matches_finite_differences():
    """Richardson extrapolation of the second-order solver on 801 and 1601 points (its error
    falls 4x per halving of h) against the Cole-Hopf quadrature, including the steep front."""
    problem = pinn.problem("burgers")
    times = np.array([0.25, 0.5, 0.75, 1.0])
    x_c, coarse = finite_difference_burgers(801, times, problem.nu)
    _, fine = finite_difference_burgers(1601, times, problem.nu)
    extrapolated = (4 * fine[:, 1::2] - coarse) / 3
    points = np.array([(x, t) for t in times for x in x_c])
    exact = problem.reference(points).reshape(len(times), -1)
    assert np.max(np.abs(np.diff(exact[-1]))) / (x_c[1] - x_c[0]) > 50  # a steep front
    assert np.max(np.abs(exact - extrapolated)) < 1e-3
    x0 = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(problem.reference(np.stack([x0, 0 * x0], 1)),
                               -np.sin(np.pi * x0), atol=1e-15)
    tiny = problem.reference(np.stack([x0, np.full_like(x0, 1e-8)], 1))
    np.testing.assert_allclose(tiny, -np.sin(np.pi * x0), atol=1e-6)


@pytest.mark.parametrize("name", ["klein-gordon", "heat5d"])
def test_forward_mode_operator_matches_jax_hessian(name):
    """u_tt and u_xx (Klein-Gordon), a 5-D Laplacian beside time (heat)."""
    net = pinn.tanh_mlp(pinn.problem(name).d_in, (8, 8))
    theta = net.init(jax.random.key(1))
    batch = random_points(pinn.problem(name), 16, seed=2)
    fast = jax.jit(pinn.problem(name).loss(net.apply))(theta, batch)
    naive = jax.jit(pinn.problem(name, operator="hessian").loss(net.apply))(theta, batch)
    for term in ("residual", "boundary"):
        np.testing.assert_allclose(fast[term], naive[term], rtol=2e-5)


def test_samples_are_float32_and_on_the_boundary():
    faces = np.asarray(jax.jit(pinn.problem("helmholtz3d").sample, static_argnums=(1, 2))(
        jax.random.key(0), 4, 50)["boundary"]["faces"])
    np.testing.assert_array_equal(np.max(np.abs(faces), axis=1), 1.0)
    heat = jax.jit(pinn.problem("heat5d").sample, static_argnums=(1, 2))(jax.random.key(0), 50,
                                                                          50)
    assert heat["residual"].dtype == jnp.float32 and heat["residual"].shape == (50, 6)
    np.testing.assert_allclose(np.linalg.norm(heat["boundary"]["sphere"][:, :5], axis=1), 1,
                               rtol=1e-6)
    assert np.all(np.linalg.norm(heat["residual"][:, :5], axis=1) <= 1 + 1e-6)


def test_short_training_lowers_the_error_for_every_method():
    """Burgers, tiny network, 200 steps: every method's final rel-L2 below the initial
    network's (same key, so the same initial network for all methods)."""
    problem = pinn.problem("burgers")
    methods = list(pinn.PINN_METHODS)
    keys = jnp.stack([jax.random.key(3)] * len(methods))
    runs = pinn.train_pinn_runs(problem, methods, keys, hidden=(16, 16), steps=200, block_steps=100,
                           learning_rate=3e-3, n_residual=64, n_boundary=16, ntk_points=8)
    net = pinn.tanh_mlp(problem.d_in, (16, 16))
    theta0 = net.init(jax.random.split(jax.random.key(3), 3)[0])
    x = problem.test_points()
    initial = float(pinn.relative_l2(pinn.predict(problem, (16, 16), theta0, x),
                                     problem.reference(x)))
    assert np.all(runs.rel_l2_final < initial), dict(zip(methods, runs.rel_l2_final, strict=True))
    assert np.all(runs.rel_l2_best_loss < initial)
    assert np.all((runs.conflict_fraction >= 0) & (runs.conflict_fraction <= 1))
    assert runs.final_params.dtype == np.float32


@pytest.mark.parametrize("call, match", [
    (lambda: pinn.problem("poisson"), "'poisson'.*'helmholtz2d'"),
    (lambda: pinn.problem("burgers", operator="taylor"), "'taylor'.*'forward'"),
    (lambda: pinn.problem("burgers").reference(np.array([[0.1, np.nan]])),
     r"points\[0\] = \[0.1, nan\] is not finite"),
    (lambda: pinn.problem("helmholtz2d").reference(np.zeros((3, 3))),
     r"shape \(3, 3\).*\(n, 2\) with columns x, y"),
    (lambda: pinn.train_pinn_runs(pinn.problem("burgers"), ["adamw"], jax.random.key(0)[None]),
     "unknown PINN method 'adamw'"),
    (lambda: pinn.train_pinn_runs(pinn.problem("burgers"), ["adam"], jax.random.key(0)[None],
                             steps=150, block_steps=100), "steps=150"),
])
def test_bad_input_raises_naming_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("name, problems, learning_rate, hidden, seeds", [
    ("pinn-dcgd", ("helmholtz2d", "klein-gordon", "burgers"), 1e-3, (32, 32, 32), 3),
    ("pinn-dcgd-paper", pinn.PROBLEMS, (1e-3, 1e-4, 1e-5), (50, 50, 50), 10),
])
def test_pinn_dcgd_tomls_give_typed_parameters(name, problems, learning_rate, hidden, seeds):
    config, module = resolve_experiment(name)
    p = module.PARAMS.from_config(config)
    assert p.problem == problems and p.method == tuple(pinn.PINN_METHODS)
    assert p.seed == tuple(range(seeds)) and p.learning_rate == learning_rate
    assert p.hidden == hidden and p.error_map_problem == "burgers"
    assert len(p.error_map_size) == 2 and all(type(n) is int for n in p.error_map_size)
    assert p.steps % p.block_steps == 0 and type(p.decay_rate) is float


@pytest.mark.parametrize("key, value, expected", [
    ("params.steps", 1e4, "int"),
    ("params.hidden", [32, 32.5], "list of int"),
    ("grid.problem", ["burgers", "poisson"], "'helmholtz2d' | 'klein-gordon'"),
    ("params.learning_rate", "1e-3", "float"),
])
def test_a_wrong_typed_pinn_parameter_is_a_one_line_config_error(key, value, expected):
    assert_wrong_type_is_refused("pinn-dcgd", key, value, expected)

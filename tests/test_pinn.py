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
    r = jax.jit(problem.residuals, static_argnums=0)(pinn.field_jet(u), x)
    scale = float(jnp.max(jnp.abs(problem.forcing(x))))
    assert scale > 1.0
    assert float(jnp.max(jnp.abs(r))) < 2e-6 * scale
    for m in problem.boundary_misfits(pinn.field_jet(u), batch["boundary"]):
        assert float(jnp.max(jnp.abs(m))) < 1e-5
    terms = problem.loss(lambda theta, p: problem.solution(p))(None, batch)
    assert sorted(terms) == ["boundary", "residual"]
    np.testing.assert_allclose(problem.reference(np.asarray(x, np.float64)),
                               problem.solution(np.asarray(x, np.float64), np), rtol=1e-12)


def test_a_wrong_solution_leaves_a_residual():
    """The check above can fail: u + 0.01 x^2 is not a solution."""
    problem = pinn.problem("helmholtz2d")
    x = random_points(problem, 64)["residual"]
    r = problem.residuals(pinn.field_jet(lambda y: problem.solution(y) + 0.01 * y[0]**2), x)
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
    """u_tt and u_xx (Klein-Gordon), a 5-D Laplacian beside time (heat): nested jvp and
    jax.hessian give the same loss through the per-point path."""
    net = pinn.tanh_mlp(pinn.problem(name).d_in, (8, 8))
    theta = net.init(jax.random.key(1))
    batch = random_points(pinn.problem(name), 16, seed=2)
    fast = jax.jit(pinn.problem(name).loss(net.apply))(theta, batch)
    naive = jax.jit(pinn.problem(name, operator="hessian").loss(net.apply))(theta, batch)
    for term in ("residual", "boundary"):
        np.testing.assert_allclose(fast[term], naive[term], rtol=2e-5)


@pytest.mark.parametrize("name", pinn.PROBLEMS)
def test_network_jet_matches_autodiff_per_point(name):
    """The network's forward propagation of the gradient and the Hessian diagonal (with its
    input standardisation) against nested jvp per point, at every order, and the loss through
    both paths; also the parameter gradient of the residual loss."""
    problem = pinn.problem(name)
    net = problem.network((12, 12, 12))
    theta = net.init(jax.random.key(4))
    batch = random_points(problem, 32, seed=5)
    x = batch["residual"]
    reference = pinn.field_jet(lambda p: net.apply(theta, p))
    for order in (0, 1, 2):
        jet, ref = net.jet(theta, x, order), reference(x, order)
        for got, want in zip(jet, ref, strict=True):
            assert (got is None) == (want is None)
            if want is not None:
                np.testing.assert_allclose(got, want, rtol=2e-5,
                                           atol=2e-6 * float(jnp.max(jnp.abs(want))))
    fast, slow = problem.loss(net), problem.loss(net.apply)
    for term in ("residual", "boundary"):
        np.testing.assert_allclose(fast(theta, batch)[term], slow(theta, batch)[term],
                                   rtol=2e-5)
    g_fast = jax.grad(lambda t: fast(t, batch)["residual"])(theta)
    g_slow = jax.grad(lambda t: slow(t, batch)["residual"])(theta)
    np.testing.assert_allclose(g_fast, g_slow, rtol=1e-4, atol=1e-5 * float(
        jnp.max(jnp.abs(g_slow))))


def test_a_wrong_jet_is_caught():
    """The check above can fail: a jet whose second derivatives miss the tanh'' term."""
    problem = pinn.problem("helmholtz2d")
    net = problem.network((12, 12))
    theta = net.init(jax.random.key(4))
    x = random_points(problem, 32, seed=5)["residual"]
    good = net.jet(theta, x, 2).d2u
    wrong = pinn.field_jet(lambda p: net.apply(theta, p) + 0.01 * p[0] ** 2)(x, 2).d2u
    assert not np.allclose(good, wrong, rtol=2e-5, atol=2e-6 * float(jnp.max(jnp.abs(good))))


@pytest.mark.parametrize("name", pinn.PROBLEMS)
def test_input_moments_match_the_collocation_distribution(name):
    """The exact mean and std the network standardises with, against 20000 sampled
    collocation points (tolerance: 5 standard errors of the sample mean and of the sample
    variance); standardising is the same as feeding (x - mean) / std to an unstandardised
    network."""
    problem = pinn.problem(name)
    mean, std = problem.input_moments()
    x = np.asarray(problem.sample(jax.random.key(6), 20000, 1)["residual"], np.float64)
    n = len(x)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * std / np.sqrt(n))
    fourth = ((x - mean) ** 4).mean(0)
    assert np.all(np.abs(x.var(0) - std**2) < 5 * np.sqrt((fourth - std**4) / n))
    standardised = pinn.tanh_mlp(problem.d_in, (6,), mean, std)
    plain = pinn.tanh_mlp(problem.d_in, (6,))
    theta = plain.init(jax.random.key(7))
    xs = jnp.asarray(x[:5], jnp.float32)
    np.testing.assert_allclose(standardised.jet(theta, xs, 0).u,
                               plain.jet(theta, (xs - mean) / std, 0).u, rtol=1e-5, atol=1e-6)
    expected = (0.0, 1.0) if not problem.standardise else (mean, std)
    np.testing.assert_allclose(problem.input_scaling()[0], expected[0])
    np.testing.assert_allclose(problem.input_scaling()[1], expected[1])


def test_samples_are_float32_and_on_the_boundary():
    batch = jax.jit(pinn.problem("helmholtz3d").sample, static_argnums=(1, 2))(
        jax.random.key(0), 4, 50)
    assert sorted(batch["boundary"]) == sorted(["x=-1", "x=+1", "y=-1", "y=+1", "z=-1", "z=+1"])
    for name, faces in batch["boundary"].items():
        axis, side = "xyz".index(name[0]), float(name[2:])
        assert faces.shape == (50, 3)
        np.testing.assert_array_equal(np.asarray(faces)[:, axis], side)
    heat = jax.jit(pinn.problem("heat5d").sample, static_argnums=(1, 2))(jax.random.key(0), 50,
                                                                          50)
    assert heat["residual"].dtype == jnp.float32 and heat["residual"].shape == (50, 6)
    np.testing.assert_allclose(np.linalg.norm(heat["boundary"]["sphere"][:, :5], axis=1), 1,
                               rtol=1e-6)
    assert np.all(np.linalg.norm(heat["residual"][:, :5], axis=1) <= 1 + 1e-6)
    sides = np.asarray(pinn.problem("burgers").sample(jax.random.key(0), 4, 42)["boundary"][
        "sides"])
    assert sides.shape == (84, 2) and sorted(set(sides[:, 0])) == [-1.0, 1.0]
    kg = pinn.problem("klein-gordon").sample(jax.random.key(0), 4, 42)["boundary"]
    assert np.all(np.asarray(kg["x=1"])[:, 0] == 1) and np.all(np.asarray(kg["initial"])[:, 1] == 0)


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
    (lambda: pinn.train_pinn_runs(pinn.problem("burgers"), ["adam"], jax.random.key(0)[None],
                                  learning_rate=float("nan")), "learning_rate=nan.*finite"),
    (lambda: pinn.train_pinn_runs(pinn.problem("burgers"), ["adam"], jax.random.key(0)[None],
                                  n_residual=0), "n_residual=0.*>= 1"),
    (lambda: pinn.train_pinn_runs(pinn.problem("burgers"), ["adam"], jax.random.key(0)[None],
                                  lra_alpha=2.0), r"lra_alpha=2.0.*\(0, 1\]"),
    (lambda: pinn.tanh_mlp(0, (4,)), "d_in=0"),
    (lambda: pinn.tanh_mlp(2, ()), r"hidden=\(\)"),
    (lambda: pinn.relative_l2(np.zeros((3, 1)), np.ones(3)), r"shape \(3, 1\)"),
    (lambda: pinn.problem("burgers").reference(np.array([[0.1, -0.5]])),
     r"points\[0\] = \[0.1, -0.5\] is outside burgers's domain \[-1, 1\] x \[0, 1\]"),
    (lambda: pinn.problem("heat5d").reference(np.array([[1.0, 1.0, 0, 0, 0, 0.5]])),
     r"outside heat5d's domain \{\|x\| <= 1"),
    (lambda: pinn.problem("klein-gordon").reference(np.array([[0.5 + 1j, 0.5]])), "complex"),
])
def test_bad_input_raises_naming_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("name, problems, learning_rate, seeds, steps, error_map", [
    ("pinn-dcgd", ("helmholtz2d",), 1e-3, 5, 8000, "helmholtz2d"),
    ("pinn-dcgd-table", ("helmholtz2d", "klein-gordon", "burgers"), 1e-3, 5, 10000, "burgers"),
    ("pinn-dcgd-paper", pinn.PROBLEMS, (1e-3, 1e-4, 1e-5), 10, 50000, "burgers"),
])
def test_pinn_dcgd_tomls_give_typed_parameters(name, problems, learning_rate, seeds, steps,
                                               error_map):
    """Every TOML trains the paper's 3 x 50 network at the paper's point counts (unset: the
    per-problem table), every method, at least 5 paired seeds."""
    config, module = resolve_experiment(name)
    p = module.PARAMS.from_config(config)
    assert p.problem == problems and p.method == tuple(pinn.PINN_METHODS)
    assert p.seed == tuple(range(seeds)) and p.learning_rate == learning_rate
    assert p.hidden == (50, 50, 50) and p.error_map_problem == error_map
    assert p.n_residual is None and p.n_boundary is None and p.steps == steps
    assert len(p.error_map_size) == 2 and all(type(n) is int for n in p.error_map_size)
    assert p.steps % p.block_steps == 0 and type(p.decay_rate) is float


def test_paper_setup_counts():
    """The per-problem point counts the TOMLs rely on (docs/dcgd.md, "Setup")."""
    assert all(s.n_residual == 1280 for s in pinn.PAPER_SETUP.values())
    assert pinn.PAPER_SETUP["burgers"].n_boundary == 42
    assert pinn.PAPER_SETUP["helmholtz2d"].n_boundary == 128
    assert set(pinn.PAPER_SETUP) == set(pinn.PROBLEMS)


@pytest.mark.parametrize("key, value, expected", [
    ("params.steps", 1e4, "int"),
    ("params.hidden", [32, 32.5], "list of int"),
    ("grid.problem", ["burgers", "poisson"], "'helmholtz2d' | 'klein-gordon'"),
    ("params.learning_rate", "1e-3", "float"),
])
def test_a_wrong_typed_pinn_parameter_is_a_one_line_config_error(key, value, expected):
    assert_wrong_type_is_refused("pinn-dcgd", key, value, expected)

"""DGSAM and its domain-generalisation baselines: sharpness measures against closed forms on
quadratics, each rule's direction against a hand computation, counted gradient evaluations,
per-domain batching, the domain data's separation, bad input, and a tiny run of dgsam-domains
(dgsam-toy: tests/test_dgsam_toy.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from param_checks import assert_wrong_type_is_refused

from sgldsim import nn
from sgldsim import optim as so
from sgldsim.runner import (
    ConfigError,
    resolve_experiment,
    run_experiment,
)
from sgldsim.verdicts import VERDICTS

RHO, ALPHA = 0.3, 0.2


def random_spd(rng, dim, low=0.5, high=5.0):
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return (q * rng.uniform(low, high, dim)) @ q.T


def quadratic(params, data):
    """(1/2) (x - c)' A (x - c) with data = (A[1, d, d], c[1, d]) (one "example")."""
    a, c = data
    z = params - c[0]
    return 0.5 * z @ a[0] @ z


# ---------------------------------------------------------------- sharpness measures


def ball_maximum(a, b, rho):
    """max_{|e| <= rho} b'e + e'Ae/2 for positive definite A (the trust-region subproblem): the
    maximiser is e = (lam I - A)^(-1) b on the sphere with lam > lambda_max, lam by bisection."""
    lams, q = np.linalg.eigh(a)
    bt = q.T @ b
    norm = lambda lam: np.sqrt(np.sum(bt**2 / (lam - lams) ** 2))  # noqa: E731
    low, high = lams[-1] + 1e-12, lams[-1] + np.linalg.norm(b) / rho + 1.0
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if norm(mid) > rho else (low, mid)
    e = q @ (bt / (high - lams))
    return b @ e + 0.5 * e @ a @ e


def test_zeroth_order_sharpness_of_a_quadratic_is_rho2_lambda_max_over_2():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    a = (q * np.array([6.0, 3.0, 2.0, 1.0, 0.5])) @ q.T
    f = lambda x: 0.5 * x @ a @ x  # noqa: E731
    zeroth, one = so.zeroth_order_sharpness(f, jnp.zeros(5), 0.2, jax.random.key(1), 40)
    np.testing.assert_allclose(zeroth, 0.2**2 * 6.0 / 2, rtol=1e-4)
    assert one <= zeroth + 1e-7  # the ascent keeps the best iterate
    # away from the minimum the one-step estimate is f(x + rho g/|g|) - f(x), g = A x
    x = jnp.asarray(rng.standard_normal(5))
    g = a @ x
    _, one = so.zeroth_order_sharpness(f, x, 0.2, jax.random.key(1), 1)
    np.testing.assert_allclose(one, f(x + 0.2 * g / np.linalg.norm(g)) - f(x), rtol=1e-5)


@jax.jit
def sharpness_of_instances(thetas, mats, centres):
    """domain_sharpness of quadratic domains (1/2)(x - c_d)' A_d (x - c_d), vmapped over
    instances (one compilation shared by the tests below)."""

    def one(theta, mats, centres):
        domains = [(mats[d][None], centres[d][None]) for d in range(mats.shape[0])]
        return so.domain_sharpness(quadratic, theta, domains, 0.1, jax.random.key(0),
                                   ascent_steps=60, lanczos_iterations=4, trace_samples=100)

    return jax.vmap(one)(thetas, mats, centres)


def random_instances(seed, num=8, num_domains=3, dim=4):
    rng = np.random.default_rng(seed)
    mats = np.array([[random_spd(rng, dim, 0.1, 8.0) for _ in range(num_domains)]
                     for _ in range(num)])
    return (rng.standard_normal((num, dim)), mats,
            0.3 * rng.standard_normal((num, num_domains, dim)))


def test_domain_sharpness_matches_eigvalsh_and_the_exact_maxima():
    thetas, mats, centres = random_instances(1)
    s = sharpness_of_instances(thetas, mats, centres)
    for i in range(2):
        theta, pooled = thetas[i], mats[i].mean(0)
        np.testing.assert_allclose(s.per_domain.top_eigenvalue[i],
                                   [np.linalg.eigvalsh(a)[-1] for a in mats[i]], rtol=1e-4)
        np.testing.assert_allclose(s.pooled.top_eigenvalue[i], np.linalg.eigvalsh(pooled)[-1],
                                   rtol=1e-4)
        traces = np.trace(mats[i], axis1=1, axis2=2)
        assert np.all(np.abs(s.per_domain.trace[i] - traces)
                      <= 5 * s.per_domain.trace_stderr[i] + 1e-9)
        for d, (a, c) in enumerate(zip(mats[i], centres[i], strict=True)):
            exact = ball_maximum(a, a @ (theta - c), 0.1)
            np.testing.assert_allclose(s.per_domain.zeroth_order[i, d], exact, rtol=1e-4)
        exact = ball_maximum(pooled, np.mean([a @ (theta - c) for a, c in
                                              zip(mats[i], centres[i], strict=True)], 0), 0.1)
        np.testing.assert_allclose(s.pooled.zeroth_order[i], exact, rtol=1e-4)


def test_individual_sharpness_is_at_least_global_on_random_instances():
    s = sharpness_of_instances(*random_instances(2))
    assert np.all(s.gap.zeroth_order >= -1e-6) and np.all(s.gap.top_eigenvalue >= -1e-5)
    assert np.all(s.gap.zeroth_order > 1e-4)  # strict on these instances (domains differ)
    assert np.all(s.pooled.zeroth_order > 0)


# ---------------------------------------------------------------- the rules by hand

CURV = [np.array([1.0, 4.0, 0.5]), np.array([3.0, 0.5, 2.0])]
CENTRE = [np.array([0.2, -0.1, 0.0]), np.array([-0.3, 0.4, 0.1])]
THETA = np.array([0.5, -0.7, 0.9])


def diag_loss(params, batch):
    """L_d = sum_i 0.5 a_i (p_i - c_i)^2 + 0.1 p_0^3 (a cubic term so gradients bend)."""
    a, c = batch
    return 0.5 * jnp.sum(a * (params - c) ** 2) + 0.1 * params[0] ** 3


def grad_d(p, d):
    g = CURV[d] * (p - CENTRE[d])
    g[0] += 0.3 * p[0] ** 2
    return g


def grad_pooled(p):
    return (grad_d(p, 0) + grad_d(p, 1)) / 2


def unit(v):
    return v / np.linalg.norm(v)


def expected_direction(name):
    g = grad_pooled(THETA)
    if name == "erm":
        return g
    if name == "sam":
        return grad_pooled(THETA + RHO * unit(g))
    if name == "domain_sam":
        return np.mean([grad_d(THETA + RHO * unit(grad_d(THETA, d)), d) for d in (0, 1)], 0)
    if name == "gsam":
        gp = grad_pooled(THETA + RHO * unit(g))
        return gp - ALPHA * (g - (g @ gp) / (gp @ gp) * gp)
    if name == "sagm":
        return (g + grad_pooled(THETA + (RHO / np.linalg.norm(g) - ALPHA) * g)) / 2
    order = np.asarray(jax.random.permutation(jax.random.key(3), 2))
    point, grads = THETA.copy(), []
    for d in [*order, order[0]]:
        grads.append(grad_d(point, d))
        point = point + RHO * unit(grads[-1])
    summed = grads if name == "dgsam" else grads[1:]
    return 2 * np.sum(summed, 0) / len(summed)


@pytest.mark.parametrize("name", so.DOMAIN_METHODS)
def test_each_rule_direction_equals_a_hand_computation(name):
    batch = [(jnp.asarray(a), jnp.asarray(c)) for a, c in zip(CURV, CENTRE, strict=True)]
    rule = so.domain_rule(name, RHO, ALPHA)
    direction, info = rule(jax.random.key(3), jnp.asarray(THETA), batch,
                           so.as_objective(diag_loss))
    np.testing.assert_allclose(direction, expected_direction(name), rtol=1e-5, atol=1e-7)
    assert np.isfinite(info.loss)


@pytest.mark.parametrize("num_domains, names", [(3, ("dgsam", "dgsam_no_first", "sam", "erm")),
                                                (5, ("dgsam", "domain_sam"))])
def test_gradient_evaluations_are_counted(num_domains, names):
    """DGSAM takes S + 1 per-domain gradients, SAM 2S, ERM S: counted as they run."""
    calls = []

    def loss(params, batch):
        a, c = batch
        jax.debug.callback(lambda x: calls.append(np.size(x) / 3), a)
        return 0.5 * jnp.sum(a * (params - c) ** 2)

    batch = [(jnp.full(3, 1.0 + d), jnp.full(3, 0.1 * d)) for d in range(num_domains)]
    for name in names:
        calls.clear()
        method = so.domain_method(name, 0.1, 0.05)
        step = jax.jit(method.train_step(loss))
        params = jnp.array([0.3, -0.2, 0.5])
        jax.block_until_ready(step(jax.random.key(0), params, method.optimizer.init(params),
                                   batch))
        jax.effects_barrier()
        assert sum(calls) == so.gradient_evaluations(name, num_domains), name
    assert so.gradient_evaluations("dgsam", num_domains) == num_domains + 1


# ---------------------------------------------------------------- bad input


def test_bad_input_is_a_one_line_error_naming_the_value():
    rule = so.domain_gradual_sharpness_aware(0.1)
    objective = so.as_objective(diag_loss)
    one = [(jnp.ones(3), jnp.zeros(3))]
    with pytest.raises(ValueError, match="list of 1 domain batch"):
        rule(jax.random.key(0), jnp.zeros(3), one, objective)
    with pytest.raises(ValueError, match="different shapes.*batch\\[1\\]"):
        rule(jax.random.key(0), jnp.zeros(3), [(jnp.ones(3), jnp.zeros(3)),
                                               (jnp.ones(4), jnp.zeros(4))], objective)
    x, y = jnp.ones((8, 2)), jnp.zeros(8)
    with pytest.raises(ValueError, match="batch\\[0\\] is a single array of shape \\(8, 2\\)"):
        # one domain's (x, y) is never read as two domains
        rule(jax.random.key(0), jnp.zeros(3), (x, y), objective)
    with pytest.raises(ValueError, match="batch\\[0\\] is a single array"):
        rule(jax.random.key(0), jnp.zeros(3), (x, x), objective)
    for factory in (lambda r: so.domain_method("sam", 0.1, r), so.per_domain_sharpness_aware,
                    so.domain_gradual_sharpness_aware,
                    lambda r: so.zeroth_order_sharpness(jnp.sum, jnp.zeros(2), r, 0)):
        with pytest.raises(ValueError, match="rho=-0.1 is not allowed"):
            factory(-0.1)
    with pytest.raises(ValueError, match="unknown method 'dgsamm'; allowed: 'erm'"):
        so.domain_method("dgsamm", 0.1)
    for error in ("list of 1", "rho=-0.1"):
        assert "\n" not in error


# ---------------------------------------------------------------- data and per-domain training


def test_rotated_digits_are_seeded_and_test_domain_never_reaches_training():
    a = nn.load_domains("rotated_digits", seed=3)
    np.testing.assert_array_equal(a.x, nn.load_domains("rotated_digits", seed=3).x)
    assert not np.array_equal(a.x, nn.load_domains("rotated_digits", seed=4).x)
    assert a.x.shape == (6, 299, 8, 8, 1)
    # unrotated domains are rows of the digits (all 1797 images are distinct): disjoint parts
    flat = nn.load_domains("rotated_digits", seed=3, angles=(0.0, 0.0, 0.0))
    rows = [{r.tobytes() for r in np.asarray(flat.x[d]).reshape(599, -1)} for d in range(3)]
    assert all(len(r) == 599 for r in rows) and not (rows[0] & rows[1] or rows[1] & rows[2])
    splits = nn.split_domains(flat, 0.2, seed=1)
    training, test = nn.leave_one_domain_out(splits, 1)
    seen = {r.tobytes() for part in training for r in np.asarray(part.x).reshape(-1, 64)}
    tested = {r.tobytes() for r in np.asarray(test.x).reshape(-1, 64)}
    assert tested == rows[1] and not tested & seen
    assert training.train.x.shape == (2, 479, 8, 8, 1)
    assert training.validation.x.shape == (2, 120, 8, 8, 1)
    # mnist1d domains differ by their generator settings and are seeded
    m = nn.load_domains("mnist1d", num_per_domain=40)
    assert m.x.shape == (8, 40, 40, 1) and len(nn.MNIST1D_DOMAINS) == 8
    np.testing.assert_array_equal(m.x, nn.load_domains("mnist1d", num_per_domain=40).x)
    # eight distinct generator settings give eight different domains
    settings = {tuple(sorted(s.items())) for s in nn.MNIST1D_DOMAINS}
    assert len(settings) == 8
    assert not any(np.array_equal(m.x[a], m.x[b]) for a in range(8) for b in range(a))


def test_fit_domains_feeds_one_batch_per_domain():
    """Domain d's labels are all d; a rule reporting mean |y_d - d| must see 0 every step."""
    num_domains, n = 3, 20
    train = nn.Split(jnp.zeros((num_domains, n, 2)),
                     jnp.repeat(jnp.arange(num_domains)[:, None], n, axis=1))

    def rule(key, params, batch, objective):
        so.check_domain_batches(batch)
        loss = sum(jnp.mean(jnp.abs(b[1] - d)) for d, b in enumerate(batch))
        return jax.tree.map(jnp.zeros_like, params), so.GradientInfo(loss, {}, None)

    method = so.Method("probe", optax.sgd(0.1), rule)
    model = nn.flat_model(nn.mlp((2,), 3, (4,)))
    _, losses = jax.jit(lambda k: nn.fit_domains(k, method, model, train, epochs=2,
                                                 batch_size=7))(jax.random.key(0))
    np.testing.assert_array_equal(losses, 0.0)


# ---------------------------------------------------------------- experiments (tiny)


def test_dgsam_domains_tiny_run(tmp_path):
    run = run_experiment("dgsam-domains", [
        "params.mnist1d_per_domain=60", "params.trials=2", "params.learning_rates=[0.01]",
        "params.rhos=[0.01, 0.1]", "params.epochs=2", "params.batch_size=8",
        "params.sharpness_examples=8", "params.lanczos_iterations=3", "params.trace_samples=2",
        "params.ascent_steps=2", 'grid.dataset=["mnist1d"]',
        'grid.method=["erm", "dgsam", "dgsam_rho_over_s"]'],
        out_dir=tmp_path, progress=False)
    r = run.results
    counts = r[r.measure == "domain_gradients_per_step"].set_index("method").value
    assert counts["dgsam"] == counts["dgsam_rho_over_s"] == 8  # S + 1 with S = 7 domains
    assert counts["erm"] == 7
    chosen = r[(r.measure == "test_accuracy") & r.selected.astype(bool)]
    assert len(chosen) == 3 * 8 * 2  # methods x test domains x trials
    # ERM's grid is the learning rates alone (rho 0), the others' the crossed grid
    rhos = r[(r.measure == "rho") & (r.test_domain == 0) & (r.trial == 0)]
    assert sorted(rhos[rhos.method == "erm"].value) == [0.0]
    assert sorted(rhos[rhos.method == "dgsam"].value) == [0.01, 0.1]
    # the selected configuration is the one with the best training-domain validation
    val = r[r.measure == "validation_accuracy"]
    best = val.groupby(["method", "test_domain", "trial"]).value.transform("max")
    assert (val[val.selected.astype(bool)].value == best[val.selected.astype(bool)]).all()
    for kind in ("individual", "worst_domain"):
        gap = r[r.measure == f"{kind}_zeroth_order"].value.to_numpy() \
            - r[r.measure == "pooled_zeroth_order"].value.to_numpy()
        assert np.all(gap >= -1e-6)
    assert all(v.verdict in VERDICTS for v in run.summary.verdicts)
    with pytest.raises(ConfigError, match=r"params\.rhos=\[-0\.1\] is not allowed"):
        run_experiment("dgsam-domains", ["params.rhos=[-0.1]"],
                       out_dir=tmp_path / "x", progress=False)


def test_dgsam_with_rho_over_s_is_dgsam_at_rho_over_s():
    """One step of ``dgsam_rho_over_s`` at rho equals one DGSAM step at rho / S (S = 3), and
    GSAM and SAGM take their own alpha."""
    from sgldsim.experiments.dgsam import dgsam_domains as dd

    p = dd.Params(gsam_alpha=0.3, sagm_alpha=0.02)
    rng = np.random.default_rng(0)
    batches = [(jnp.asarray(rng.uniform(0.5, 3.0, 4)), jnp.asarray(rng.normal(size=4)))
               for _ in range(3)]
    params = jnp.asarray(rng.normal(size=4))

    objective = so.as_objective(diag_loss)

    def step(method):  # the rule's direction (Adam's first step would hide its scale)
        return method.gradient_rule(jax.random.key(1), params, batches, objective)[0]

    np.testing.assert_allclose(step(dd.domain_method("dgsam_rho_over_s", 0.1, 0.3, 3, p)),
                               step(so.domain_method("dgsam", 0.1, 0.1)), rtol=1e-6)
    assert not np.allclose(step(dd.domain_method("dgsam_rho_over_s", 0.1, 0.3, 3, p)),
                           step(so.domain_method("dgsam", 0.1, 0.3)))
    for name, alpha in (("gsam", 0.3), ("sagm", 0.02)):
        np.testing.assert_allclose(step(dd.domain_method(name, 0.1, 0.3, 3, p)),
                                   step(so.domain_method(name, 0.1, 0.3, alpha)), rtol=1e-6)
        assert not np.allclose(step(dd.domain_method(name, 0.1, 0.3, 3, p)),
                               step(so.domain_method(name, 0.1, 0.3, 0.9)))
    grid = dd.configurations(dd.Params(learning_rates=(0.1, 0.2), rhos=(0.01, 0.02, 0.03)),
                             "sam")
    assert grid.shape == (6, 2) and set(map(tuple, grid)) == {
        (lr, rho) for lr in (0.1, 0.2) for rho in (0.01, 0.02, 0.03)}


# ---------------------------------------------------------------- declared parameters


@pytest.mark.parametrize("name, trials, hidden, epochs", [
    ("dgsam-domains", 5, (128,), 60),
    ("dgsam-domains-large", 10, (256, 256), 100),
])
def test_dgsam_domains_tomls_give_typed_parameters(name, trials, hidden, epochs):
    """Both TOMLs run every method on both datasets, in the regime issue 22 asks for: at least
    5 trials and 50 epochs, a crossed grid with small rho."""
    from sgldsim.experiments.dgsam import dgsam_domains as dd

    config, module = resolve_experiment(name)
    p = module.PARAMS.from_config(config)
    assert p.method == dd.METHODS and p.dataset == ("rotated_digits", "mnist1d")
    assert p.mlp_hidden == hidden and p.trials == trials and p.epochs == epochs
    assert min(p.rhos) <= 0.003 and len(p.learning_rates) >= 3
    assert p.sharpness_rho == 0.05 and type(p.batch_size) is int


@pytest.mark.parametrize("name, key, value, expected", [
    ("dgsam-domains", "params.mlp_hidden", 64, "list of int"),
    ("dgsam-domains", "grid.method", ["erm", "adam"], "'erm' | 'sam'"),
    ("dgsam-domains", "params.rhos", 0.1, "list of float"),
])
def test_a_wrong_typed_dgsam_parameter_is_a_one_line_config_error(name, key, value, expected):
    assert_wrong_type_is_refused(name, key, value, expected)


def test_a_fixed_dgsam_domains_parameter_cannot_be_swept():
    with pytest.raises(ConfigError, match=r"grid\.epochs is not allowed: epochs must be fixed"):
        resolve_experiment("dgsam-domains", ["grid.epochs=[2, 4]"])

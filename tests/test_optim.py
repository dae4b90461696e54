"""sgldsim.optim: one step of each method against a hand computation with the same keys, the
limits that tie the methods together, the Langevin noise scale under a schedule, composition
with optax, the DGSAM/DCGD rules, and argument checks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special
import scipy.stats
from jax.extend.random import threefry_2x32
from jax.flatten_util import ravel_pytree

from sgldsim import coupled_sigma
from sgldsim import optim as so

# hand computations are checked to 1e-12: float64 parameters (NumPy, so float64 at import) in
# JAX's 64-bit mode; tests/test_precision.py checks that float32 parameters stay float32
pytestmark = pytest.mark.usefixtures("x64")
CURVATURE = {"b": np.array([0.5, 4.0]), "w": np.array([1.0, 2.0, 3.0])}
PARAMS = {"b": np.array([-0.3, 0.8]), "w": np.array([0.4, -1.2, 0.7])}
BATCH = {"b": np.array([0.1, 0.2]), "w": np.array([-0.5, 0.3, 0.0])}


def quadratic_loss(params, batch):
    """L = sum_leaf 0.5 a (p - x)^2, so grad L = a (p - x)."""
    return sum(0.5 * jnp.sum(CURVATURE[n] * (params[n] - batch[n]) ** 2) for n in params)


def quadratic_grad(params, batch):
    return {n: CURVATURE[n] * (params[n] - batch[n]) for n in params}


def cubic_loss(params, batch):
    """Non-quadratic, so perturbed gradients differ from the gradient at params."""
    return quadratic_loss(params, batch) + sum(jnp.sum(params[n] ** 3) for n in params)


def _threefry_words(key, n, block):
    """JAX's own Threefry-2x32 (jax.extend) at counters (j, block), j < n: two uint32[n]."""
    words = jnp.asarray(jax.random.bits(key, (2,), jnp.uint32))
    counters = np.concatenate([np.arange(n), np.full(n, block)]).astype(np.uint32)
    out = np.asarray(threefry_2x32(words, jnp.asarray(counters)))
    return out[:n], out[n:]


def tree_normal(key, tree, block=0, word=0):
    """The documented noise convention, by hand (NumPy, SciPy's erfinv): entry j of the
    concatenated leaves is sqrt(2) erfinv(u) with u on the odd multiples of 2^-m in (-1, 1) from
    word `word` of Threefry at (j, block) (float32: m = 23), or both words at
    (j, 2^31 + 2 block + word) (float64: m = 52)."""
    leaves, treedef = jax.tree.flatten(tree)
    n = sum(x.size for x in leaves)
    if leaves[0].dtype == jnp.float64:
        hi, lo = _threefry_words(key, n, 2**31 + 2 * block + word)
        bits = ((hi >> 6).astype(np.uint64) << np.uint64(26)) | (lo >> 6).astype(np.uint64)
        m = 52
    else:
        bits, m = _threefry_words(key, n, block)[word] >> 9, 23
    u = (2 * bits.astype(np.float64) + 1 - 2.0**m) * 2.0**-m
    z = np.sqrt(2) * scipy.special.erfinv(u)
    parts = np.split(z, np.cumsum([x.size for x in leaves])[:-1])
    return treedef.unflatten([jnp.asarray(p.reshape(x.shape), x.dtype)
                              for p, x in zip(parts, leaves, strict=True)])


def langevin_noise(step):
    """xi_t: word 1 of block 0 under train step t's key."""
    return tree_normal(step_key(step), PARAMS, block=0, word=1)


def axpy(a, x, y):
    return jax.tree.map(lambda xi, yi: a * xi + yi, x, y)


def step_key(t, seed=3):
    """The key train step t gets."""
    return jax.random.fold_in(jax.random.key(seed), t)


def run(method, loss_fn=quadratic_loss, num_steps=1, params=PARAMS, seed=3):
    step = jax.jit(method.train_step(loss_fn))
    opt_state = method.optimizer.init(params)
    for t in range(num_steps):
        params, opt_state, info = step(step_key(t, seed), params, opt_state, BATCH)
    return params, info


def assert_tree_close(x, y, rtol=1e-12, atol=1e-14):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=rtol, atol=atol), x, y)


def assert_tree_equal(x, y):
    jax.tree.map(np.testing.assert_array_equal, x, y)


LR, BETA, SIGMA, RHO, SEED = 0.1, 50.0, 0.3, 0.05, 7
STEP_KEY = step_key(0)


# ---------------------------------------------------------------- one step vs hand computation


def test_sgd_step_is_hand_computation():
    params, info = run(so.sgd(LR))
    assert_tree_close(params, axpy(-LR, quadratic_grad(PARAMS, BATCH), PARAMS))
    np.testing.assert_allclose(info.loss, quadratic_loss(PARAMS, BATCH), rtol=1e-14)


def test_sgld_two_steps_follow_the_key_convention():
    params, _ = run(so.sgld(LR, BETA), num_steps=2)
    expected = PARAMS
    for t in range(2):
        expected = axpy(-LR, quadratic_grad(expected, BATCH), expected)
        expected = axpy(np.sqrt(2 * LR / BETA), langevin_noise(t), expected)
    assert_tree_close(params, expected)


def test_fsgld_step_is_hand_computation_with_coupled_sigma():
    sigma = float(coupled_sigma(BETA, 0.1))
    params, info = run(so.fsgld(LR, BETA))
    perturbed = axpy(sigma, tree_normal(STEP_KEY, PARAMS), PARAMS)
    expected = axpy(-LR, quadratic_grad(perturbed, BATCH), PARAMS)
    expected = axpy(np.sqrt(2 * LR / BETA), langevin_noise(0), expected)
    assert_tree_close(params, expected)
    np.testing.assert_allclose(info.loss, quadratic_loss(perturbed, BATCH), rtol=1e-14)


def test_rwp_averages_num_draws_perturbed_gradients():
    params, _ = run(so.rwp(LR, SIGMA, num_draws=3), loss_fn=cubic_loss)
    grads = [jax.grad(cubic_loss)(axpy(SIGMA, tree_normal(STEP_KEY, PARAMS, m), PARAMS), BATCH)
             for m in range(3)]
    mean = jax.tree.map(lambda *g: sum(g) / 3, *grads)
    assert_tree_close(params, axpy(-LR, mean, PARAMS))


def test_antithetic_pair_averages_gradients_at_plus_and_minus_perturbation():
    params, _ = run(so.rwp(LR, SIGMA, num_draws=2, antithetic=True), loss_fn=cubic_loss)
    xi = tree_normal(STEP_KEY, PARAMS)
    plus, minus = (jax.grad(cubic_loss)(axpy(s * SIGMA, xi, PARAMS), BATCH) for s in (1, -1))
    assert_tree_close(params, axpy(-LR / 2, optax.tree.add(plus, minus), PARAMS))


def test_sam_step_is_the_two_gradient_definition_and_matches_optax_contrib():
    params, info = run(so.sam(LR, RHO), loss_fn=cubic_loss)
    g = jax.grad(cubic_loss)(PARAMS, BATCH)
    adversarial = axpy(RHO / optax.tree.norm(g), g, PARAMS)
    assert_tree_close(params, axpy(-LR, jax.grad(cubic_loss)(adversarial, BATCH), PARAMS))
    np.testing.assert_allclose(info.loss, cubic_loss(adversarial, BATCH), rtol=1e-14)

    reference = optax.contrib.sam(
        optax.sgd(LR), optax.chain(optax.contrib.normalize(), optax.sgd(RHO)), opaque_mode=True)
    updates, _ = reference.update(g, reference.init(PARAMS), PARAMS,
                                  grad_fn=lambda p, _: jax.grad(cubic_loss)(p, BATCH))
    assert_tree_close(params, optax.apply_updates(PARAMS, updates))


def test_asam_step_is_hand_computation():
    eta = 0.01
    params, _ = run(so.asam(LR, RHO, eta), loss_fn=cubic_loss)
    g = jax.grad(cubic_loss)(PARAMS, BATCH)
    t = jax.tree.map(lambda w: jnp.abs(w) + eta, PARAMS)
    tg = optax.tree.mul(t, g)
    adversarial = axpy(RHO / optax.tree.norm(tg), optax.tree.mul(t, tg), PARAMS)
    assert_tree_close(params, axpy(-LR, jax.grad(cubic_loss)(adversarial, BATCH), PARAMS))


# SGD with momentum: tests/test_optim_mutants.py, against the heavy-ball recursion by hand


# ---------------------------------------------------------------- limits tying methods together


def test_fsgld_with_sigma_zero_is_sgld_exactly():
    fsgld, _ = run(so.fsgld(LR, BETA, sigma=0.0), num_steps=3)
    sgld, _ = run(so.sgld(LR, BETA), num_steps=3)
    assert_tree_equal(fsgld, sgld)


def test_sgld_at_infinite_beta_is_sgd():
    sgd, _ = run(so.sgd(LR), num_steps=3)
    assert_tree_equal(run(so.sgld(LR, np.inf), num_steps=3)[0], sgd)
    # noise sqrt(2 lr / 1e30) ~ 4e-16 per step: equal to rounding
    assert_tree_close(run(so.sgld(LR, 1e30), num_steps=3)[0], sgd,
                      rtol=0, atol=1e-14)


def test_rwp_is_fsgld_at_infinite_beta():
    rwp, _ = run(so.rwp(LR, SIGMA), loss_fn=cubic_loss, num_steps=3)
    fsgld, _ = run(so.fsgld(LR, np.inf, sigma=SIGMA), loss_fn=cubic_loss, num_steps=3)
    assert_tree_equal(rwp, fsgld)


def test_sam_with_rho_zero_is_sgd():
    sam, _ = run(so.sam(LR, 0.0), loss_fn=cubic_loss, num_steps=2)
    assert_tree_equal(sam, run(so.sgd(LR), loss_fn=cubic_loss, num_steps=2)[0])


# ---------------------------------------------------------------- noise scale, composition


def test_scheduled_noise_std_is_sqrt_2_lr_t_over_beta():
    """Zero gradients: each step's update is pure noise of std sqrt(2 lr_t / beta)."""
    n, beta = 20_000, 4.0
    schedule = optax.exponential_decay(0.5, transition_steps=1, decay_rate=0.3)
    opt = so.langevin_sgd(schedule, beta, key=SEED)
    state, update = opt.init(jnp.zeros(n)), jax.jit(opt.update)
    for t in range(4):
        updates, state = update(jnp.zeros(n), state)
        std = np.sqrt(2 * schedule(t) / beta)
        # SE of the sample std ~ std / sqrt(2 n); of the mean std / sqrt(n)
        assert abs(np.std(updates) - std) < 5 * std / np.sqrt(2 * n), t
        assert abs(np.mean(updates)) < 5 * std / np.sqrt(n), t


def test_composes_with_weight_decay_chain():
    wd = 5e-4
    method = so.fsgld(LR, BETA, sigma=SIGMA)
    method = method._replace(optimizer=optax.chain(optax.add_decayed_weights(wd),
                                                   method.optimizer))
    params, _ = run(method)
    perturbed = axpy(SIGMA, tree_normal(STEP_KEY, PARAMS), PARAMS)
    direction = axpy(wd, PARAMS, quadratic_grad(perturbed, BATCH))
    expected = axpy(-LR, direction, PARAMS)
    assert_tree_close(params, axpy(np.sqrt(2 * LR / BETA), langevin_noise(0), expected))


def test_inject_hyperparams_traces_beta():
    opt = optax.inject_hyperparams(so.langevin_sgd)(learning_rate=LR, beta=BETA)
    updates, _ = jax.jit(opt.update)(quadratic_grad(PARAMS, BATCH), opt.init(PARAMS),
                                     noise_key=STEP_KEY)
    expected = axpy(-LR, quadratic_grad(PARAMS, BATCH),
                    jax.tree.map(lambda x: np.sqrt(2 * LR / BETA) * x, langevin_noise(0)))
    assert_tree_close(updates, expected)


def test_langevin_noise_with_its_own_key_follows_the_optax_convention():
    """key given: rng_{t+1}, noise_key = split(rng_t), whatever the step key."""
    opt = so.langevin_sgd(LR, BETA, key=SEED)
    state, update = opt.init(PARAMS), jax.jit(opt.update)
    rng = jax.random.key(SEED)
    for _ in range(2):
        updates, state = update(quadratic_grad(PARAMS, BATCH), state)
        rng, noise_key = jax.random.split(rng)
    expected = axpy(-LR, quadratic_grad(PARAMS, BATCH), jax.tree.map(
        lambda x: np.sqrt(2 * LR / BETA) * x, tree_normal(noise_key, PARAMS, 0, 1)))
    assert_tree_close(updates, expected)


def test_langevin_noise_without_a_key_needs_the_step_key():
    opt = so.langevin_sgd(LR, BETA)
    with pytest.raises(ValueError, match="noise_key=None"):
        opt.update(PARAMS, opt.init(PARAMS))


# ---------------------------------------------------------------- seeds never share noise


@pytest.mark.parametrize("make", [lambda: so.sgld(LR, BETA), lambda: so.fsgld(LR, BETA)])
def test_different_step_keys_give_different_langevin_noise(make):
    """Runs that differ only in their step keys must not share noise (a key-0 default did);
    the same keys reproduce the run bit for bit."""
    a, b, a_again = (ravel_pytree(run(make(), num_steps=2, seed=s)[0])[0] for s in (3, 4, 3))
    np.testing.assert_array_equal(a, a_again)
    # Langevin noise alone moves each coordinate by ~ sqrt(2 lr / beta) = 0.06 per step
    assert np.min(np.abs(a - b)) > 1e-6


# ---------------------------------------------------------------- schedulable hyperparameters


def test_fsgld_with_traced_beta_uses_the_coupling():
    """fsgld(lr, beta) inside jit/vmap: sigma = beta^(-(1+eta)/4) from the traced beta."""
    def one(beta):
        method = so.fsgld(LR, beta)
        step = method.train_step(quadratic_loss)
        return step(STEP_KEY, PARAMS, method.optimizer.init(PARAMS), BATCH)[0]

    betas = jnp.array([BETA, 4 * BETA])
    traced = jax.jit(jax.vmap(one))(betas)
    for i, beta in enumerate([BETA, 4 * BETA]):
        assert_tree_close(jax.tree.map(lambda x, i=i: x[i], traced),
                          run(so.fsgld(LR, beta))[0])


def test_inject_hyperparams_schedules_beta_sigma_and_rho():
    """optax.inject_hyperparams(optim.fsgld / optim.sam): the injected values drive both the
    optimiser (Langevin scale) and the rule (sigma from the coupling at beta; rho)."""
    beta2 = 4 * BETA
    opt = optax.inject_hyperparams(so.fsgld)(learning_rate=LR, beta=BETA)
    state = opt.init(PARAMS)
    state.hyperparams["beta"] = jnp.asarray(beta2)  # a user's change reaches both at once
    step = jax.jit(so.make_train_step(quadratic_loss, opt, so.fsgld(LR, BETA).gradient_rule))
    params, state, _ = step(STEP_KEY, PARAMS, state, BATCH)
    assert_tree_close(params, run(so.fsgld(LR, beta2))[0])

    opt = optax.inject_hyperparams(so.fsgld)(learning_rate=LR, beta=BETA, sigma=SIGMA)
    state = opt.init(PARAMS)
    state.hyperparams["sigma"] = jnp.asarray(2 * SIGMA)
    step = jax.jit(so.make_train_step(quadratic_loss, opt, so.fsgld(LR, BETA, SIGMA)
                                      .gradient_rule))
    assert_tree_close(step(STEP_KEY, PARAMS, state, BATCH)[0],
                      run(so.fsgld(LR, BETA, sigma=2 * SIGMA))[0])

    opt = optax.inject_hyperparams(so.sam)(learning_rate=LR, rho=RHO)
    state = opt.init(PARAMS)
    state.hyperparams["rho"] = jnp.asarray(3 * RHO)
    step = jax.jit(so.make_train_step(cubic_loss, opt, so.sam(LR, RHO).gradient_rule))
    assert_tree_close(step(STEP_KEY, PARAMS, state, BATCH)[0],
                      run(so.sam(LR, 3 * RHO), loss_fn=cubic_loss)[0])


def test_inject_hyperparams_beta_schedule_runs_under_jit():
    schedule = optax.linear_schedule(BETA, 10 * BETA, transition_steps=3)
    opt = optax.inject_hyperparams(so.fsgld)(learning_rate=LR, beta=schedule)
    step = jax.jit(so.make_train_step(quadratic_loss, opt, so.fsgld(LR, BETA).gradient_rule))
    params, state = PARAMS, opt.init(PARAMS)
    for t in range(4):
        params, state, _ = step(step_key(t), params, state, BATCH)
    np.testing.assert_allclose(state.hyperparams["beta"], schedule(3))
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(params))


# ---------------------------------------------------------------- the noise is N(0, I), i.i.d.


def test_fsgld_noises_are_standard_normal_and_independent():
    """The perturbation xi' and the Langevin xi of fSGLD over a two-leaf pytree and T steps:
    moments and a KS test against N(0, 1); correlations between consecutive steps, between
    neighbouring parameters, across leaves, and between xi' and xi of one step, all within
    5 standard errors (1/sqrt(n)) of 0."""
    tree = {"b": jnp.zeros(64, jnp.float32), "w": jnp.zeros((64, 48), jnp.float32)}
    num_steps = 16

    def zero(params, batch):
        return 0.0 * sum(jnp.sum(x) for x in jax.tree.leaves(params))

    def half_square(params, batch):
        return 0.5 * sum(jnp.sum(x**2) for x in jax.tree.leaves(params))

    # fSGLD at lr = 1: with L = |p|^2/2 at p = 0 and beta = inf the step is -xi'; with L = 0
    # and beta = 2 it is xi. Same step keys, so xi' and xi of step t are paired.
    def draws(method, loss):
        step = jax.jit(method.train_step(loss))
        state = method.optimizer.init(tree)
        return np.stack([ravel_pytree(step(step_key(t), tree, state, None)[0])[0]
                         for t in range(num_steps)])

    xi_p = -draws(so.fsgld(1.0, np.inf, sigma=1.0), half_square)
    xi = draws(so.fsgld(1.0, 2.0, sigma=1.0), zero)
    n = xi.size
    for z in (xi_p, xi):
        flat = z.ravel().astype(np.float64)
        assert abs(flat.mean()) < 5 / np.sqrt(n)
        assert abs(flat.var() - 1) < 5 * np.sqrt(2 / n)
        assert abs(scipy.stats.skew(flat)) < 5 * np.sqrt(6 / n)
        assert abs(scipy.stats.kurtosis(flat)) < 5 * np.sqrt(24 / n)
        assert scipy.stats.kstest(flat, "norm").pvalue > 1e-3
        pairs = [(z[:-1], z[1:]),                              # consecutive steps
                 (z[:, :-1], z[:, 1:]),                        # neighbouring parameters
                 (z[:, :64], z[:, 64:128])]                    # leaf "b" against leaf "w"
        for a, b in pairs:
            r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
            assert abs(r) < 5 / np.sqrt(a.size), r
    r = np.corrcoef(xi_p.ravel(), xi.ravel())[0, 1]
    assert abs(r) < 5 / np.sqrt(n), r


def test_named_terms_and_aux_flow_into_info():
    def loss(params, batch):
        terms = {"fit": quadratic_loss(params, batch), "penalty": jnp.sum(params["w"] ** 2)}
        return terms, {"w0": params["w"][0]}

    step = jax.jit(so.sgd(LR).train_step(loss, has_aux=True))
    params, _, info = step(STEP_KEY, PARAMS, so.sgd(LR).optimizer.init(PARAMS), BATCH)
    np.testing.assert_allclose(info.terms["fit"], quadratic_loss(PARAMS, BATCH), rtol=1e-14)
    np.testing.assert_allclose(info.loss, info.terms["fit"] + info.terms["penalty"], rtol=1e-14)
    assert info.aux["w0"] == PARAMS["w"][0]
    grad = optax.tree.add(quadratic_grad(PARAMS, BATCH), {"b": jnp.zeros(2), "w": 2 * PARAMS["w"]})
    assert_tree_close(params, axpy(-LR, grad, PARAMS))


# ---------------------------------------------------------------- DGSAM and DCGD rules


@pytest.mark.parametrize("include_first", [True, False])
def test_dgsam_is_the_chain_of_per_domain_gradients(include_first):
    domains = [BATCH, jax.tree.map(lambda x: -2 * x + 0.1, BATCH),
               jax.tree.map(lambda x: x + 1.0, BATCH)]
    rule = so.domain_gradual_sharpness_aware(RHO, include_first=include_first)
    direction, info = jax.jit(rule, static_argnums=3)(STEP_KEY, PARAMS, domains,
                                                      so.as_objective(cubic_loss))

    order = np.asarray(jax.random.permutation(STEP_KEY, 3))
    point, grads, losses = PARAMS, [], []
    for d in [*order, order[0]]:
        g = jax.grad(cubic_loss)(point, domains[d])
        losses.append(cubic_loss(point, domains[d]))
        grads.append(g)
        point = axpy(RHO / optax.tree.norm(g), g, point)
    summed = grads if include_first else grads[1:]
    expected = jax.tree.map(lambda *g: 3 * sum(g) / len(summed), *summed)
    assert_tree_close(direction, expected)
    np.testing.assert_allclose(info.loss, np.mean(losses), rtol=1e-13)


BOUNDARY_SLOPE = {"b": np.array([0.28, -0.46]), "w": np.array([-0.18, 0.6, -0.42])}


def pinn_like_loss(params, batch):
    """Two terms; at PARAMS the boundary gradient is -0.2 g_r plus a small orthogonal part, so
    the gradients conflict and g = g_r + g_b lies outside the dual cone (<g, g_b> < 0)."""
    return {"residual": quadratic_loss(params, batch),
            "boundary": optax.tree.vdot(BOUNDARY_SLOPE, params)}


def dual_cone_reference(variant, g_r, g_b):
    """The three DCGD directions on flat vectors (docs/theory.md §9)."""
    g = g_r + g_b

    def reject(h):
        return g - (g @ h) / (h @ h) * h

    if variant == "center":
        n_r, n_b = np.linalg.norm(g_r), np.linalg.norm(g_b)
        return (n_r + n_b) / 2 * (g_r / n_r + g_b / n_b)
    if variant == "projection":
        return reject(g_r) if g @ g_r < 0 else reject(g_b)
    return (reject(g_r) + reject(g_b)) / 2


@pytest.mark.parametrize("variant", so.DUAL_CONE_VARIANTS)
def test_dual_cone_direction(variant):
    rule = so.dual_cone(variant)
    direction, info = jax.jit(rule, static_argnums=3)(STEP_KEY, PARAMS, BATCH,
                                                      so.as_objective(pinn_like_loss))
    flat = lambda tree: np.asarray(ravel_pytree(tree)[0])
    g_r = flat(quadratic_grad(PARAMS, BATCH))
    g_b = flat(BOUNDARY_SLOPE)
    g, d = g_r + g_b, flat(direction)
    assert g_r @ g_b < 0 and g @ g_b < 0  # a conflict, and g outside the dual cone
    assert d @ g_r >= -1e-12 and d @ g_b >= -1e-12  # every variant lands in the cone
    np.testing.assert_allclose(d, dual_cone_reference(variant, g_r, g_b), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(info.loss, sum(pinn_like_loss(PARAMS, BATCH).values()), rtol=1e-14)


def test_dual_cone_needs_two_terms():
    with pytest.raises(ValueError, match="exactly two named terms"):
        so.dual_cone()(STEP_KEY, PARAMS, BATCH, so.as_objective(quadratic_loss))


# ---------------------------------------------------------------- argument checks


@pytest.mark.parametrize("make, match", [
    (lambda: so.sgld(LR, 0.0), "beta=0.0"),
    (lambda: so.sgld(LR, -1.0), "beta=-1.0"),
    (lambda: so.fsgld(LR, -2.0), "beta=-2.0"),
    (lambda: so.fsgld(LR, BETA, sigma=-0.1), "sigma=-0.1"),
    (lambda: so.rwp(LR, -0.5), "sigma=-0.5"),
    (lambda: so.sgd(0.0), "learning_rate=0.0"),
    (lambda: so.fsgld(-0.1, BETA), "learning_rate=-0.1"),
    (lambda: so.sam(LR, -0.05), "rho=-0.05"),
    (lambda: so.asam(LR, RHO, eta=-1.0), "eta=-1.0"),
    (lambda: so.sgd(LR, momentum=1.0), "momentum=1.0"),
    (lambda: so.rwp(LR, SIGMA, num_draws=0), "num_draws=0"),
    (lambda: so.rwp(LR, SIGMA, num_draws=3, antithetic=True), "num_draws=3"),
    (lambda: so.dual_cone("median"), "'median'.*'center'"),
    (lambda: so.method_from_name("adamw", learning_rate=LR), "'adamw'.*'fsgld'"),
])
def test_bad_arguments_raise_naming_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_method_from_name_builds_the_factory():
    assert so.method_from_name("fsgld", learning_rate=LR, beta=BETA).name == "fsgld"

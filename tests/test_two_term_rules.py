"""Two-term gradient rules (DCGD projection/average/center, PCGrad, MGDA) and loss weightings
(LRA, NTK) against hand computations on small gradient pairs, the dual-cone property, the
min-norm property of MGDA, float32 precision of DCGD-Center, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from sgldsim import optim as so
from sgldsim.optim.dual_cone import DUAL_CONE_COMBINATIONS
from sgldsim.optim.multitask import mgda_direction, pcgrad_direction

RULES = {**DUAL_CONE_COMBINATIONS, "pcgrad": pcgrad_direction, "mgda": mgda_direction}
S2, S5 = np.sqrt(2.0), np.sqrt(5.0)

# (g_r, g_b, expected direction per rule), each expectation worked out by hand:
CASES = {
    # <g_r, g_b> = 1 > 0: g = (2, 1) is in K*; MGDA: gamma = <(0,1),(1,1)>/1 = 1 -> g_r.
    "aligned": ((1.0, 0.0), (1.0, 1.0), {
        "projection": (2.0, 1.0), "average": (2.0, 1.0), "pcgrad": (2.0, 1.0),
        "center": ((1 + S2) / 2 * (1 + 1 / S2), (1 + S2) / 2 / S2), "mgda": (1.0, 0.0)}),
    # <g_r, g_b> = 2 > 0, g = (3, 1) in K*; MGDA: <(1,1),(2,1)>/2 = 1.5 clips to 1 -> g_r
    # (the min-norm point of the segment is its end g_r).
    "aligned, boundary larger": ((1.0, 0.0), (2.0, 1.0), {
        "projection": (3.0, 1.0), "average": (3.0, 1.0), "pcgrad": (3.0, 1.0),
        "center": ((1 + S5) / 2 * (1 + 2 / S5), (1 + S5) / 2 / S5), "mgda": (1.0, 0.0)}),
    # <g_r, g_b> = -3 < 0 but g = (2, 2) has <g, g_r> = 6, <g, g_b> = 2: inside K*, so
    # projection and average leave g alone while PCGrad acts:
    # P_b(g_r) = (3,0) + 3/5 (-1,2) = (2.4, 1.2), P_r(g_b) = (-1,2) + 1/3 (3,0) = (0, 2);
    # MGDA: gamma = <(-4,2),(-1,2)>/20 = 0.4 -> (0.6, 1.2).
    "one dominating": ((3.0, 0.0), (-1.0, 2.0), {
        "projection": (2.0, 2.0), "average": (2.0, 2.0), "pcgrad": (2.4, 3.2),
        "center": ((3 + S5) / 2 * (1 - 1 / S5), (3 + S5) / 2 * 2 / S5), "mgda": (0.6, 1.2)}),
    # g = (-1, 1): <g, g_r> = -1 < 0, <g, g_b> = 3: outside K*. P_r(g) = (0, 1),
    # P_b(g) = (-1,1) - 3/5 (-2,1) = (0.2, 0.4); PCGrad (0.2,0.4) + (0,1) = twice the average;
    # MGDA: gamma = <(-3,1),(-2,1)>/10 = 0.7 -> (0.1, 0.3).
    "conflicting": ((1.0, 0.0), (-2.0, 1.0), {
        "projection": (0.0, 1.0), "average": (0.1, 0.7), "pcgrad": (0.2, 1.4),
        "center": ((1 + S5) / 2 * (1 - 2 / S5), (1 + S5) / 2 / S5), "mgda": (0.1, 0.3)}),
    # cos = -1 with |g_r| != |g_b|: every rule gives 0 (a Pareto-stationary point).
    "exactly opposite": ((2.0, 0.0, 0.0), (-1.0, 0.0, 0.0), {
        r: (0.0, 0.0, 0.0) for r in RULES}),
    # A term with zero gradient: g itself (no NaN); MGDA's min-norm point of [g_r, 0] is 0.
    "zero boundary gradient": ((1.0, 2.0, 3.0), (0.0, 0.0, 0.0), {
        **{r: (1.0, 2.0, 3.0) for r in RULES}, "mgda": (0.0, 0.0, 0.0)}),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rule", RULES)
def test_rule_equals_hand_computation(case, rule):
    g_r, g_b, expected = CASES[case]
    d = RULES[rule](jnp.asarray(g_r, jnp.float32), jnp.asarray(g_b, jnp.float32))
    assert d.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(d), expected[rule], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("rule", ["center", "projection", "average", "mgda"])
def test_direction_lies_in_the_dual_cone(rule):
    """<d, g_r> >= 0 and <d, g_b> >= 0 for random 4-D pairs (many in conflict)."""
    g = jax.random.normal(jax.random.key(0), (2, 500, 4), jnp.float32)
    g_r, g_b = g[0], g[1] * jnp.array([[3.0, 0.3, 1.0, 0.1]], jnp.float32)
    d = jax.jit(jax.vmap(RULES[rule]))(g_r, g_b)
    assert np.mean(np.sum(g_r * g_b, axis=1) < 0) > 0.3
    scale = jnp.linalg.norm(d, axis=1) * jnp.linalg.norm(g_r + g_b, axis=1)
    for g_i in (g_r, g_b):
        assert np.all(np.sum(d * g_i, axis=1) >= -1e-5 * scale)


@pytest.mark.parametrize("rule", ["projection", "average"])
def test_projection_and_average_are_g_inside_the_cone(rule):
    """Inside K* (also with conflicting gradients) projection and average return g exactly."""
    g = jax.random.normal(jax.random.key(1), (2, 500, 3), jnp.float32)
    g_r, g_b = g[0], g[1]
    total = g_r + g_b
    inside = (np.sum(total * g_r, 1) >= 0) & (np.sum(total * g_b, 1) >= 0)
    conflict_inside = inside & (np.sum(g_r * g_b, 1) < 0)
    assert conflict_inside.sum() > 20
    d = jax.jit(jax.vmap(RULES[rule]))(g_r, g_b)
    np.testing.assert_array_equal(np.asarray(d)[inside], np.asarray(total)[inside])


def test_mgda_is_the_min_norm_point_of_the_hull():
    """Against a brute-force search over gamma in [0, 1] (float64, 200001 points)."""
    rng = np.random.default_rng(2)
    gammas = np.linspace(0.0, 1.0, 200001)[:, None]
    for i in range(40):
        g_r, g_b = rng.normal(size=(2, 5))
        g_b = g_b + (2.0 * g_r if i % 2 else 0.0)  # half of the pairs with the end as optimum
        hull = gammas * g_r + (1 - gammas) * g_b
        best = hull[np.argmin(np.linalg.norm(hull, axis=1))]
        d = np.asarray(mgda_direction(jnp.asarray(g_r, jnp.float32),
                                      jnp.asarray(g_b, jnp.float32)))
        np.testing.assert_allclose(d, best, atol=1e-4 * np.abs(g_r - g_b).max() + 1e-6)


def test_center_keeps_float32_precision_when_nearly_opposite():
    """g_r = (10, 0), g_b = (-1, 1e-5): exact second component 5.5 * 1e-5 / |g_b| = 5.5e-5
    (the projection form loses it in float32)."""
    d = so.dual_cone("center")
    center = DUAL_CONE_COMBINATIONS["center"]
    out = center(jnp.array([10.0, 0.0], jnp.float32), jnp.array([-1.0, 1e-5], jnp.float32))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out)[1], 5.5e-5, rtol=1e-4)
    assert abs(float(out[0])) < 1e-6
    assert callable(d)


def test_rules_are_finite_and_differentiable_with_a_zero_term():
    """No NaN in the direction or its derivative when g_b = 0 (all rules)."""
    g_r = jnp.array([1.0, -2.0, 0.5], jnp.float32)
    for name, rule in RULES.items():
        out, vjp = jax.vjp(rule, g_r, jnp.zeros(3, jnp.float32))
        assert np.all(np.isfinite(out)), name
        assert all(np.all(np.isfinite(g)) for g in vjp(jnp.ones(3, jnp.float32))), name


def two_term_loss(params, batch):
    """L_r = 0.5 |A p - b|^2, L_b = <c, p>: gradients A^T (A p - b) and c."""
    a, b, c = batch
    p = params["p"]
    return {"residual": 0.5 * jnp.sum((a @ p - b) ** 2), "boundary": c @ p}


BATCH = (jnp.array([[1.0, 0.5, 0.0], [0.0, 2.0, -1.0]]), jnp.array([0.3, -0.2]),
         jnp.array([-1.5, 0.4, 0.9]))
PARAMS = {"p": jnp.array([0.7, -0.4, 0.2])}


@pytest.mark.parametrize("name, make", [
    ("pcgrad", so.pcgrad), ("mgda", so.mgda), ("center", lambda: so.dual_cone("center")),
    ("projection", lambda: so.dual_cone("projection")),
    ("average", lambda: so.dual_cone("average"))])
def test_rule_feeds_the_term_gradients_to_its_combination(name, make):
    a, b, c = BATCH
    p = PARAMS["p"]
    g_r, g_b = a.T @ (a @ p - b), c
    assert float(g_r @ g_b) < 0
    direction, info = make()(jax.random.key(0), PARAMS, BATCH, so.as_objective(two_term_loss))
    np.testing.assert_allclose(ravel_pytree(direction)[0], RULES[name](g_r, g_b), rtol=1e-6)
    np.testing.assert_allclose(info.loss, sum(two_term_loss(PARAMS, BATCH).values()), rtol=1e-6)


@pytest.mark.parametrize("make", [so.pcgrad, so.mgda, so.dual_cone])
def test_two_term_rules_reject_other_losses(make):
    def three_terms(params, batch):
        return {"residual": params["p"][0], "boundary": params["p"][1], "initial": 0.0}

    with pytest.raises(ValueError, match=r"exactly two named terms.*got 3: \['boundary', "
                                         r"'initial', 'residual'\]"):
        make()(jax.random.key(0), PARAMS, BATCH, so.as_objective(three_terms))


def test_lra_weight_and_update():
    g_r = {"w": jnp.array([0.5, -4.0]), "b": jnp.array([1.0])}
    g_b = {"w": jnp.array([1.0, -1.0]), "b": jnp.array([-4.0])}
    # max |g_r| = 4, mean |g_b| = 2 -> lambda_hat = 2; moving average from 1 with alpha 0.1
    np.testing.assert_allclose(so.lra_weight(g_r, g_b), 2.0)
    np.testing.assert_allclose(so.lra_update(1.0, g_r, g_b, 0.1), 1.1)
    np.testing.assert_allclose(so.lra_weight(g_r, jax.tree.map(jnp.zeros_like, g_b)), 1.0)


def test_lra_code_and_paper_estimates():
    """From lambda = 2: the code's estimate divides by mean|lambda g_b| = 4 (lambda_hat = 1,
    update 1.9); the paper's by mean|g_b| = 2 (lambda_hat = 2, update 2.0). Iterated, the code
    form settles at sqrt(max|g_r| / mean|g_b|) = sqrt(2), the paper form at 2."""
    g_r = {"w": jnp.array([0.5, -4.0]), "b": jnp.array([1.0])}
    g_b = {"w": jnp.array([1.0, -1.0]), "b": jnp.array([-4.0])}
    np.testing.assert_allclose(so.lra_update(2.0, g_r, g_b, 0.1), 1.9, rtol=1e-6)
    np.testing.assert_allclose(so.lra_update(2.0, g_r, g_b, 0.1, "paper"), 2.0, rtol=1e-6)
    for estimate, fixed_point in (("code", np.sqrt(2.0)), ("paper", 2.0)):
        weight = jnp.float32(50.0)
        for _ in range(400):
            weight = so.lra_update(weight, g_r, g_b, 0.1, estimate)
        np.testing.assert_allclose(weight, fixed_point, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown LRA estimate 'wang'.*'code', 'paper'"):
        so.lra_update(1.0, g_r, g_b, 0.1, "wang")


def test_ntk_trace_and_weights():
    """f_i(theta) = x_i . theta has d f_i/d theta = x_i, so tr K = sum_i |x_i|^2."""
    x = jnp.array([[1.0, 2.0], [0.0, -3.0], [0.5, 0.5]])
    trace = so.ntk_trace(lambda th: x @ th, jnp.array([0.3, -0.1]))
    np.testing.assert_allclose(trace, 1 + 4 + 9 + 0.5, rtol=1e-6)
    lam_r, lam_b = so.ntk_weights(2.0, 6.0)
    np.testing.assert_allclose((lam_r, lam_b), (4.0, 8.0 / 6.0))


# --- per-term gradients by name (a loss whose dict order is not its sorted order) ------------


def residual_first_loss(params, batch):
    """L_r = |A p - b|^2 / 2 and L_b = <c, p>, written residual first ("boundary" sorts first)."""
    a, b, c = batch
    p = params["p"]
    return {"residual": 0.5 * jnp.sum((a @ p - b) ** 2), "boundary": c @ p}


def test_term_gradients_are_keyed_by_the_terms_names():
    a, b, c = BATCH
    p = PARAMS["p"]
    gradients, info = so.term_gradients(so.as_objective(residual_first_loss), PARAMS, BATCH, "t")
    assert set(gradients) == {"residual", "boundary"}
    np.testing.assert_allclose(gradients["residual"]["p"], a.T @ (a @ p - b), rtol=1e-6)
    np.testing.assert_allclose(gradients["boundary"]["p"], c, rtol=1e-6)
    np.testing.assert_allclose(info.terms["boundary"], c @ p, rtol=1e-6)


def test_an_asymmetric_rule_weights_the_named_term():
    """combine(g_1, g_2) = g_1 + 10 g_2 with g_1 the residual's gradient: swapping the two
    gradients (the sorted-key order of jax.vjp's output) gives a different direction."""
    a, b, c = BATCH
    p = PARAMS["p"]
    g_r, g_b = a.T @ (a @ p - b), c
    rule = so.two_term_rule("weighted", lambda g1, g2: jax.tree.map(lambda x, y: x + 10 * y,
                                                                    g1, g2),
                            names=("residual", "boundary"))
    direction, _ = rule(jax.random.key(0), PARAMS, BATCH, so.as_objective(residual_first_loss))
    np.testing.assert_allclose(direction["p"], g_r + 10 * g_b, rtol=1e-6)
    assert not np.allclose(direction["p"], g_b + 10 * g_r, rtol=1e-3)
    with pytest.raises(ValueError, match="must be the loss's two terms"):
        so.two_term_rule("w", lambda g1, g2: g1, names=("residual", "bc"))(
            jax.random.key(0), PARAMS, BATCH, so.as_objective(residual_first_loss))


def test_lra_weights_the_boundary_where_the_residual_gradient_dominates():
    """Helmholtz 2-D: |g_r| >> |g_b| at initialisation, so LRA's weight on the boundary term
    grows far above 1 within 100 steps and log10(|g_r| / |g_b|) is positive; with the
    gradients swapped the weight stays below 1 (0.67 after one step)."""
    from sgldsim import pinn

    runs = pinn.train_pinn_runs(pinn.problem("helmholtz2d"), ["lra"], jax.random.key(0)[None],
                                hidden=(16, 16), steps=100, block_steps=100, n_residual=128,
                                n_boundary=32, ntk_points=8)
    assert runs.block_weight[0, 0] > 10.0, runs.block_weight
    assert runs.block_log_ratio[0, 0] > 0.0, runs.block_log_ratio

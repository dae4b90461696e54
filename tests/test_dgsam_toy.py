"""dgsam-toy (docs/theory.md §8, this project's construction): the domain losses are bounded and
non-negative, both minima are strict minima of every domain loss with the closed-form Hessians
(against autodiff), the control has the same pooled Hessian along the valley, a saddle is never
classified as a minimum, DGSAM's direction is scaled to a mean gradient, and a tiny run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from param_checks import assert_wrong_type_is_refused

from sgldsim import optim
from sgldsim._precision import enable_x64
from sgldsim.experiments.dgsam import dgsam_toy as toy
from sgldsim.runner import ConfigError, resolve_experiment, run_experiment
from sgldsim.verdicts import VERDICTS


def _grid(n=21, x=4.0, v=3.0):
    axes = np.linspace(-x, x, n), np.linspace(-v, v, n), np.linspace(-v, v, n)
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


@pytest.mark.parametrize("landscape", toy.LANDSCAPES)
def test_domain_losses_are_bounded_and_non_negative(landscape):
    """On a grid: 0 <= L_d < 1. Closed form: B_d(x) is positive definite for every x (t(x) in
    [t_lo, t_hi] and the smallest eigenvalue of a matrix linear in t is concave in t, so the
    ends decide), hence h_d >= beta (x^2 - 1)^2 / 8 >= 0 and L_d = 1 - exp(-h_d) in [0, 1)."""
    points = jnp.asarray(np.concatenate([_grid(), _grid(x=2.0, v=1.0)]))
    for batch in toy.domains(landscape):
        values = np.asarray(jax.vmap(lambda w, b=batch: toy.domain_loss(w, b))(points))
        # 1 is reached only by rounding exp(-h) to 0 (h > 17 in float32)
        assert values.min() >= 0.0 and values.max() <= 1.0
        assert np.ptp(values) > 0.99  # the grid reaches from the wells to the plateau
    t_lo, t_hi = toy.blend_bounds()
    assert t_lo < 0.0 < 1.0 < t_hi
    x = jnp.linspace(-50, 50, 2001)
    t = np.asarray(toy.blend(x))
    assert t.min() >= t_lo - 1e-6 and t.max() <= t_hi + 1e-6  # float32 rounding
    b = toy.valley_matrices(landscape)
    for t_end in (t_lo, t_hi):
        blended = (1 - t_end) * b[:, 0] + t_end * b[:, 1]
        assert np.linalg.eigvalsh(blended).min() > 0.1


@pytest.mark.parametrize("landscape", toy.LANDSCAPES)
def test_both_minima_are_strict_minima_of_every_domain_loss(landscape):
    """At p_-+: L_d = 0, grad L_d = 0 and jax.hessian equals diag(beta, B_d^-+)."""
    closed = toy.domain_hessians_at_minima(landscape)
    with enable_x64(True):
        for d, batch in enumerate(toy.domains(landscape)):
            batch = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), batch)
            for k, point in enumerate(toy.MINIMA):
                w = jnp.asarray(point, jnp.float64)
                assert float(toy.domain_loss(w, batch)) == 0.0
                np.testing.assert_allclose(jax.grad(toy.domain_loss)(w, batch), 0.0, atol=1e-15)
                hessian = np.asarray(jax.hessian(toy.domain_loss)(w, batch))
                np.testing.assert_allclose(hessian, closed[d, k], atol=1e-12)
                assert np.linalg.eigvalsh(hessian).min() >= min(toy.VALLEY_CURVATURE,
                                                                toy.FLAT) - 1e-12


def test_stated_curvatures_make_p_minus_fake_flat_and_the_control_swap_roles():
    s, f, m = toy.SHARP, toy.FLAT, toy.INDIVIDUAL
    main, control = toy.top_curvatures("fake_flat"), toy.top_curvatures("control")
    np.testing.assert_allclose(main["pooled"], [(s + f) / 2, m])
    np.testing.assert_allclose(main["domain"], [[s, m], [s, m]])
    np.testing.assert_allclose(control["pooled"], [(s + f) / 2, m])
    np.testing.assert_allclose(control["domain"], [[(s + f) / 2, 2 * m - f]] * 2)
    # fake_flat: p_- is pooled-flatter but individually sharper than p_+
    assert main["pooled"][0] < main["pooled"][1] and main["domain"][0, 0] > main["domain"][0, 1]
    # control: p_- is flatter in both senses
    assert control["domain"][0, 0] < control["domain"][0, 1]
    # domains sharp in different directions at the fake flat minimum
    h = toy.domain_hessians_at_minima("fake_flat")[:, 0]
    tops = [np.linalg.eigh(h[d])[1][:, -1] for d in range(2)]
    assert abs(tops[0] @ tops[1]) < 1e-12
    assert toy.largest_curvature() == pytest.approx(2 * m - f)


@pytest.mark.parametrize("x", [-1.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.0])
def test_control_has_the_same_pooled_hessian_on_the_valley_floor(x):
    w = jnp.array([x, 0.0, 0.0])
    main = jax.hessian(lambda w: toy.pooled_loss(w, "fake_flat"))(w)
    control = jax.hessian(lambda w: toy.pooled_loss(w, "control"))(w)
    np.testing.assert_allclose(main, control, atol=1e-6)


def test_learning_rates_are_stable_everywhere_on_a_grid():
    """The largest eigenvalue of any domain Hessian on a grid (not only at the minima) times the
    largest allowed learning rate stays below 2."""
    points = jnp.asarray(_grid(n=15, x=3.0, v=1.5))
    top = 0.0
    for landscape in toy.LANDSCAPES:
        for batch in toy.domains(landscape):
            eig = jax.vmap(lambda w, b=batch: jnp.linalg.eigvalsh(
                jax.hessian(toy.domain_loss)(w, b))[-1])(points)
            top = max(top, float(eig.max()))
    assert top * toy.MAX_LEARNING_RATE < 2.0


def test_a_saddle_end_point_is_not_a_minimum():
    """w = 0 is a critical point of every L_d (grad h_d = 0: x = 0 on the valley floor) where
    Hess L_d = exp(-h) (Hess h - grad h grad h') has the eigenvalue exp(-beta / 8) h_xx,
    h_xx = beta (3 x^2 - 1) / 2 = -beta / 2 < 0: a saddle of every domain loss. It is
    classified "other" even with tolerances that would accept anything else."""
    for landscape in toy.LANDSCAPES:
        b = toy.valley_matrices(landscape)
        saddle = jnp.zeros((1, 3))
        left, right, eig, grad = map(np.asarray, toy.end_measures(
            saddle, jnp.asarray(b[None, :, 0]), jnp.asarray(b[None, :, 1])))
        np.testing.assert_allclose(grad, 0.0, atol=1e-7)
        beta = toy.VALLEY_CURVATURE
        np.testing.assert_allclose(eig, -beta / 2 * np.exp(-beta / 8), rtol=1e-5)
        code = toy.classify(left, right, eig, grad, distance_tol=2.0, curvature_floor=1e-9,
                            gradient_tol=1.0)
        assert [toy.OUTCOMES[c] for c in code] == ["other"]


def test_classify_minima_plateau_and_non_finite():
    b = toy.valley_matrices("fake_flat")
    points = jnp.asarray([[-1.0, 0.0, 0.0], [1.02, 0.002, 0.0], [0.0, 2.5, 2.5], [-1.05, 0, 0]])
    measures = toy.end_measures(points, jnp.asarray(np.repeat(b[None, :, 0], 4, 0)),
                                jnp.asarray(np.repeat(b[None, :, 1], 4, 0)))
    left, right, eig, grad = (np.asarray(a).copy() for a in measures)
    left[3] = np.nan
    code = toy.classify(left, right, eig, grad, distance_tol=0.1, curvature_floor=0.02,
                        gradient_tol=0.02)
    assert [toy.OUTCOMES[c] for c in code] == ["left", "right", "other", "diverged"]


def test_dgsam_direction_divided_by_s_is_a_mean_gradient_at_rho_zero():
    """At rho = 0 DGSAM without the first gradient sums each domain's gradient once, times S/S:
    S times the pooled gradient; times c = 1/S it is GD's step. With the first gradient it is
    (S g + g_first) / (S + 1) after scaling, a mean of single-domain gradients."""
    batch = toy.domains("fake_flat")
    w = jnp.array([0.3, 0.2, -0.1])
    grads = [jax.grad(toy.domain_loss)(w, b) for b in batch]
    pooled = sum(grads) / 2

    def direction(method):
        rule = optim.domain_rule(toy.RULE_NAMES.get(method, method), 0.0)
        step = optim.make_train_step(toy.domain_loss, optax.sgd(1.0), rule)
        new, _, _ = step(jax.random.key(3), w, optax.sgd(1.0).init(w), batch)
        return (w - new) * toy.direction_scale(method)

    # float32: w - (w - eta d) loses digits of d below 1e-7 |w|
    np.testing.assert_allclose(direction("gd"), pooled, atol=1e-6)
    np.testing.assert_allclose(direction("dgsam_no_first"), pooled, atol=1e-6)
    with_first = direction("dgsam")
    candidates = [(2 * pooled + g) / 3 for g in grads]
    assert min(float(jnp.abs(with_first - c).max()) for c in candidates) < 1e-6
    assert toy.direction_scale("sam") == 1.0 and toy.direction_scale("dgsam") == 0.5


def test_dgsam_toy_tiny_run(tmp_path):
    run = run_experiment("dgsam-toy", [
        "params.n_starts=12", "params.n_steps=1500", "params.decay_steps=500",
        "params.repeats=2", "grid.rho=[0.3]", 'grid.method=["gd", "sam", "dgsam"]'],
        out_dir=tmp_path, progress=False)
    runs = toy.outcomes(run.results, run.config)
    assert len(runs) == 2 * 12 * (1 + 1 + 2)  # landscapes x starts x repeats (DGSAM only)
    gd = runs[runs.method == "gd"]
    # GD is a descent method with stable steps: every start ends at a minimum of every domain
    assert set(gd.outcome) <= {"left", "right"}
    ends_left = gd[gd.landscape == "fake_flat"].sort_values("start").outcome == "left"
    control_left = gd[gd.landscape == "control"].sort_values("start").outcome == "left"
    assert ends_left.sum() >= 1 and (~ends_left).sum() >= 1  # starts cover both basins
    # the pooled Hessians agree, so GD's basins are nearly the same on both landscapes
    assert (ends_left.to_numpy() == control_left.to_numpy()).mean() >= 0.9
    assert all(v.verdict in VERDICTS for v in run.summary.verdicts)
    assert {p.name for p in run.figures} >= {"fractions.png", "ends.png"}


def test_bad_learning_rate_and_decay_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"params.learning_rate=0.5 .*\(0, 0.2\]"):
        run_experiment("dgsam-toy", ["params.learning_rate=0.5"], out_dir=tmp_path / "a",
                       progress=False)
    with pytest.raises(ConfigError, match="decay_steps=4000"):
        run_experiment("dgsam-toy", ["params.decay_steps=4000"], out_dir=tmp_path / "b",
                       progress=False)
    with pytest.raises(ConfigError, match="method='adam'"):
        run_experiment("dgsam-toy", ['grid.method=["adam"]'], out_dir=tmp_path / "c",
                       progress=False)


def test_dgsam_toy_toml_gives_typed_parameters():
    config, module = resolve_experiment("dgsam-toy")
    p = module.PARAMS.from_config(config)
    assert p.method == module.COMPARED_METHODS and p.landscape == module.LANDSCAPES
    assert p.rho == (0.05, 0.1, 0.2, 0.4)
    assert (p.learning_rate, p.n_starts, p.n_steps, p.decay_steps, p.repeats) == (
        0.05, 256, 4000, 1000, 4)
    assert type(p.n_steps) is int and set(module.PARAMS.NOT_SWEPT) >= {
        "n_starts", "n_steps", "decay_steps", "repeats"}


@pytest.mark.parametrize("key, value, expected", [
    ("params.n_steps", 4e3, "int"),
    ("grid.rho", [0.1, "one"], "float"),
    ("grid.landscape", ["fake_flat", "bowl"], "'fake_flat' | 'control'"),
])
def test_a_wrong_typed_toy_parameter_is_a_one_line_config_error(key, value, expected):
    assert_wrong_type_is_refused("dgsam-toy", key, value, expected)

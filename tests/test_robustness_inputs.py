"""Bad input at the public boundary: each case is a one-line ValueError that names the bad value
and says what is allowed (never NaN, inf or silent broadcasting), and valid input still works.
One test per class of fault: domain data, two-term rules and loss weightings, potentials'
parameters, optimiser hyperparameters (issue 24)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import sgldsim as sg
from sgldsim import nn
from sgldsim import optim as so
from sgldsim.potentials import EmpiricalRisk, numerically_smoothed
from sgldsim.potentials.catalogue import landscape, landscape_nd

NAN, INF = float("nan"), float("inf")
FLOAT32_SQUARE_LIMIT = float(np.sqrt(np.finfo(np.float32).max))  # the largest rho accepted


def assert_one_line_error(build, error, match):
    """``build()`` raises ``error`` matching ``match``, on one line."""
    with pytest.raises(error, match=match) as info:
        build()
    assert "\n" not in str(info.value)


# --- 1. domain data: counts, empty batches, shapes, splits -------------------------------------


def square_loss(params, batch):
    x, y = batch
    return jnp.mean((x @ params - y) ** 2)


def xy(n, y_shape=None, dim=2):
    return jnp.ones((n, dim)), jnp.zeros((n,) if y_shape is None else y_shape)


def dgsam_step(batch, rho=0.05):
    method = so.dgsam(0.01, rho)
    step = jax.jit(method.train_step(square_loss))
    params = jnp.array([0.3, -0.2])
    return step(jax.random.key(0), params, method.optimizer.init(params), batch)


def sharpness(domains):
    return so.domain_sharpness(square_loss, jnp.array([0.3, -0.2]), domains, 0.1, 0,
                               ascent_steps=2, lanczos_iterations=2, trace_samples=2)


def digits():
    return nn.load_domains("rotated_digits")  # 6 domains of 299 images (cached)


EMPTY = [(jnp.zeros((0, 2)), jnp.zeros(0)), (jnp.zeros((0, 2)), jnp.zeros(0))]

DOMAIN_CASES = {
    "more angles than images": (
        lambda: nn.load_domains("rotated_digits", angles=np.linspace(0, 90, 2000)),
        r"angles of 2000 domains is not allowed: the 1797 digits give 0 images per domain; at "
        r"most 179 domains \(each needs >= 10 images\)"),
    "non-finite angle": (lambda: nn.load_domains("rotated_digits", angles=[0.0, NAN]),
                         r"angles=\[ 0\. nan\] is not allowed: angles must be finite"),
    "negative seed": (lambda: nn.load_domains("rotated_digits", seed=-1),
                      r"seed=-1 is not allowed: seed must be an integer >= 0"),
    "fractional seed": (lambda: nn.load_domains("mnist1d", seed=1.5), r"seed=1\.5"),
    "nan num_per_domain": (lambda: nn.load_domains("mnist1d", num_per_domain=NAN),
                           r"num_per_domain=nan is not allowed: a multiple of 10, >= 20"),
    "empty batches": (lambda: so.check_domain_batches(EMPTY),
                      r"batch\[0\] is empty \(leaf shapes \[\(0, 2\), \(0,\)\]\), not allowed: "
                      r"DGSAM needs at least one example in every domain"),
    "empty batches in a DGSAM step": (lambda: dgsam_step(EMPTY), r"batch\[0\] is empty"),
    "batches without arrays": (lambda: so.check_domain_batches([(), ()]),
                               r"batch\[0\] is empty \(leaf shapes \[\]\)"),
    "empty batches of a baseline": (
        lambda: so.domain_rule("sam")(jax.random.key(0), jnp.zeros(2), EMPTY,
                                      so.as_objective(square_loss)),
        r"batch\[0\] is empty.*a domain-generalisation method needs"),
    "(n, 1) labels in DGSAM batches": (lambda: dgsam_step([xy(8, (8, 1)), xy(8, (8, 1))]),
                                       r"batch\[0\] has y of shape \(8, 1\) next to x of shape "
                                       r"\(8, 2\).*pass y of shape \(8,\)"),
    "(n, 1) labels in domain_sharpness": (
        lambda: sharpness([xy(8), xy(8, (8, 1))]),
        r"domains\[1\] has y of shape \(8, 1\) next to x of shape \(8, 2\), not allowed: the "
        r"trailing axis of length 1 would broadcast"),
    "rows of x and y differ": (lambda: sharpness([(jnp.ones((8, 2)), jnp.zeros(6))]),
                               r"domains\[0\] has leaves of shapes \[\(8, 2\), \(6,\)\], not "
                               r"allowed: every leaf needs a leading example axis"),
    "a scalar leaf has no rows": (lambda: sharpness([(jnp.ones((8, 2)), jnp.float32(0.0))]),
                                  r"domains\[0\] has leaves of shapes \[\(8, 2\), \(\)\]"),
    "empty domain in domain_sharpness": (lambda: sharpness([xy(8), xy(0)]),
                                         r"domains\[1\] is empty.*domain_sharpness needs"),
    "empty validation part": (lambda: nn.split_domains(digits(), validation_fraction=1e-9),
                              r"validation_fraction=1e-09 is not allowed for 299 examples per "
                              r"domain: it gives 299 train and 0 validation examples"),
    "empty train part": (lambda: nn.split_domains(digits(), validation_fraction=0.9999),
                         r"validation_fraction=0\.9999 .* gives 0 train and 299 validation"),
    "nan fraction": (lambda: nn.split_domains(digits(), validation_fraction=NAN),
                     r"validation_fraction=nan is not allowed: validation_fraction must be in "
                     r"\(0, 1\)"),
    "fraction 1": (lambda: nn.split_domains(digits(), validation_fraction=1.0),
                   r"validation_fraction=1\.0 .* must be in \(0, 1\)"),
    "unstacked domains": (lambda: nn.split_domains(nn.Split(jnp.ones((10, 64)), jnp.zeros(10))),
                          r"domains with x of shape \(10, 64\) and y of shape \(10,\) is not "
                          r"allowed: y must be \(S, n\)"),
    "negative split seed": (lambda: nn.split_domains(digits(), seed=-2), r"seed=-2"),
    "bool test domain": (lambda: nn.leave_one_domain_out(nn.split_domains(digits()), True),
                         r"test_domain=True is not allowed: it must be an integer in \[0, 5\]"),
    "float test domain": (lambda: nn.leave_one_domain_out(nn.split_domains(digits()), 1.5),
                          r"test_domain=1\.5"),
    "bool epochs": (lambda: nn.fit_domains(None, None, None, digits(), epochs=True,
                                           batch_size=8), r"epochs=True is not allowed"),
    "fractional batch size": (lambda: nn.fit_domains(None, None, None, digits(), epochs=1,
                                                     batch_size=2.5),
                              r"batch_size=2\.5 is not allowed: it must be in \[1, 299\]"),
}


@pytest.mark.parametrize("case", DOMAIN_CASES)
def test_bad_domain_data_is_a_one_line_error(case):
    build, match = DOMAIN_CASES[case]
    assert_one_line_error(build, ValueError, match)


def test_valid_domain_data_still_works():
    splits = nn.split_domains(digits(), 0.2)
    assert splits.train.y.shape == (6, 239) and splits.validation.y.shape == (6, 60)
    assert nn.split_domains(digits(), 1 / 299).validation.y.shape == (6, 1)  # one example is enough
    assert nn.leave_one_domain_out(splits, np.int64(2))[1].y.shape == (299,)
    assert len(nn.load_domains("rotated_digits", angles=np.zeros(179)).y[0]) == 10
    assert so.check_domain_batches([xy(4), xy(4)]) == 2
    # a trailing axis of 1 that x has too, and targets of other widths, are not labels (n, 1)
    assert so.check_domain_batches([xy(4, (4, 1), dim=1), xy(4, (4, 1), dim=1)]) == 2
    assert so.check_domain_batches([xy(4, (4, 3)), xy(4, (4, 3))]) == 2
    _, _, info = dgsam_step([xy(8), (jnp.full((8, 2), 0.5), jnp.ones(8))])
    assert np.isfinite(info.loss)
    measures = sharpness([xy(8), (jnp.full((8, 2), 0.5), jnp.ones(8))])
    assert np.all(np.isfinite(np.asarray(measures.per_domain.one_step)))


# --- 2. two-term rules and loss weightings -------------------------------------------------------


def vector_terms(params, batch):
    del batch
    return {"residual": (params - 1.0) ** 2, "boundary": jnp.sum(params**2)}


def scalar_terms(params, batch):
    del batch
    return {"residual": jnp.sum((params - 1.0) ** 2), "boundary": jnp.sum(params**2)}


def rule_on(rule, loss):
    return rule(jax.random.key(0), jnp.array([0.5, -1.0, 2.0]), None, so.as_objective(loss))


G = {"w": jnp.array([0.5, -4.0])}

TWO_TERM_CASES = {
    "ntk of zero traces (ints)": (lambda: so.ntk_weights(0, 0),
                                  r"trace_residual=0\.0 is not allowed: trace_residual must be a "
                                  r"positive finite number"),
    "ntk of zero traces (floats)": (lambda: so.ntk_weights(0.0, 0.0), r"trace_residual=0\.0"),
    "ntk of a negative trace": (lambda: so.ntk_weights(-1.0, 2.0), r"trace_residual=-1\.0"),
    "ntk of a zero boundary trace": (lambda: so.ntk_weights(2.0, 0.0), r"trace_boundary=0\.0"),
    "ntk of an infinite trace": (lambda: so.ntk_weights(2.0, INF), r"trace_boundary=inf"),
    "ntk of a nan trace": (lambda: so.ntk_weights(jnp.float32(NAN), 1.0), r"trace_residual=nan"),
    "lra alpha above 1": (lambda: so.lra_update(1.0, G, G, alpha=2),
                          r"alpha=2\.0 is not allowed: alpha must be in \(0, 1\]"),
    "lra alpha 0": (lambda: so.lra_update(1.0, G, G, alpha=0.0), r"alpha=0\.0 .* \(0, 1\]"),
    "lra alpha nan": (lambda: so.lra_update(1.0, G, G, alpha=NAN), r"alpha=nan"),
    "lra negative weight": (lambda: so.lra_update(-1.0, G, G), r"weight=-1\.0 is not allowed: "
                                                               r"weight must be a positive"),
    "vector term, dual cone": (lambda: rule_on(so.dual_cone(), vector_terms),
                               r"dual_cone\('center'\): loss term 'residual' has shape \(3,\), "
                               r"not allowed: every loss term must be a scalar"),
    "vector term, dual cone projection": (lambda: rule_on(so.dual_cone("projection"),
                                                          vector_terms), r"shape \(3,\)"),
    "vector term, pcgrad": (lambda: rule_on(so.pcgrad(), vector_terms),
                            r"pcgrad: loss term 'residual' has shape \(3,\)"),
    "vector term, mgda": (lambda: rule_on(so.mgda(), vector_terms), r"mgda: loss term"),
    "vector term, term_gradients": (
        lambda: so.term_gradients(so.as_objective(vector_terms), jnp.zeros(3), None, "mine"),
        r"mine: loss term 'residual' has shape \(3,\)"),
    "names not a pair": (lambda: so.two_term_rule("mine", jnp.add, names=("residual",)),
                         r"mine: names=\('residual',\) is not allowed: a pair of two different"),
    "names repeated": (lambda: so.two_term_rule("mine", jnp.add, names=("a", "a")),
                       r"names=\('a', 'a'\)"),
}


@pytest.mark.parametrize("case", TWO_TERM_CASES)
def test_bad_two_term_input_is_a_one_line_error(case):
    build, match = TWO_TERM_CASES[case]
    assert_one_line_error(build, ValueError, match)


def test_valid_two_term_input_still_works():
    np.testing.assert_allclose(so.ntk_weights(2.0, 6.0), (4.0, 8.0 / 6.0))
    np.testing.assert_allclose(jax.jit(so.ntk_weights)(2.0, 6.0), (4.0, 8.0 / 6.0))  # traced
    # alpha = 1 is allowed: the update is the estimate itself (max|g| / mean|g| = 4 / 2.25)
    np.testing.assert_allclose(so.lra_update(1.0, G, G, alpha=1.0, estimate="paper"), 4 / 2.25)
    for rule in (so.dual_cone(), so.pcgrad(), so.mgda()):
        direction, info = rule_on(rule, scalar_terms)
        assert np.all(np.isfinite(direction)) and np.isfinite(info.loss)
    assert callable(so.two_term_rule("mine", jnp.add, names=["residual", "boundary"]))


# --- 3. potentials: finite parameters, integer dimensions ------------------------------------


def radial(**changes):
    return sg.RadialWells(**{"radii": [0.0, 1.5], "depths": [1.0, 0.5], "widths": [0.3, 0.4],
                             "confinement": 1.0, "dim": 3, **changes})


POTENTIAL_CASES = {
    "radial nan depth": (lambda: radial(depths=[1.0, NAN]),
                         r"depths=\[ *1\. nan\] is not allowed: depths must be finite"),
    "radial infinite depth": (lambda: radial(depths=[-INF, 1.0]), r"depths=\[-inf +1\.\]"),
    "radial infinite confinement": (lambda: radial(confinement=INF),
                                    r"confinement=inf is not allowed: confinement must be a "
                                    r"positive finite number"),
    "radial nan confinement": (lambda: radial(confinement=NAN), r"confinement=nan"),
    "radial vector confinement": (lambda: radial(confinement=[1.0, 2.0]),
                                  r"confinement of shape \(2,\) is not allowed: m is a scalar"),
    "radial infinite radius": (lambda: radial(radii=[0.0, INF]), r"radii=\[ 0\. inf\]"),
    "radial infinite width": (lambda: radial(widths=[INF, 0.4]), r"widths=\[inf 0\.4\]"),
    "radial bool dim": (lambda: radial(dim=True),
                        r"dim=True is not allowed: dim must be a positive integer"),
    "radial float dim": (lambda: radial(dim=3.0), r"dim=3\.0 is not allowed"),
    "radial smoothing nodes": (lambda: radial().smoothed(0.1, n_nodes=0), r"n_nodes=0"),
    "quadratic bool dim": (lambda: sg.Quadratic(1.0, dim=True), r"dim=True"),
    "quadratic nan offset": (lambda: sg.Quadratic(1.0, offset=NAN),
                             r"offset=nan is not allowed: offset must be finite"),
    "wells bool dim": (lambda: sg.GaussianWells([[0.0]], [1.0], [0.5], dim=True), r"dim=True"),
    "wells nan depth": (lambda: sg.GaussianWells([[0.0]], [NAN], [0.5]), r"depths=\[nan\]"),
    "wells infinite centre": (lambda: sg.GaussianWells([[INF]], [1.0], [0.5]),
                              r"centers=\[\[inf\]\] is not allowed: centers must be finite"),
    "wells infinite offset": (lambda: sg.GaussianWells([[0.0]], [1.0], [0.5], offset=INF),
                              r"offset=inf"),
    "polynomial bool dim": (lambda: sg.Polynomial1D([0.0, 1.0], dim=True), r"dim=True"),
    "polynomial nan coefficient": (lambda: sg.Polynomial1D([0.0, NAN]), r"coeffs=\[ 0\. nan\]"),
    "separable bool dim": (lambda: sg.Separable(sg.Quadratic(1.0), dim=True), r"dim=True"),
    "double well nan gap": (lambda: sg.sharp_flat_double_well(NAN),
                            r"depth_gap=nan is not allowed: depth_gap must be finite"),
    "landscape nan gap": (lambda: landscape("gaussian-wells", NAN), r"depth_gap=nan"),
    "landscape bool dim": (lambda: landscape_nd("gaussian-wells", True), r"dim=True"),
    "landscape zero dim": (lambda: landscape_nd("embedded-wells", 0), r"dim=0 is not allowed"),
    "empirical risk nan data": (lambda: EmpiricalRisk(sg.Quadratic(1.0), [0.0, NAN]),
                                r"data=\[\[ 0\.\] \[nan\]\] is not allowed"),
    "too few smoothing samples": (lambda: numerically_smoothed(sg.Quadratic(1.0, dim=2), 0.1,
                                                               n_samples=2),
                                  r"n_samples=2 is not allowed: n_samples must be an integer "
                                  r">= 4"),
}


@pytest.mark.parametrize("case", POTENTIAL_CASES)
def test_bad_potential_parameters_are_a_one_line_error(case):
    build, match = POTENTIAL_CASES[case]
    assert_one_line_error(build, ValueError, match)


def test_valid_potentials_still_work():
    u = radial(dim=np.int64(3), depths=[1.0, -0.5])  # numpy ints; bumps of any sign
    assert u.dim == 3 and isinstance(u.dim, int)
    x = np.array([[0.0, 0.0, 0.0], [0.3, -1.0, 0.2]])
    r = np.linalg.norm(x, axis=1)
    phi = 0.5 * r**2 - sum(a * (np.exp(-(r - c) ** 2 / (2 * s**2))
                                + np.exp(-(r + c) ** 2 / (2 * s**2)))
                           for a, c, s in zip([1.0, -0.5], [0.0, 1.5], [0.3, 0.4], strict=True))
    np.testing.assert_allclose(u.value(x), phi, rtol=1e-6)
    assert sg.GaussianWells([[0.0, 1.0]], [1.0], [0.5], dim=2).dim == 2
    assert landscape_nd("embedded-wells", 2).dim == 2
    assert np.isfinite(sg.sharp_flat_double_well(0.1).value(np.array([[0.5]])))[0]


# --- 4. optimiser hyperparameters: finite, and with a square that fits float32 -------------------


OPTIMISER_CASES = {
    "dgsam huge rho": (lambda: so.dgsam(0.1, 1e30),
                       r"rho=1e\+30 is not allowed: rho must be at most 1\.8e\+19 \(its square "
                       r"overflows float32"),
    "dgsam nan rho": (lambda: so.dgsam(0.1, NAN), r"rho=nan is not allowed: rho must be finite"),
    "dgsam infinite rho": (lambda: so.dgsam(0.1, INF), r"rho=inf"),
    "dgsam nan learning rate": (lambda: so.dgsam(NAN, 0.1),
                                r"learning_rate=nan is not allowed: learning_rate must be a "
                                r"positive finite number"),
    "sgd huge learning rate": (lambda: so.sgd(1e30), r"learning_rate=1e\+30 .* at most 1\.8e"),
    "sgd nan momentum": (lambda: so.sgd(0.1, momentum=NAN),
                         r"momentum=nan is not allowed: momentum must be in \[0, 1\)"),
    "sgld nan beta": (lambda: so.sgld(0.1, NAN), r"beta=nan"),
    "sam huge rho": (lambda: so.sam(0.1, 1e20), r"rho=1e\+20"),
    "asam huge eta": (lambda: so.asam(0.1, 0.05, eta=1e30), r"eta=1e\+30"),
    "asam nan eta": (lambda: so.asam(0.1, 0.05, eta=NAN), r"eta=nan"),
    "rwp huge sigma": (lambda: so.rwp(0.1, 1e30), r"sigma=1e\+30"),
    "fsgld nan sigma": (lambda: so.fsgld(0.1, 1e8, sigma=NAN), r"sigma=nan"),
    "dcgd infinite learning rate": (lambda: so.dcgd(INF), r"learning_rate=inf"),
    "gsam infinite alpha": (lambda: so.domain_method("gsam", 0.1, 0.05, alpha=INF), r"alpha=inf"),
    "sagm huge alpha": (lambda: so.domain_method("sagm", 0.1, 0.05, alpha=1e30),
                        r"alpha=1e\+30"),
    "domain sam huge rho": (lambda: so.domain_method("domain_sam", 0.1, 1e30), r"rho=1e\+30"),
    "sharpness huge rho": (lambda: so.zeroth_order_sharpness(jnp.sum, jnp.zeros(2), 1e30, 0),
                           r"rho=1e\+30"),
}


@pytest.mark.parametrize("case", OPTIMISER_CASES)
def test_bad_hyperparameters_are_a_one_line_error(case):
    build, match = OPTIMISER_CASES[case]
    assert_one_line_error(build, ValueError, match)


def test_valid_hyperparameters_still_work():
    for method in (so.sam(0.1, FLOAT32_SQUARE_LIMIT), so.sgld(0.1, INF), so.sgd(0.1, None),
                   so.sgd(optax.linear_schedule(0.1, 0.01, 10))):
        assert callable(method.train_step(square_loss))
    # traced hyperparameters are not inspected: a vmapped rho sweep still runs
    rule = jax.vmap(lambda rho: so.sharpness_aware(rho)(
        jax.random.key(0), jnp.array([0.3, -0.2]), xy(4), so.as_objective(square_loss))[0])
    assert np.all(np.isfinite(rule(jnp.array([0.0, 0.05, 0.1]))))
    _, _, info = dgsam_step([xy(8), (jnp.full((8, 2), 0.5), jnp.ones(8))], rho=0.05)
    assert np.isfinite(info.loss)

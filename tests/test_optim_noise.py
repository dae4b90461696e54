"""The optimisers' float32 noise (the default dtype of a user's model): one fSGLD step equals the
hand computation from JAX's own Threefry and NumPy's exact Box-Muller; the perturbation xi' and
the Langevin noise xi are N(0, I), independent of each other (also beyond correlation) and
across steps; and one train step hashes each parameter once (docs/nn.md, "Randomness")."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.extend.random import threefry_2x32
from jax.flatten_util import ravel_pytree

from sgldsim import optim as so
from sgldsim._random import SERIAL_DRAW_LIMIT, tree_normal, tree_normal_pair

PARAMS = {"b": jnp.array([-0.3, 0.8], jnp.float32),
          "w": jnp.array([[0.4, -1.2, 0.7], [0.1, 0.0, -0.5]], jnp.float32)}
TARGET = {"b": np.array([0.1, 0.2]), "w": np.array([[-0.5, 0.3, 0.0], [1.0, -1.0, 0.5]])}
CURVATURE = {"b": np.array([0.5, 4.0]), "w": np.array([[1.0, 2.0, 3.0], [0.5, 1.5, 2.5]])}


def quadratic_loss(params, batch):
    """L = sum 0.5 a (p - x)^2, so grad L(p) = a (p - x)."""
    return sum(0.5 * jnp.sum(CURVATURE[n] * (params[n] - TARGET[n]) ** 2) for n in params)


def box_muller_by_hand(key, tree, block=0):
    """NumPy, float64, exact cos/sin: entry j of the concatenated leaves hashes (j, block) with
    JAX's Threefry-2x32 under the key's two words (w0, w1); U = (top 24 bits of w0 + 1) 2^-24,
    R = sqrt(-2 ln U); phi = (pi/2)(top 24 bits of w1 + 1/2) 2^-24; the signs of cos and sin
    are bits 0 and 1 of w1. Returns (R cos, R sin) with those signs, as float64 pytrees."""
    leaves, treedef = jax.tree.flatten(tree)
    n = sum(x.size for x in leaves)
    cipher_key = jnp.asarray(jax.random.bits(key, (2,), jnp.uint32))
    counters = np.concatenate([np.arange(n), np.full(n, block)]).astype(np.uint32)
    words = np.asarray(threefry_2x32(cipher_key, jnp.asarray(counters)))
    w0, w1 = words[:n], words[n:]
    radius = np.sqrt(-2 * np.log(((w0 >> 8).astype(np.float64) + 1) * 2.0**-24))
    phi = np.pi / 2 * ((w1 >> 8).astype(np.float64) + 0.5) * 2.0**-24
    z0 = np.where(w1 & 1, -1.0, 1.0) * radius * np.cos(phi)
    z1 = np.where(w1 & 2, -1.0, 1.0) * radius * np.sin(phi)

    def as_tree(z):
        parts = np.split(z, np.cumsum([x.size for x in leaves])[:-1])
        return treedef.unflatten([p.reshape(x.shape) for p, x in zip(parts, leaves, strict=True)])

    return as_tree(z0), as_tree(z1)


def test_float32_draws_are_the_box_muller_pair_of_jax_threefry():
    key = jax.random.key(11)
    by_hand = box_muller_by_hand(key, PARAMS, block=3)
    for word in (0, 1):
        drawn = tree_normal(key, PARAMS, block=3, word=word)
        for name in PARAMS:
            assert drawn[name].dtype == jnp.float32
            np.testing.assert_allclose(drawn[name], by_hand[word][name], rtol=2e-6, atol=2e-6)
    pair = tree_normal_pair(key, PARAMS, block=3)
    jax.tree.map(np.testing.assert_array_equal, pair[0], tree_normal(key, PARAMS, 3, 0))


def test_float32_fsgld_step_is_hand_computation():
    """theta' = theta - lr a (theta + sigma xi' - x) + sqrt(2 lr / beta) xi, with (xi', xi) the
    Box-Muller pair of the step key (block 0), computed in float64 by hand."""
    lr, beta, sigma = 0.1, 50.0, 0.3
    key = jax.random.fold_in(jax.random.key(3), 0)
    method = so.fsgld(lr, beta, sigma=sigma)
    step = jax.jit(method.train_step(quadratic_loss))
    params, _, _ = step(key, PARAMS, method.optimizer.init(PARAMS), None)
    xi_p, xi = box_muller_by_hand(key, PARAMS)
    for n in PARAMS:
        p = np.asarray(PARAMS[n], np.float64)
        expected = (p - lr * CURVATURE[n] * (p + sigma * xi_p[n] - TARGET[n])
                    + np.sqrt(2 * lr / beta) * xi[n])
        assert params[n].dtype == jnp.float32
        np.testing.assert_allclose(params[n], expected, rtol=0, atol=1e-6)


def _sub_jaxprs(value):
    if hasattr(value, "eqns"):
        yield value
    elif hasattr(value, "jaxpr") and hasattr(value.jaxpr, "eqns"):  # a ClosedJaxpr
        yield value.jaxpr
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _sub_jaxprs(v)


def _outermost(jaxpr, names):
    """Equations whose primitive is in ``names``, searching nested jaxprs but not inside a
    match."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in names:
            yield eqn
        else:
            for value in eqn.params.values():
                for sub in _sub_jaxprs(value):
                    yield from _outermost(sub, names)


def _draws(jaxpr):
    """The draw equations (``custom_vmap_call``) of a jaxpr, nested ones included."""
    return list(_outermost(jaxpr, {"custom_vmap_call"}))


def _loop_kinds(jaxpr):
    """Control-flow primitives inside a jaxpr, nested ones included: a serial draw is a
    ``fori_loop`` (``scan`` or ``while``), a split one a ``cond``."""
    return ["cond" if e.primitive.name == "cond" else "loop"
            for e in _outermost(jaxpr, {"scan", "while", "cond"})]


def test_one_train_step_draws_one_pair_for_perturbation_and_langevin_noise():
    """An fSGLD step traces one draw (SGLD and RWP one each too): the perturbation and the
    Langevin noise share the hash instead of drawing twice."""
    for method in (so.fsgld(0.1, 50.0), so.sgld(0.1, 50.0), so.rwp(0.1, 0.1)):
        step = method.train_step(quadratic_loss)
        jaxpr = jax.make_jaxpr(step)(jax.random.key(0), PARAMS,
                                     method.optimizer.init(PARAMS), None)
        assert len(_draws(jaxpr.jaxpr)) == 1, method.name


@pytest.mark.parametrize("shape", [(6,), (182, 182)])
def test_serial_and_split_draws_agree_unbatched_and_under_vmap(shape):
    """A small float32 tree draws serially (a loop on one core), a large one (more than
    SERIAL_DRAW_LIMIT entries) by the split program (a conditional); under vmap both take the
    split program without the conditional, one hash per leaf. All hash the same counters: the
    values agree to float32 rounding (the programs may contract a multiply-add differently), with
    the vmapped draw of key i equal to the unbatched draw of key i."""
    tree = {"w": jnp.zeros(shape, jnp.float32), "b": jnp.zeros(3, jnp.float32)}
    size = sum(x.size for x in jax.tree.leaves(tree))
    assert (size <= SERIAL_DRAW_LIMIT) == (shape == (6,))  # one case on each side
    keys = jax.random.split(jax.random.key(8), 3)

    def draw(k):
        return tree_normal_pair(k, tree, block=1)

    (eqn,) = _draws(jax.make_jaxpr(draw)(keys[0]).jaxpr)
    expected = ["loop"] if size <= SERIAL_DRAW_LIMIT else ["cond"]
    assert _loop_kinds(eqn.params["call"].jaxpr) == expected
    # Batched: one hash per leaf (a batched conditional would select between two hashed branches)
    rotations = list(_outermost(jax.make_jaxpr(jax.vmap(draw))(keys).jaxpr, {"shift_left"}))
    assert len(rotations) == 20 * len(tree)  # Threefry-20: one left shift per round
    batched = jax.jit(jax.vmap(draw))(keys)
    for i in range(3):
        single = jax.jit(draw)(keys[i])
        for word in (0, 1):
            for name in tree:
                np.testing.assert_allclose(batched[word][name][i], single[word][name],
                                           rtol=1e-6, atol=1e-6)
    by_hand = box_muller_by_hand(keys[2], tree, block=1)
    for word in (0, 1):
        for name in tree:
            np.testing.assert_allclose(jax.jit(draw)(keys[2])[word][name], by_hand[word][name],
                                       rtol=2e-6, atol=2e-6)


@pytest.fixture(scope="module")
def fsgld_noises():
    """xi' and xi of fSGLD over a two-leaf float32 pytree for T steps (paired by step key):
    with L = |p|^2/2 at p = 0, lr = 1 and beta = inf the step is -xi'; with L = 0, beta = 2 it
    is xi."""
    tree = {"b": jnp.zeros(96, jnp.float32), "w": jnp.zeros((96, 40), jnp.float32)}
    num_steps = 12

    def draws(method, loss):
        step = jax.jit(method.train_step(loss))
        state = method.optimizer.init(tree)
        keys = [jax.random.fold_in(jax.random.key(5), t) for t in range(num_steps)]
        return np.stack([np.asarray(ravel_pytree(step(k, tree, state, None)[0])[0], np.float64)
                         for k in keys])

    def zero(params, batch):
        return 0.0 * sum(jnp.sum(x) for x in jax.tree.leaves(params))

    def half_square(params, batch):
        return 0.5 * sum(jnp.sum(x**2) for x in jax.tree.leaves(params))

    return (-draws(so.fsgld(1.0, np.inf, sigma=1.0), half_square),
            draws(so.fsgld(1.0, 2.0, sigma=1.0), zero))


def test_pair_is_standard_normal_and_independent_beyond_correlation(fsgld_noises):
    """Each of xi', xi: moments and KS against N(0, 1). Jointly: correlation of xi' with xi, of
    their squares (zero for independent normals; a Box-Muller pair with a shared radius but
    unrelated angles gives 0.5) and of their signs, each within 5 standard errors of 0;
    the four sign quadrants each hold a quarter of the pairs (chi-square)."""
    xi_p, xi = (z.ravel() for z in fsgld_noises)
    n = xi.size
    for z in (xi_p, xi):
        assert abs(z.mean()) < 5 / np.sqrt(n)
        assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
        assert abs(scipy.stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
        assert scipy.stats.kstest(z, "norm").pvalue > 1e-3
    for a, b in ((xi_p, xi), (xi_p**2, xi**2), (np.sign(xi_p), np.sign(xi))):
        r = np.corrcoef(a, b)[0, 1]
        assert abs(r) < 5 / np.sqrt(n), r
    quadrant = 2 * (xi_p > 0) + (xi > 0)
    counts = np.bincount(quadrant, minlength=4)
    assert scipy.stats.chisquare(counts).pvalue > 1e-3


def test_draws_are_independent_across_steps(fsgld_noises):
    """Consecutive steps' draws (and their squares) are uncorrelated within 5 standard errors."""
    for z in fsgld_noises:
        for a, b in ((z[:-1], z[1:]), (z[:-1] ** 2, z[1:] ** 2)):
            r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
            assert abs(r) < 5 / np.sqrt(a.size), r

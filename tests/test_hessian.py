"""sgldsim.optim.hessian against the dense Hessian of a small MLP (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from sgldsim.optim import (
    hessian_top_eigenvalues,
    hessian_trace,
    hessian_vector_product,
)

# compared with a dense float64 Hessian to 1e-12: the MLP's parameters must be float64
pytestmark = pytest.mark.usefixtures("x64")


def init_mlp(rng, sizes=(2, 8, 3)):
    return [{"w": jnp.asarray(rng.normal(size=(m, n)) / np.sqrt(m)),
             "b": jnp.asarray(0.1 * rng.normal(size=n))}
            for m, n in zip(sizes[:-1], sizes[1:], strict=True)]


def mlp_loss(params, batch):
    """Mean softmax cross-entropy of a tanh MLP (2 -> 8 -> 3: 51 parameters)."""
    h = batch["x"]
    for layer in params[:-1]:
        h = jnp.tanh(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), batch["y"][:, None], 1))


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    params = init_mlp(rng)
    data = {"x": jnp.asarray(rng.normal(size=(37, 2))), "y": jnp.asarray(rng.integers(0, 3, 37))}
    flat, unravel = ravel_pytree(params)
    dense = jax.jit(jax.hessian(lambda f: mlp_loss(unravel(f), data)))(flat)
    return params, data, np.linalg.eigvalsh(np.asarray(dense))[::-1], dense


def test_hessian_vector_product_is_dense_product_in_chunks(problem):
    params, data, _, dense = problem
    flat, unravel = ravel_pytree(params)
    v = jnp.asarray(np.random.default_rng(1).normal(size=flat.shape))
    hvp = jax.jit(hessian_vector_product, static_argnums=0, static_argnames="batch_size")
    for batch_size in (None, 37, 10):  # 10: three chunks of 10 and a remainder of 7
        hv = hvp(mlp_loss, params, data, unravel(v), batch_size=batch_size)
        np.testing.assert_allclose(ravel_pytree(hv)[0], dense @ v, rtol=1e-12, atol=1e-13)


def test_lanczos_top_eigenvalues_match_dense(problem):
    params, data, eigenvalues, _ = problem
    dim = eigenvalues.size
    assert dim == 51
    # m = dim: the whole spectrum, through the breakdowns at the 9-fold zero eigenvalue
    assert np.sum(np.abs(eigenvalues) < 1e-10 * eigenvalues[0]) == 9
    spectrum = hessian_top_eigenvalues(mlp_loss, params, data, k=dim, num_iterations=dim, key=2,
                                       batch_size=16)
    np.testing.assert_allclose(spectrum[:5], eigenvalues[:5], rtol=1e-6)
    np.testing.assert_allclose(spectrum, eigenvalues, rtol=0, atol=1e-12 * eigenvalues[0])
    # fewer iterations than the dimension still resolve the top of the spectrum
    top = hessian_top_eigenvalues(mlp_loss, params, data, k=2, num_iterations=40, key=2)
    np.testing.assert_allclose(top, eigenvalues[:2], rtol=1e-6)


def test_lanczos_start_vector_is_deterministic(problem):
    params, data, _, _ = problem
    a, b = (hessian_top_eigenvalues(mlp_loss, params, data, k=3, num_iterations=10, key=5)
            for _ in range(2))
    np.testing.assert_array_equal(a, b)


def test_hutchinson_trace_within_three_standard_errors(problem):
    params, data, eigenvalues, _ = problem
    estimate = hessian_trace(mlp_loss, params, data, jax.random.key(3), num_samples=200,
                             batch_size=16)
    assert estimate.standard_error > 0
    assert abs(estimate.estimate - eigenvalues.sum()) < 3 * estimate.standard_error


@pytest.mark.parametrize("call, match", [
    (lambda p, d: hessian_top_eigenvalues(mlp_loss, p, d, k=0), "k=0"),
    (lambda p, d: hessian_top_eigenvalues(mlp_loss, p, d, k=6, num_iterations=5), "k=6"),
    (lambda p, d: hessian_top_eigenvalues(mlp_loss, p, d, num_iterations=0), "num_iterations=0"),
    (lambda p, d: hessian_trace(mlp_loss, p, d, 0, num_samples=1), "num_samples=1"),
    (lambda p, d: hessian_trace(mlp_loss, p, d, 0, batch_size=0), "batch_size=0"),
])
def test_bad_arguments_raise_naming_the_value(problem, call, match):
    params, data, _, _ = problem
    with pytest.raises(ValueError, match=match):
        call(params, data)

"""The PINN network: a tanh multilayer perceptron on a flat parameter vector (float32), with its
input derivatives propagated forward through the layers (a "jet").

Flat parameters let every method (a gradient combination, a loss weighting) act on one vector,
and let runs of different methods and seeds be stacked and vmapped together.

:meth:`Network.jet` gives u, its gradient and the diagonal of its Hessian at a batch of points
in one forward sweep (forward Laplacian propagation, docs/theory.md §9): for a layer
z = W^T h + b followed by a = tanh(z), with s1 = tanh' = 1 - a^2 and s2 = tanh'' = -2 a s1,

    da/dx_i     = s1 * (W^T dh/dx_i),
    d2a/dx_i^2  = s1 * (W^T d2h/dx_i^2) + s2 * (W^T dh/dx_i)^2,

so each hidden layer costs 1 + 2d matrix products (value, d first and d second derivatives)
over all points at once: about 1 + 2d plain forward passes, in large matrix products. A PDE
needs only one combination sum_i c_i d2u/dx_i^2 of the second derivatives (a Laplacian, a
wave operator): with ``weights`` c the d second-derivative rows become one,

    L(a) = s1 * (W^T L(h)) + s2 * sum_i c_i (W^T dh/dx_i)^2,

so a step costs 2 + d rows (4 in 2-D instead of 5). Nested ``jax.jvp`` per point and axis
costs several small products instead, and
nested ``jax.jvp`` per point and axis costs several small ones (and ``jax.hessian`` a full
d x d Hessian per point).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


class Jet(NamedTuple):
    """A scalar field and its input derivatives at n points.

    Attributes:
      u: float32[n], the values.
      du: float32[n, d_in], the gradient (``None`` when not asked for).
      d2u: float32[n, d_in], the Hessian's diagonal d^2u/dx_i^2; or, for given weights c,
        float32[n], the one combination sum_i c_i d^2u/dx_i^2 (a Laplacian for c = 1, the
        wave operator u_tt - u_xx for c = (-1, 1)); ``None`` when not asked for.
    """

    u: jax.Array
    du: jax.Array | None = None
    d2u: jax.Array | None = None


class Network(NamedTuple):
    """``init(key) -> theta`` (float32[P]); ``apply(theta, x) -> u`` for ONE point x
    (float32[d_in]) giving a scalar (vmap over points); ``jet(theta, points, order, weights)
    -> Jet`` at a batch of points (float32[n, d_in]): order 0 the values, 1 with the gradient,
    2 with the Hessian's diagonal too, or with ``weights`` c only sum_i c_i d^2u/dx_i^2
    (one propagated row instead of d_in)."""

    init: Callable[[jax.Array], jax.Array]
    apply: Callable[[jax.Array, jax.Array], jax.Array]
    num_params: int
    jet: Callable[..., Jet]


def tanh_mlp(d_in: int, hidden: Sequence[int], input_mean: Sequence[float] | None = None,
             input_std: Sequence[float] | None = None) -> Network:
    """u(x) = W_L^T tanh(... tanh(W_1^T x_s + b_1) ...) + b_L with x_s = (x - input_mean) /
    input_std (inputs standardised, as in the DCGD code; identity by default), Glorot-normal
    weights (std sqrt(2 / (fan_in + fan_out))) and zero biases, as in the DCGD and LRA papers'
    code. Derivatives are with respect to the raw input x."""
    if isinstance(d_in, bool) or int(d_in) != d_in or d_in < 1:
        raise ValueError(f"d_in={d_in!r} is not allowed: the network needs >= 1 input column")
    if not hidden or any(isinstance(h, bool) or int(h) != h or h < 1 for h in hidden):
        raise ValueError(f"hidden={tuple(hidden)!r} is not allowed: give one or more hidden "
                         "layer widths, each a whole number >= 1")
    widths = [d_in, *map(int, hidden), 1]
    shapes = [((a, b), (b,)) for a, b in zip(widths[:-1], widths[1:], strict=True)]
    template = [(jnp.zeros(w, jnp.float32), jnp.zeros(b, jnp.float32)) for w, b in shapes]
    flat, unravel = ravel_pytree(template)
    mean = jnp.zeros(d_in, jnp.float32) if input_mean is None else jnp.asarray(
        input_mean, jnp.float32)
    std = jnp.ones(d_in, jnp.float32) if input_std is None else jnp.asarray(input_std,
                                                                              jnp.float32)
    if mean.shape != (d_in,) or std.shape != (d_in,):
        raise ValueError(f"input_mean and input_std need {d_in} entries, one per input column; "
                         f"got shapes {mean.shape} and {std.shape}")

    def init(key):
        keys = jax.random.split(key, len(shapes))
        layers = [(jax.random.normal(k, w, jnp.float32) * jnp.sqrt(2.0 / sum(w)).astype(
            jnp.float32), jnp.zeros(b, jnp.float32)) for k, (w, b) in zip(keys, shapes,
                                                                           strict=True)]
        return ravel_pytree(layers)[0]

    def apply(theta, x):
        layers = unravel(theta)
        h = (x - mean) / std
        for w, b in layers[:-1]:
            h = jnp.tanh(h @ w + b)
        w, b = layers[-1]
        return (h @ w + b)[0]

    def jet(theta, x, order: int = 2, weights: Sequence[float] | None = None) -> Jet:
        # Features by points (points on the last axis), one matrix product per derivative
        # row: in the training scan, 4x faster through reverse mode than (rows, points,
        # features) slabs and 1.3x faster than the rows side by side in one product.
        layers = unravel(theta)
        (w, b), hidden_layers, (w_out, b_out) = layers[0], layers[1:-1], layers[-1]
        a = jnp.tanh(w.T @ ((x - mean) / std).T + b[:, None])         # (width, n)
        if order == 0:
            for w, b in hidden_layers:
                a = jnp.tanh(w.T @ a + b[:, None])
            return Jet((w_out.T @ a)[0] + b_out[0])
        # first layer: dz/dx_i = W[i] / std_i, the same at every point; d2z/dx_i^2 = 0
        dz = [(w[i] / std[i])[:, None] for i in range(d_in)]
        s1 = 1.0 - a * a
        firsts = [s1 * v for v in dz]
        if order == 2 and weights is not None:   # one row: sum_i c_i d2h/dx_i^2
            seconds = [-2.0 * a * s1 * sum(c * v * v for c, v in zip(weights, dz,
                                                                    strict=True) if c)]
        elif order == 2:
            seconds = [-2.0 * a * s1 * v * v for v in dz]
        else:
            seconds = []
        for w, b in hidden_layers:
            z = [w.T @ v for v in (a, *firsts, *seconds)]
            a = jnp.tanh(z[0] + b[:, None])
            s1 = 1.0 - a * a
            jz = z[1:1 + d_in]
            firsts = [s1 * v for v in jz]
            if order == 2:
                s2 = -2.0 * a * s1
                if weights is not None:
                    square = sum(c * j * j for c, j in zip(weights, jz, strict=True) if c)
                    seconds = [s1 * z[1 + d_in] + s2 * square]
                else:
                    seconds = [s1 * v + s2 * j * j for v, j in zip(z[1 + d_in:], jz,
                                                                  strict=True)]
        w_out = w_out[:, 0]
        du = jnp.stack([w_out @ v for v in firsts], axis=1)
        if order < 2:
            return Jet(w_out @ a + b_out[0], du)
        d2u = (w_out @ seconds[0] if weights is not None
               else jnp.stack([w_out @ v for v in seconds], axis=1))
        return Jet(w_out @ a + b_out[0], du, d2u)

    return Network(init, apply, int(flat.size), jet)

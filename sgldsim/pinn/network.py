"""The PINN network: a tanh multilayer perceptron on a flat parameter vector (float32).

Flat parameters let every method (a gradient combination, a loss weighting) act on one vector,
and let runs of different methods and seeds be stacked and vmapped together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


class Network(NamedTuple):
    """``init(key) -> theta`` (float32[P]); ``apply(theta, x) -> u`` for ONE point x
    (float32[d_in]) giving a scalar; vmap over points."""

    init: Callable[[jax.Array], jax.Array]
    apply: Callable[[jax.Array, jax.Array], jax.Array]
    num_params: int


def tanh_mlp(d_in: int, hidden: Sequence[int]) -> Network:
    """u(x) = W_L tanh(... tanh(W_1 x + b_1) ...) + b_L with Glorot-normal weights
    (std sqrt(2 / (fan_in + fan_out))) and zero biases, as in the DCGD and LRA papers' code."""
    widths = [d_in, *map(int, hidden), 1]
    shapes = [((a, b), (b,)) for a, b in zip(widths[:-1], widths[1:], strict=True)]
    template = [(jnp.zeros(w, jnp.float32), jnp.zeros(b, jnp.float32)) for w, b in shapes]
    flat, unravel = ravel_pytree(template)

    def init(key):
        keys = jax.random.split(key, len(shapes))
        layers = [(jax.random.normal(k, w, jnp.float32) * jnp.sqrt(2.0 / sum(w)).astype(
            jnp.float32), jnp.zeros(b, jnp.float32)) for k, (w, b) in zip(keys, shapes,
                                                                           strict=True)]
        return ravel_pytree(layers)[0]

    def apply(theta, x):
        layers = unravel(theta)
        h = x
        for w, b in layers[:-1]:
            h = jnp.tanh(h @ w + b)
        w, b = layers[-1]
        return (h @ w + b)[0]

    return Network(init, apply, int(flat.size))

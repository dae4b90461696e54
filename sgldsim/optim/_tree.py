"""Pytree helpers shared by the noise transformation and the gradient rules (the tree algebra
of the two-term combinations included)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax


def as_key(key_or_seed) -> jax.Array:
    """A PRNG key from a key (typed or raw ``uint32[2]``) or an integer seed."""
    if isinstance(key_or_seed, int | np.integer) or (
        hasattr(key_or_seed, "dtype") and jnp.issubdtype(key_or_seed.dtype, jnp.integer)
        and jnp.ndim(key_or_seed) == 0
    ):
        return jax.random.key(key_or_seed)
    return key_or_seed


def add_scaled(tree, scale, direction):
    """``tree + scale * direction`` leafwise, keeping each leaf of ``tree`` in its own dtype.

    The cast matters: a float64 ``scale`` (e.g. from NumPy) must not promote float32 parameters.
    """
    return jax.tree.map(lambda x, d: x + (scale * d).astype(x.dtype), tree, direction)


def safe_inverse(norm):
    """``1 / norm`` where ``norm > 0`` and 0 elsewhere (a zero gradient gives no perturbation)."""
    positive = norm > 0
    return jnp.where(positive, 1.0 / jnp.where(positive, norm, 1.0), 0.0)


def mean_over_draws(tree):
    """Average every leaf over its leading (draw) axis."""
    return jax.tree.map(lambda x: jnp.mean(x, axis=0), tree)


def reject(g, h):
    """P_h_perp(g) = g - (<g, h> / |h|^2) h (g itself when h = 0)."""
    return add_scaled(g, -optax.tree.vdot(g, h) * safe_inverse(optax.tree.norm(h, squared=True)),
                      h)


def norm(g):
    """|g|, with a finite derivative (0) at g = 0 where sqrt's is infinite."""
    squared = optax.tree.norm(g, squared=True)
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


def unit(g):
    """g / |g| (0 when g = 0)."""
    return optax.tree.scale(safe_inverse(norm(g)), g)

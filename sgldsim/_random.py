"""Counter-based Gaussian draws: Threefry-2x32-20 written as unrolled jnp code, and the
inverse-error-function normal transform, shared by :mod:`sgldsim.dynamics` (particles) and
:mod:`sgldsim.optim` (the optimisers' noise over parameter pytrees).

Why not ``jax.random``: on CPU it lowers Threefry with its round groups rolled into a loop; the
unrolled hash fuses with its consumers (measurements in :mod:`sgldsim.dynamics.simulate`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_KEY_PARITY = np.uint32(0x1BD11BDA)


def threefry2x32(key: tuple[Array, Array], x0: Array, x1: Array) -> tuple[Array, Array]:
    """Threefry-2x32 with 20 rounds, the counter-based block cipher of ``jax.random``.

    Unrolled jnp code so XLA fuses hashing, the normal transform and the particle update.

    Args:
      key: two uint32 scalars.
      x0, x1: uint32 counter words of a common shape.

    Returns:
      The two uint32 output words.

    References:
      Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011.
    """
    ks = (key[0], key[1], key[0] ^ key[1] ^ _KEY_PARITY)
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for group in range(5):
        for r in _ROTATIONS[group % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + ks[(group + 1) % 3]
        x1 = x1 + ks[(group + 2) % 3] + np.uint32(group + 1)
    return x0, x1


def symmetric_uniform(words: tuple[Array, ...], dtype) -> Array:
    """Uniform on the grid of odd multiples of 2^-m in (-1, 1): m = 23 bits from one uint32 word
    (float32) or m = 52 bits from two (float64). Exact in ``dtype`` and never +-1."""
    if dtype == jnp.float32:
        m, bits = 23, (words[0] >> np.uint32(9)).astype(jnp.float32)
    else:
        m = 52
        hi = (words[0] >> np.uint32(6)).astype(jnp.uint64)
        bits = ((hi << np.uint64(26)) | (words[1] >> np.uint32(6)).astype(jnp.uint64))
        bits = bits.astype(jnp.float64)
    return (2 * bits + (1 - 2.0**m)) * 2.0**-m


def standard_normal(words: tuple[Array, ...], dtype) -> Array:
    """Z = sqrt(2) erfinv(V), V uniform on (-1, 1): |Z| <= 5.3 (float32) or 8.2 (float64)."""
    return np.sqrt(2.0).astype(dtype) * lax.erf_inv(symmetric_uniform(words, dtype))


_WIDE = np.uint32(1 << 31)
"""Counter-block flag of the two-word (float64) draws, so they never reuse a float32 word."""


def key_words(key) -> tuple[Array, Array]:
    """Two uint32 words of a PRNG key (``jax.random.bits(key, (2,), uint32)``): the cipher key."""
    words = jax.random.bits(key, (2,), jnp.uint32)
    return words[0], words[1]


def tree_normal(key, tree, block=0, word: int = 0):
    """Standard normal draws shaped like ``tree``, i.i.d. over all leaves and entries.

    Entry j of the concatenated leaves (``jax.tree.leaves`` order, row-major inside a leaf)
    hashes the counter ``(j, block)`` with :func:`threefry2x32` under :func:`key_words` of ``key``
    and takes output word ``word`` in {0, 1}: a float32 (or narrower) normal is
    ``sqrt(2) erfinv(V)`` of that 32-bit word (23 bits used); a float64 one uses both words of
    the counter ``(j, 2^31 + 2 block + word)``. Distinct ``(block, word)`` pairs under one key are
    therefore independent draws; ``word`` 0 and 1 of one block share a single hash.

    Args:
      key: PRNG key.
      tree: pytree of floating arrays (only shapes and dtypes are used).
      block: counter block, an integer in [0, 2^30) (may be traced, e.g. a draw index).
      word: 0 or 1.

    Returns:
      A pytree like ``tree`` (same shapes and dtypes).
    """
    if word not in (0, 1):
        raise ValueError(f"word={word!r} is not allowed: 0 or 1")
    leaves, treedef = jax.tree.flatten(tree)
    sizes = [int(np.prod(np.shape(x), dtype=np.int64)) for x in leaves]
    if sum(sizes) >= 2**32:
        raise ValueError(f"a pytree of {sum(sizes)} entries is not allowed: at most 2^32 - 1")
    words = key_words(key)
    block = jnp.asarray(block, jnp.uint32)

    def draw():
        return _tree_normal(words, leaves, sizes, block, word)

    # Both branches are the same draw: the conditional only keeps XLA from fusing the hash
    # into its consumers (on CPU it fused it into a flat gradient's concatenation, making an
    # fSGLD step 6x SGD's instead of about 2x; XLA:CPU drops optimization_barrier). Under vmap
    # with batched keys the conditional becomes a select of equal operands, which XLA removes.
    return treedef.unflatten(lax.cond(words[0] < words[1], draw, draw))


def _tree_normal(words, leaves, sizes, block, word):
    out, offset = [], 0
    for leaf, size in zip(leaves, sizes, strict=True):
        dtype = jnp.result_type(leaf)
        counter = lax.iota(jnp.uint32, size) + np.uint32(offset)
        if dtype == jnp.float64:
            hashed = threefry2x32(words, counter, jnp.broadcast_to(
                _WIDE + 2 * block + np.uint32(word), counter.shape))
            z = standard_normal(hashed, jnp.float64)
        else:
            hashed = threefry2x32(words, counter, jnp.broadcast_to(block, counter.shape))
            z = standard_normal(hashed[word:word + 1], jnp.float32).astype(dtype)
        out.append(z.reshape(np.shape(leaf)))
        offset += size
    return out

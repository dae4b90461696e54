"""Counter-based Gaussian draws: Threefry-2x32-20 written as unrolled jnp code, shared by
:mod:`sgldsim.dynamics` (particles: the inverse-error-function transform, one normal per word)
and :mod:`sgldsim.optim` (the optimisers' noise over parameter pytrees: a Box-Muller pair per
hash in float32, so fSGLD's two noises cost one hash per parameter).

Why not ``jax.random``: on CPU it lowers Threefry with its round groups rolled into a loop; the
unrolled hash fuses with its consumers (measurements in :mod:`sgldsim.dynamics.simulate` and
``benchmarks/rng.py``).
"""

from __future__ import annotations

import contextlib
import contextvars

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

_SIN_QUARTER = (1.0, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880)
_COS_QUARTER = (1.0, -1 / 2, 1 / 24, -1 / 720, 1 / 40320)
"""Taylor coefficients of sin t / t and cos t in t^2: on |t| <= pi/4 the truncation errors are
below 2e-9 and 3e-8, under float32's resolution."""


def _polynomial(coefficients, x):
    out = np.float32(coefficients[-1])
    for c in coefficients[-2::-1]:
        out = out * x + np.float32(c)
    return out


def box_muller_pair(words: tuple[Array, Array]) -> tuple[Array, Array]:
    """Two independent float32 standard normals from the two uint32 words of one hash.

    Box-Muller: Z0 = R cos(theta), Z1 = R sin(theta) with R = sqrt(-2 ln U) and theta uniform
    on [0, 2 pi), independent, so (Z0, Z1) ~ N(0, I_2). U = (k + 1) 2^-24 with k the top 24 bits
    of word 0 (so U in (0, 1] and R <= 5.77). theta: bits 0 and 1 of word 1 pick the signs of
    cos and sin (the quadrant), its top 24 bits k' the angle in the quadrant,
    phi = (pi/2)(k' + 1/2) 2^-24; cos and sin of phi = pi/4 + t, |t| < pi/4, are
    ((cos t -+ sin t)/sqrt 2) with Taylor polynomials of t (no range reduction: cheaper than
    ``jnp.sin``/``jnp.cos`` or the inverse error function by a factor of about 3 on CPU).
    """
    w0, w1 = words
    u = ((w0 >> np.uint32(8)).astype(jnp.float32) + np.float32(1)) * np.float32(2.0**-24)
    radius = jnp.sqrt(-jnp.log(u))  # R / sqrt(2): the 1/sqrt(2) of cos(pi/4 + t) folded in
    t = ((w1 >> np.uint32(8)).astype(jnp.float32) + np.float32(0.5)) * np.float32(
        np.pi / 2 * 2.0**-24) - np.float32(np.pi / 4)
    t2 = t * t
    sin_t, cos_t = t * _polynomial(_SIN_QUARTER, t2), _polynomial(_COS_QUARTER, t2)
    sign_cos = jnp.where((w1 & np.uint32(1)) != 0, np.float32(-1), np.float32(1))
    sign_sin = jnp.where((w1 & np.uint32(2)) != 0, np.float32(-1), np.float32(1))
    return (radius * sign_cos) * (cos_t - sin_t), (radius * sign_sin) * (cos_t + sin_t)


def key_words(key) -> tuple[Array, Array]:
    """Two uint32 words of a PRNG key (``jax.random.bits(key, (2,), uint32)``): the cipher key."""
    words = jax.random.bits(key, (2,), jnp.uint32)
    return words[0], words[1]


def tree_normal(key, tree, block=0, word: int = 0):
    """Standard normal draws shaped like ``tree``, i.i.d. over all leaves and entries.

    Entry j of the concatenated leaves (``jax.tree.leaves`` order, row-major inside a leaf)
    hashes the counter ``(j, block)`` with :func:`threefry2x32` under :func:`key_words` of
    ``key``. A float32 (or narrower) normal is component ``word`` in {0, 1} of the
    :func:`box_muller_pair` of the two output words (computed in float32, then cast); a float64
    one is ``sqrt(2) erfinv(V)`` with V from both words of the counter
    ``(j, 2^31 + 2 block + word)`` (52 bits). Distinct ``(block, word)`` pairs under one key are
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
    return tree_normal_pair(key, tree, block)[word]


def tree_normal_pair(key, tree, block=0):
    """``(tree_normal(key, tree, block, 0), tree_normal(key, tree, block, 1))``, one hash per
    entry."""
    leaves, treedef = jax.tree.flatten(tree)
    sizes = [int(np.prod(np.shape(x), dtype=np.int64)) for x in leaves]
    if sum(sizes) >= 2**32:
        raise ValueError(f"a pytree of {sum(sizes)} entries is not allowed: at most 2^32 - 1")
    shared = _SHARED_DRAWS.get()
    memo = None
    if shared is not None and isinstance(block, int | np.integer):
        memo = (id(key), int(block), treedef, tuple((np.shape(x), jnp.result_type(x))
                                                      for x in leaves))
        if memo in shared:
            return shared[memo][1]
    carriers = _draw(key_words(key), jnp.asarray(block, jnp.uint32), leaves, sizes)
    pair = tuple(treedef.unflatten([_component(c, w, leaf) for c, leaf in zip(
        carriers, leaves, strict=True)]) for w in (0, 1))
    if memo is not None:
        shared[memo] = (key, pair)  # holding the key keeps id(key) from being reused
    return pair


def _component(carrier, word, leaf):
    """Draw ``word`` of a leaf from its carrier: the real or imaginary part of a complex64 array,
    or entry ``word`` of a float64 pair stacked on a leading axis."""
    if jnp.iscomplexobj(carrier):
        z = jnp.real(carrier) if word == 0 else jnp.imag(carrier)
    else:
        z = carrier[word]
    return z.astype(jnp.result_type(leaf)).reshape(np.shape(leaf))


SERIAL_DRAW_LIMIT = 1 << 15
"""Unbatched draws of float32 trees up to this many entries run on one core; larger ones, float64
ones and batched ones are split across cores by XLA:CPU (see :func:`_draw`)."""


def _draw(cipher_key, block, leaves, sizes):
    """Each leaf's carrier (:func:`_component`), materialised once, by the cheaper of two programs.

    XLA fuses an elementwise producer into each of its consumers, so a plain draw would be hashed
    again in the real part, the imaginary part, every slice of a flat parameter vector and a flat
    gradient's concatenation (several SGD steps' worth of work). Both programs below hold one
    loop per entry:

    - serial (unbatched, float32, at most :data:`SERIAL_DRAW_LIMIT` entries): a two-trip
      ``fori_loop`` writing halves of one flat carrier in place; XLA:CPU runs such writes on the
      calling thread.
    - split (otherwise): a conditional with two equal branches; XLA:CPU splits the branch's loop
      across cores, which pays for waking the other core (25-50 us on the 2-core VM of
      ``nn-cost``) only on large draws. Each float32 carrier is divided by a runtime 1 (an
      "expensive" op, which XLA does not duplicate into consumers), so it is hashed once.
    - batched (under ``vmap``, through ``jax.custom_batching``): the split program without the
      conditional (large batched loops are split across cores anyway). A batched conditional
      would be a select of both branches, which XLA does not always merge: a vmapped fSGLD step
      on the 6-leaf MLP of ``nn-cost`` hashed every leaf twice.

    All three hash the same counters with the same float32 formulas: the values agree to float32
    rounding (XLA may contract a multiply-add differently in different programs; tested).
    """
    total = sum(sizes)
    serial = 0 < total <= SERIAL_DRAW_LIMIT and all(
        jnp.result_type(leaf) != jnp.float64 for leaf in leaves)

    def unbatched(key0, key1, block):
        if serial:
            return _serial_carriers((key0, key1), sizes, block)
        return _split_carriers((key0, key1), leaves, sizes, block)

    def batched(axis_size, in_batched, *args):
        args = [x if b else jnp.broadcast_to(x, (axis_size, *np.shape(x)))
                for x, b in zip(args, in_batched, strict=True)]
        carriers = jax.vmap(lambda k0, k1, b: _split_carriers((k0, k1), leaves, sizes, b,
                                                             conditional=False))(*args)
        return carriers, [True] * len(carriers)

    draw = jax.custom_batching.custom_vmap(unbatched)
    draw.def_vmap(batched)
    return draw(cipher_key[0], cipher_key[1], block)


def _float32_pair(cipher_key, counter, block):
    hashed = threefry2x32(cipher_key, counter, jnp.broadcast_to(block, counter.shape))
    return lax.complex(*box_muller_pair(hashed))


def _serial_carriers(cipher_key, sizes, block):
    total = sum(sizes)
    half = -(-total // 2)

    def write_half(i, carrier):
        start = (i * half).astype(jnp.uint32)
        pair = _float32_pair(cipher_key, lax.iota(jnp.uint32, half) + start, block)
        return lax.dynamic_update_slice(carrier, pair, (i * half,))

    flat = lax.fori_loop(0, 2, write_half, jnp.zeros(2 * half, jnp.complex64))
    offsets = np.cumsum([0, *sizes])
    return [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


def _split_carriers(cipher_key, leaves, sizes, block, conditional=True):
    def draw():
        carriers, offset = [], 0
        for leaf, size in zip(leaves, sizes, strict=True):
            counter = lax.iota(jnp.uint32, size) + np.uint32(offset)
            if jnp.result_type(leaf) == jnp.float64:
                carriers.append(jnp.stack([standard_normal(threefry2x32(
                    cipher_key, counter, jnp.broadcast_to(_WIDE + 2 * block + np.uint32(w),
                                                          counter.shape)), jnp.float64)
                    for w in (0, 1)]))
            else:
                zero = np.float32(0) * cipher_key[0].astype(jnp.float32)
                carriers.append(_float32_pair(cipher_key, counter, block)
                                / lax.complex(np.float32(1) + zero, zero))
            offset += size
        return carriers

    return lax.cond(cipher_key[0] < cipher_key[1], draw, draw) if conditional else draw()


_SHARED_DRAWS: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "sgldsim_shared_draws", default=None)


@contextlib.contextmanager
def shared_draws():
    """Within this context, :func:`tree_normal_pair` (and so :func:`tree_normal`) calls with the
    same key object, the same static block and the same tree structure return the same arrays:
    one hash per entry for both words instead of one draw per call.
    Values are unchanged (a draw is a function of key, block, tree and word); only the
    traced program shrinks. Used around the trace of one train step
    (:func:`sgldsim.optim.make_train_step`), so nothing is kept across traces."""
    token = _SHARED_DRAWS.set({})
    try:
        yield
    finally:
        _SHARED_DRAWS.reset(token)

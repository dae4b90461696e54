"""Tiny classifiers as pure JAX functions over parameter pytrees (float32).

A :class:`Model` is a pair ``init(key) -> params`` and ``apply(params, x) -> logits`` for a batch
``x`` of shape (n, *input_shape). Weights are He-normal, N(0, 2 / fan_in), biases zero; all
weights come from one normal draw (see :func:`_gaussian_init`). Factories are cached, so equal
arguments give the *same* model object, and :func:`classification_loss` the same loss function:
compiled Hessian estimators (static in the loss) are then reused across runs.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

ParamTree = Any
"""A pytree of network parameters (any nesting of arrays)."""


class Model(NamedTuple):
    """``init(key) -> params``; ``apply(params, x) -> logits`` (float32[n, num_classes])."""

    init: Callable[[jax.Array], ParamTree]
    apply: Callable[[ParamTree, jax.Array], jax.Array]


class _Leaf(NamedTuple):
    """A parameter array's shape and the std of its N(0, std^2) initialisation (0: zeros)."""

    shape: tuple[int, ...]
    std: float


def _gaussian_init(key, spec) -> ParamTree:
    """Parameters shaped as ``spec`` (a pytree of :class:`_Leaf`) from ONE standard normal
    vector ``jax.random.normal(key, (total size,))``, cut in leaf order and scaled by each
    leaf's std (a single draw keeps the compiled program small)."""
    leaves, treedef = jax.tree.flatten(spec, is_leaf=lambda x: isinstance(x, _Leaf))
    sizes = [math.prod(leaf.shape) for leaf in leaves]
    z = jax.random.normal(key, (sum(sizes),), jnp.float32)
    parts = jnp.split(z, list(itertools.accumulate(sizes))[:-1])
    return treedef.unflatten([(part * leaf.std).reshape(leaf.shape)
                              for part, leaf in zip(parts, leaves, strict=True)])


def _dense_spec(fan_in: int, fan_out: int) -> dict:
    """He-normal weights N(0, 2 / fan_in), zero biases."""
    return {"w": _Leaf((fan_in, fan_out), math.sqrt(2.0 / fan_in)), "b": _Leaf((fan_out,), 0.0)}


@functools.cache
def mlp(input_shape: tuple[int, ...], num_classes: int, hidden: tuple[int, ...] = (64,)) -> Model:
    """Fully connected ReLU network on the flattened input: widths ``hidden``, then logits."""
    widths = (math.prod(input_shape), *hidden, num_classes)

    spec = [_dense_spec(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]

    def init(key):
        return _gaussian_init(key, spec)

    def apply(params, x):
        h = x.reshape(x.shape[0], -1)
        for layer in params[:-1]:
            h = jax.nn.relu(h @ layer["w"] + layer["b"])
        return h @ params[-1]["w"] + params[-1]["b"]

    return Model(init, apply)


def _patches(h, kernel_size: int) -> jax.Array:
    """im2col for a stride-1 'SAME' convolution: (n, *spatial, c) -> (n, *spatial, k^r c).

    Feature index (offset_1, ..., offset_r, channel) in row-major order, so that
    ``_patches(h, k) @ w.reshape(-1, c_out)`` equals ``jax.lax.conv_general_dilated`` with an
    HWIO kernel ``w``. Built from zero padding and static slices: on CPU its gradient is several
    times cheaper than XLA's convolution gradients at these tiny sizes.
    """
    spatial = h.shape[1:-1]
    pad = kernel_size // 2
    padded = jnp.pad(h, [(0, 0), *[(pad, kernel_size - 1 - pad)] * len(spatial), (0, 0)])
    offsets = itertools.product(range(kernel_size), repeat=len(spatial))
    views = [padded[(slice(None), *(slice(o, o + s) for o, s in zip(offset, spatial,
                                                                    strict=True)))]
             for offset in offsets]
    return jnp.concatenate(views, axis=-1)


def _average_pool(h) -> jax.Array:
    """2x average pooling along every spatial axis of (n, *spatial, c) (odd edges dropped)."""
    spatial = h.shape[1:-1]
    h = h[(slice(None), *(slice(0, 2 * (s // 2)) for s in spatial))]
    pairs = [d for s in spatial for d in (s // 2, 2)]
    h = h.reshape(h.shape[0], *pairs, h.shape[-1])
    return h.mean(axis=tuple(range(2, 2 + 2 * len(spatial), 2)))


@functools.cache
def cnn(input_shape: tuple[int, ...], num_classes: int, channels: tuple[int, ...] = (4, 8),
        kernel_size: int = 3) -> Model:
    """Convolutional ReLU network for 1-D or 2-D inputs of shape (*spatial, channels_in).

    Each block is a stride-1 'SAME' convolution with an HWIO kernel (``kernel_size`` along every
    spatial axis; computed as im2col, equal to ``jax.lax.conv_general_dilated``), ReLU and 2x
    average pooling; a dense layer maps the flattened features to logits.
    """
    *spatial, channels_in = input_shape
    rank = len(spatial)
    if rank not in (1, 2):
        raise ValueError(f"input_shape={input_shape!r} is not allowed for cnn: it must be "
                         "(length, channels) or (height, width, channels)")
    pooled = [s // 2 ** len(channels) for s in spatial]
    if min(pooled) < 1:
        raise ValueError(f"input_shape={input_shape!r} is too small for {len(channels)} pooling "
                         "blocks")

    sizes = (channels_in, *channels)
    spec = {"convs": [{"w": _Leaf((*([kernel_size] * rank), c_in, c_out),
                                  math.sqrt(2.0 / (c_in * kernel_size**rank))),
                       "b": _Leaf((c_out,), 0.0)}
                      for c_in, c_out in zip(sizes[:-1], sizes[1:], strict=True)],
            "head": _dense_spec(math.prod(pooled) * channels[-1], num_classes)}

    def init(key):
        return _gaussian_init(key, spec)

    def apply(params, x):
        h = x
        for conv in params["convs"]:
            w = conv["w"]
            h = _patches(h, kernel_size) @ w.reshape(-1, w.shape[-1])
            h = _average_pool(jax.nn.relu(h + conv["b"]))
        h = h.reshape(h.shape[0], -1)
        return h @ params["head"]["w"] + params["head"]["b"]

    return Model(init, apply)


@functools.cache
def flat_model(model: Model) -> Model:
    """The same network on one flat float32 parameter vector (``ravel_pytree`` order).

    Every method here treats the parameters as one vector (i.i.d. Gaussian noise over all
    entries, global norms, elementwise scalings), so training in flat coordinates gives the
    same algorithm; one leaf means one Gaussian draw per noise term instead of one per layer
    array, which on CPU compiles several times faster. Cached: one object per model.
    """
    template = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype),
                            jax.eval_shape(model.init, jax.random.key(0)))
    unravel = ravel_pytree(template)[1]

    def init(key):
        return ravel_pytree(model.init(key))[0]

    def apply(flat, x):
        return model.apply(unravel(flat), x)

    return Model(init, apply)


@functools.cache
def residual_mlp(input_shape: tuple[int, ...], num_classes: int,
                 hidden: tuple[int, ...] = (100, 100)) -> Model:
    """The MNIST-1D benchmark's MLP: ReLU layers of widths ``hidden`` on the flattened input,
    each layer after the first adding its input (a residual connection, so consecutive widths
    must be equal), then logits: h_1 = relu(W_1 x + b_1), h_k = relu(W_k h_{k-1} + b_k) + h_{k-1}.

    References:
      Greydanus and Kobak, Scaling down deep learning with MNIST-1D, ICML 2024 (repository
      ``greydanus/mnist1d``: two hidden layers of 100 units).
    """
    if any(a != b for a, b in zip(hidden[:-1], hidden[1:], strict=True)):
        raise ValueError(f"hidden={hidden!r} is not allowed for residual_mlp: equal widths")
    widths = (math.prod(input_shape), *hidden, num_classes)
    spec = [_dense_spec(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]

    def init(key):
        return _gaussian_init(key, spec)

    def apply(params, x):
        h = jax.nn.relu(x.reshape(x.shape[0], -1) @ params[0]["w"] + params[0]["b"])
        for layer in params[1:-1]:
            h = jax.nn.relu(h @ layer["w"] + layer["b"]) + h
        return h @ params[-1]["w"] + params[-1]["b"]

    return Model(init, apply)


def _strided_patches(h, kernel_size: int, stride: int, padding: int) -> jax.Array:
    """im2col of a 1-D convolution: (n, length, c) -> (n, out_length, kernel_size * c) with
    out_length = (length + 2 padding - kernel_size) // stride + 1; feature (offset, channel)."""
    length = h.shape[1]
    out_length = (length + 2 * padding - kernel_size) // stride + 1
    padded = jnp.pad(h, [(0, 0), (padding, padding), (0, 0)])
    views = [padded[:, o:o + stride * (out_length - 1) + 1:stride] for o in range(kernel_size)]
    return jnp.concatenate(views, axis=-1)


@functools.cache
def strided_cnn(input_shape: tuple[int, ...], num_classes: int,
                channels: tuple[int, ...] = (25, 25, 25), kernels: tuple[int, ...] = (5, 3, 3),
                stride: int = 2, padding: int = 1) -> Model:
    """The MNIST-1D benchmark's CNN for inputs (length, channels_in): 1-D convolutions with
    ``channels`` and ``kernels``, stride 2, zero padding 1, ReLU, then a dense layer on the
    flattened features (length 40: 40 -> 19 -> 10 -> 5, 25 x 5 = 125 features). Computed as
    im2col (equal to ``jax.lax.conv_general_dilated`` with a WIO kernel).

    References:
      Greydanus and Kobak, Scaling down deep learning with MNIST-1D, ICML 2024.
    """
    if len(input_shape) != 2:
        raise ValueError(f"input_shape={input_shape!r} is not allowed for strided_cnn: it must "
                         "be (length, channels)")
    length, channels_in = input_shape
    for k in kernels:
        length = (length + 2 * padding - k) // stride + 1
    if length < 1:
        raise ValueError(f"input_shape={input_shape!r} is too short for {len(kernels)} strided "
                         "convolutions")
    sizes = (channels_in, *channels)
    spec = {"convs": [{"w": _Leaf((k, c_in, c_out), math.sqrt(2.0 / (c_in * k))),
                       "b": _Leaf((c_out,), 0.0)}
                      for k, c_in, c_out in zip(kernels, sizes[:-1], sizes[1:], strict=True)],
            "head": _dense_spec(length * channels[-1], num_classes)}

    def init(key):
        return _gaussian_init(key, spec)

    def apply(params, x):
        h = x
        for conv, k in zip(params["convs"], kernels, strict=True):
            w = conv["w"]
            h = jax.nn.relu(_strided_patches(h, k, stride, padding) @ w.reshape(-1, w.shape[-1])
                            + conv["b"])
        h = h.reshape(h.shape[0], -1)
        return h @ params["head"]["w"] + params["head"]["b"]

    return Model(init, apply)


MODELS = {"mlp": mlp, "cnn": cnn, "residual_mlp": residual_mlp, "strided_cnn": strided_cnn}
"""Model constructors by name (:func:`model_from_name`)."""


def model_from_name(name: str, input_shape: tuple[int, ...], num_classes: int,
                    widths: tuple[int, ...] | None = None) -> Model:
    """A model of :data:`MODELS` by name; ``widths`` are the hidden widths (``mlp``, default
    (64,); ``residual_mlp``, default (100, 100)) or the channels (``cnn``, default (4, 8);
    ``strided_cnn``, default (25, 25, 25), one per kernel)."""
    if name not in MODELS:
        raise ValueError(f"model={name!r} is not allowed; allowed: {', '.join(map(repr, MODELS))}")
    if widths is None:
        return MODELS[name](tuple(input_shape), num_classes)
    return MODELS[name](tuple(input_shape), num_classes, tuple(widths))


def cross_entropy(logits, labels) -> jax.Array:
    """Mean negative log-likelihood of integer ``labels`` under softmax(``logits``)."""
    log_p = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=1))


@functools.cache
def classification_loss(model: Model) -> Callable:
    """``loss(params, (x, y)) = cross_entropy(model.apply(params, x), y)``, one object per
    model (a stable static argument for the compiled Hessian estimators)."""

    def loss(params, batch):
        x, y = batch
        return cross_entropy(model.apply(params, x), y)

    return loss


"""The gradient-rule protocol: how a training step computes its descent direction.

SGD, SGLD, RWP, fSGLD, SAM and ASAM differ only in *where* the gradient is taken (at theta, at
theta + sigma xi, at theta + e); the optimiser (learning rate, Langevin noise, weight decay,
momentum) then acts on that direction. A gradient rule is the first half:

    rule(key, params, batch, objective) -> (direction, GradientInfo)

- ``key``: PRNG key for the rule's randomness (perturbations, domain order); unused by
  deterministic rules.
- ``batch``: whatever the user's loss takes; rules that need structure say so (e.g. DGSAM
  takes a sequence of per-domain batches).
- ``objective(params, batch) -> (terms, aux)``: the user's loss in a standard form,
  :func:`as_objective`; ``terms`` is a dict of named scalar loss terms whose sum is the loss
  (a scalar loss is ``{"loss": value}``), so rules that treat terms separately can.

The rule sees the full loss structure, so later methods are rules too, e.g. DGSAM (docs/theory.md
§8), a chain of per-domain gradients at accumulating perturbations::

    def dgsam_rule(key, params, batch, objective):           # batch = [batch_1, ..., batch_S]
        order = jax.random.permutation(key, len(batch)); point, total = params, 0
        for d in [*order, order[0]]:                           # (traced: index stacked batches)
            g, info = evaluate_gradient(objective, point, batch[d])
            point = point + rho * g / |g|; total = total + g
        return total * S / (S + 1), info

and DCGD (docs/theory.md §9), two gradients of named terms combined into one direction::

    def dcgd_rule(key, params, batch, objective):            # loss returns {"r": L_r, "b": L_b}
        (terms, aux), vjp = jax.vjp(objective(., batch), params)  # one forward pass
        g_r, g_b = vjp({"r": 1, "b": 0}), vjp({"r": 0, "b": 1})
        g_c = g_r / |g_r| + g_b / |g_b|
        return (<g_c, g_r + g_b> / |g_c|^2) g_c, GradientInfo(sum(terms), terms, aux)

Both are implemented: :func:`domain_gradual_sharpness_aware` and :func:`dual_cone`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax

ParamTree = Any
"""A pytree of network parameters (any nesting of arrays)."""
Batch = Any
Objective = Callable[[ParamTree, Batch], tuple[dict[str, jax.Array], Any]]
"""``objective(params, batch) -> (terms, aux)``: a loss as named terms (:func:`as_objective`)."""


class GradientInfo(NamedTuple):
    """What a rule reports about the loss it differentiated.

    Attributes:
      loss: the total loss at the point(s) where the returned direction's gradients were
        taken (mean over points when there are several, e.g. M perturbation draws): for SAM
        L(theta + e), for RWP/fSGLD a one-sample estimate of the smoothed loss g_sigma(theta).
      terms: the named loss terms summing to ``loss`` (``{"loss": loss}`` for a scalar loss).
      aux: the loss function's auxiliary output (``None`` without ``has_aux``), averaged the
        same way.
    """

    loss: jax.Array
    terms: dict[str, jax.Array]
    aux: Any


GradientRule = Callable[[jax.Array, ParamTree, Batch, Objective], tuple[ParamTree, GradientInfo]]
"""``rule(key, params, batch, objective) -> (direction, GradientInfo)``: see the module doc."""


def as_objective(loss_fn: Callable, has_aux: bool = False) -> Objective:
    """Put a user's loss into the standard form ``(params, batch) -> (terms, aux)``.

    Args:
      loss_fn: ``loss_fn(params, batch)`` returning a scalar loss, or a dict of named scalar
        terms whose sum is the loss; with ``has_aux`` it returns ``(loss_or_terms, aux)``.
      has_aux: whether ``loss_fn`` also returns auxiliary data.
    """

    def objective(params, batch):
        out = loss_fn(params, batch)
        value, aux = out if has_aux else (out, None)
        terms = dict(value) if isinstance(value, Mapping) else {"loss": value}
        return terms, aux

    return objective


def evaluate_gradient(objective: Objective, params: ParamTree, batch: Batch):
    """Gradient of the total loss at ``params``: returns ``(grad, GradientInfo)``."""

    def total(p):
        terms, aux = objective(p, batch)
        return sum(terms.values()), (terms, aux)

    (loss, (terms, aux)), grad = jax.value_and_grad(total, has_aux=True)(params)
    return grad, GradientInfo(loss, terms, aux)


def plain() -> GradientRule:
    """The gradient at the current parameters, grad L(theta, batch) (SGD, SGLD;
    docs/theory.md §1)."""

    def rule(key, params, batch, objective):
        del key
        return evaluate_gradient(objective, params, batch)

    return rule

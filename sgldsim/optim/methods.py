"""The methods of the paper as (optimiser, gradient rule) pairs (docs/theory.md §1, §7).

| method | gradient rule | optimiser |
|---|---|---|
| SGD   | plain                                  | optax.sgd(lr, momentum) |
| SGLD  | plain                                  | langevin_sgd(lr, beta)  |
| RWP   | random_perturbation(sigma)             | optax.sgd(lr, momentum) |
| fSGLD | random_perturbation(sigma)             | langevin_sgd(lr, beta)  |
| SAM   | sharpness_aware(rho)                   | optax.sgd(lr, momentum) |
| ASAM  | adaptive_sharpness_aware(rho, eta)     | optax.sgd(lr, momentum) |
| DGSAM | domain_gradual_sharpness_aware(rho)    | optax.adam(lr)          |
| DCGD  | dual_cone(variant)                     | optax.adam(lr)          |

Domain generalisation (ERM, SAM, per-domain SAM, GSAM, SAGM, DGSAM on per-domain batches):
:func:`sgldsim.optim.domain_method` in :mod:`sgldsim.optim.domain_baselines`.

Replace or extend the optimiser freely, e.g. weight decay as in the paper's code:
``m._replace(optimizer=optax.chain(optax.add_decayed_weights(5e-4), m.optimizer))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import optax

from ..coupling import coupled_sigma
from ._checks import check_choice, check_learning_rate, check_momentum
from .domain_gradual import domain_gradual_sharpness_aware
from .dual_cone import dual_cone
from .gradient_rule import GradientRule, plain
from .langevin import langevin_sgd
from .perturbation import random_perturbation
from .sharpness import adaptive_sharpness_aware, sharpness_aware
from .train_step import make_train_step


class Method(NamedTuple):
    """A named training method: an optax optimiser fed by a gradient rule.

    Attributes:
      name: the method's name (a label).
      optimizer: the optax transformation turning the direction into parameter updates.
      gradient_rule: how the direction is computed (see :mod:`sgldsim.optim.gradient_rule`).
    """

    name: str
    optimizer: optax.GradientTransformation
    gradient_rule: GradientRule

    def train_step(self, loss_fn: Callable, *, has_aux: bool = False):
        """``make_train_step(loss_fn, self.optimizer, self.gradient_rule, has_aux=has_aux)``."""
        return make_train_step(loss_fn, self.optimizer, self.gradient_rule, has_aux=has_aux)


def _descent(learning_rate, momentum) -> optax.GradientTransformation:
    check_learning_rate(learning_rate)
    check_momentum(momentum)
    return optax.sgd(learning_rate, momentum=momentum or None)


def sgd(learning_rate, momentum=0.0) -> Method:
    """SGD: theta - lr_t g with g = grad L(theta, batch) (heavy-ball momentum optional)."""
    return Method("sgd", _descent(learning_rate, momentum), plain())


def sgld(learning_rate, beta, key=0) -> Method:
    """SGLD: theta - lr_t grad L(theta, batch) + sqrt(2 lr_t / beta) xi (beta of the mean loss)."""
    return Method("sgld", langevin_sgd(learning_rate, beta, key), plain())


def rwp(learning_rate, sigma, num_draws: int = 1, antithetic: bool = False,
        momentum=0.0) -> Method:
    """RWP: theta - lr_t grad L(theta + sigma xi', batch), i.e. fSGLD with beta = inf."""
    return Method("rwp", _descent(learning_rate, momentum),
                  random_perturbation(sigma, num_draws, antithetic))


def fsgld(learning_rate, beta, sigma=None, eta=0.1, num_draws: int = 1,
          antithetic: bool = False, key=0) -> Method:
    """fSGLD: theta - lr_t grad L(theta + sigma xi', batch) + sqrt(2 lr_t / beta) xi.

    One perturbed gradient per step (the cost of SGD). Without ``sigma`` the paper's coupling
    sigma = beta^(-(1 + eta)/4) sets it (§3; eta in (0, 1), default 0.1).

    Args:
      learning_rate: positive learning rate or schedule ``t -> lr_t``.
      beta: inverse temperature in (0, inf] of the *mean* loss (the paper's code tunes
        1/beta in [1e-9, 1e-7]).
      sigma: perturbation scale >= 0; ``None`` for the coupling.
      eta: coupling exponent, used only when ``sigma`` is None.
      num_draws: perturbed gradients averaged per step (M).
      antithetic: antithetic pairs +xi', -xi' (M even).
      key: PRNG key or seed for the Langevin noise (the perturbation key is the step's key).

    References:
      Bruno et al., Flatness-aware stochastic gradient Langevin dynamics, arXiv 2510.02174.
    """
    if sigma is None:
        sigma = float(coupled_sigma(beta, eta))
    return Method("fsgld", langevin_sgd(learning_rate, beta, key),
                  random_perturbation(sigma, num_draws, antithetic))


def sam(learning_rate, rho, momentum=0.0) -> Method:
    """SAM: theta - lr_t grad L(theta + rho g/|g|, batch), g = grad L(theta, batch)."""
    return Method("sam", _descent(learning_rate, momentum), sharpness_aware(rho))


def asam(learning_rate, rho, eta=0.01, momentum=0.0) -> Method:
    """ASAM: SAM with e = rho T^2 g / |T g|, T = |theta| + eta (Kwon et al. 2021)."""
    return Method("asam", _descent(learning_rate, momentum), adaptive_sharpness_aware(rho, eta))


def dgsam(learning_rate, rho, include_first: bool = True) -> Method:
    """DGSAM with Adam (the DomainBed setting); batches are sequences of per-domain batches."""
    check_learning_rate(learning_rate)
    return Method("dgsam", optax.adam(learning_rate),
                  domain_gradual_sharpness_aware(rho, include_first))


def dcgd(learning_rate, variant: str = "center") -> Method:
    """DCGD with Adam (the PINN setting); the loss returns two named terms."""
    check_learning_rate(learning_rate)
    return Method("dcgd", optax.adam(learning_rate), dual_cone(variant))


METHODS: dict[str, Callable[..., Method]] = {
    "sgd": sgd, "sgld": sgld, "rwp": rwp, "fsgld": fsgld, "sam": sam, "asam": asam,
    "dgsam": dgsam, "dcgd": dcgd,
}


def method_from_name(name: str, **hyperparameters) -> Method:
    """``METHODS[name](**hyperparameters)``, e.g. ``method_from_name("sam", learning_rate=0.1,
    rho=0.05)``; an unknown name raises ValueError listing the allowed ones."""
    check_choice("method name", name, tuple(METHODS))
    return METHODS[name](**hyperparameters)

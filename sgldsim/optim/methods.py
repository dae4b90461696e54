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

Randomness: every method's randomness comes from the key its train step gets (the fSGLD
perturbation and the SGLD/fSGLD Langevin noise alike), so runs with different step keys never
share noise. Schedules: a :class:`Method` is also an optax transformation (``init``/``update`` of
its optimiser), so ``optax.inject_hyperparams(optim.fsgld)(learning_rate=..., beta=schedule)``
works; :func:`make_train_step` with that state rebuilds the gradient rule from
``opt_state.hyperparams``, so sigma (or the coupling through beta and eta) and rho are
schedulable too.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import optax

from ..coupling import coupled_sigma
from ._checks import check_choice, check_learning_rate, check_momentum, concrete
from .domain_gradual import domain_gradual_sharpness_aware
from .dual_cone import dual_cone
from .gradient_rule import GradientRule, plain
from .langevin import langevin_sgd
from .perturbation import random_perturbation
from .sharpness import adaptive_sharpness_aware, sharpness_aware
from .train_step import make_train_step


class Method(optax.GradientTransformationExtraArgs):
    """A named training method: an optax optimiser fed by a gradient rule.

    It *is* its optimiser as an optax transformation (``init``/``update`` with extra arguments),
    so it goes wherever optax expects one, e.g. ``optax.inject_hyperparams(optim.fsgld)``.

    Attributes:
      name: the method's name (a label).
      optimizer: the optax transformation turning the direction into parameter updates.
      gradient_rule: how the direction is computed (see :mod:`sgldsim.optim.gradient_rule`).
    """

    name: str
    optimizer: optax.GradientTransformation
    gradient_rule: GradientRule

    def __new__(cls, name: str, optimizer: optax.GradientTransformation,
                gradient_rule: GradientRule):
        optimizer = optax.with_extra_args_support(optimizer)
        self = super().__new__(cls, optimizer.init, optimizer.update)
        self.name, self.optimizer, self.gradient_rule = name, optimizer, gradient_rule
        return self

    def __getnewargs__(self):
        return self.name, self.optimizer, self.gradient_rule

    def __repr__(self) -> str:
        return f"Method(name={self.name!r}, optimizer={self.optimizer!r}, " \
               f"gradient_rule={self.gradient_rule!r})"

    def _replace(self, **changes) -> Method:
        """A copy with ``name``, ``optimizer`` or ``gradient_rule`` replaced."""
        fields = {"name": self.name, "optimizer": self.optimizer,
                  "gradient_rule": self.gradient_rule}
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"fields {sorted(unknown)!r} are not allowed; allowed: "
                             f"{sorted(fields)!r}")
        return Method(**{**fields, **changes})

    def train_step(self, loss_fn: Callable, *, has_aux: bool = False):
        """``make_train_step(loss_fn, self.optimizer, self.gradient_rule, has_aux=has_aux)``."""
        return make_train_step(loss_fn, self.optimizer, self.gradient_rule, has_aux=has_aux)


def _schedulable(rule: GradientRule, factory: Callable[..., Method], arguments: dict
                 ) -> GradientRule:
    """Give ``rule`` a ``with_hyperparams(hyperparams)`` that rebuilds it from the factory's
    ``arguments``, those named in ``hyperparams`` replaced (see :func:`make_train_step` and
    ``optax.inject_hyperparams``); other names in ``hyperparams`` are ignored."""

    def with_hyperparams(hyperparams: dict) -> GradientRule:
        given = {k: v for k, v in hyperparams.items() if k in arguments}
        return factory(**{**arguments, **given}).gradient_rule

    rule.with_hyperparams = with_hyperparams
    return rule


def _descent(learning_rate, momentum) -> optax.GradientTransformation:
    check_learning_rate(learning_rate)
    check_momentum(momentum)
    # Only a literal 0 drops the momentum trace: an array (e.g. from inject_hyperparams) keeps
    # it, so init (concrete) and update (traced) build the same state.
    none = momentum is None or (isinstance(momentum, int | float) and momentum == 0)
    return optax.sgd(learning_rate, momentum=None if none else momentum)


def sgd(learning_rate, momentum=0.0) -> Method:
    """SGD: theta - lr_t g with g = grad L(theta, batch) (heavy-ball momentum optional)."""
    return Method("sgd", _descent(learning_rate, momentum), plain())


def sgld(learning_rate, beta) -> Method:
    """SGLD: theta - lr_t grad L(theta, batch) + sqrt(2 lr_t / beta) xi (beta of the mean loss).

    xi is drawn from the train step's key (``langevin_noise(key, params)``)."""
    return Method("sgld", langevin_sgd(learning_rate, beta), plain())


def rwp(learning_rate, sigma, num_draws: int | None = None, antithetic: bool = False,
        momentum=0.0) -> Method:
    """RWP: theta - lr_t grad L(theta + sigma xi', batch), i.e. fSGLD with beta = inf
    (``num_draws`` M: None means 1)."""
    rule = random_perturbation(sigma, 1 if num_draws is None else num_draws, antithetic)
    return Method("rwp", _descent(learning_rate, momentum),
                  _schedulable(rule, rwp, {"learning_rate": learning_rate, "sigma": sigma,
                                            "num_draws": num_draws, "antithetic": antithetic,
                                            "momentum": momentum}))


def fsgld(learning_rate, beta, sigma=None, eta=0.1, num_draws: int | None = None,
          antithetic: bool = False) -> Method:
    """fSGLD: theta - lr_t grad L(theta + sigma xi', batch) + sqrt(2 lr_t / beta) xi.

    One perturbed gradient per step (the cost of SGD). Without ``sigma`` the paper's coupling
    sigma = beta^(-(1 + eta)/4) sets it (§3; eta in (0, 1), default 0.1).

    Args:
      learning_rate: positive learning rate or schedule ``t -> lr_t``.
      beta: inverse temperature in (0, inf] of the *mean* loss (the paper's code tunes
        1/beta in [1e-9, 1e-7]).
      sigma: perturbation scale >= 0; ``None`` for the coupling.
      eta: coupling exponent, used only when ``sigma`` is None.
      num_draws: perturbed gradients averaged per step (M); None means 1 (a Python default
        that ``optax.inject_hyperparams`` leaves static).
      antithetic: antithetic pairs +xi', -xi' (M even).

    Both noises come from the train step's key k: xi' = ``tree_normal(k, params, 0, 0)`` and
    xi = ``langevin_noise(k, params)`` (word 1: for float32 parameters the two components of
    one Box-Muller pair, independent, from one Threefry hash per parameter). beta,
    sigma and eta may be traced (vmapped sweeps, ``optax.inject_hyperparams``).

    References:
      Bruno et al., Flatness-aware stochastic gradient Langevin dynamics, arXiv 2510.02174.
    """
    arguments = {"learning_rate": learning_rate, "beta": beta, "sigma": sigma, "eta": eta,
                 "num_draws": num_draws, "antithetic": antithetic}
    if sigma is None:
        sigma = (float(coupled_sigma(beta, eta)) if concrete(beta) and concrete(eta)
                 else jnp.asarray(beta) ** (-(1.0 + jnp.asarray(eta)) / 4.0))
    rule = random_perturbation(sigma, 1 if num_draws is None else num_draws, antithetic)
    return Method("fsgld", langevin_sgd(learning_rate, beta),
                  _schedulable(rule, fsgld, arguments))


def sam(learning_rate, rho, momentum=0.0) -> Method:
    """SAM: theta - lr_t grad L(theta + rho g/|g|, batch), g = grad L(theta, batch)."""
    return Method("sam", _descent(learning_rate, momentum),
                  _schedulable(sharpness_aware(rho), sam,
                               {"learning_rate": learning_rate, "rho": rho, "momentum": momentum}))


def asam(learning_rate, rho, eta=0.01, momentum=0.0) -> Method:
    """ASAM: SAM with e = rho T^2 g / |T g|, T = |theta| + eta (Kwon et al. 2021)."""
    return Method("asam", _descent(learning_rate, momentum),
                  _schedulable(adaptive_sharpness_aware(rho, eta), asam,
                               {"learning_rate": learning_rate, "rho": rho, "eta": eta,
                                "momentum": momentum}))


def dgsam(learning_rate, rho, include_first: bool = True) -> Method:
    """DGSAM with Adam (the DomainBed setting); batches are sequences of per-domain batches."""
    check_learning_rate(learning_rate)
    return Method("dgsam", optax.adam(learning_rate),
                  domain_gradual_sharpness_aware(rho, include_first))


def dcgd(learning_rate, variant: str = "center") -> Method:
    """DCGD with Adam (the PINN setting); the loss returns two named terms."""
    check_learning_rate(learning_rate)
    return Method("dcgd", optax.adam(learning_rate), dual_cone(variant))


METHOD_FACTORIES: dict[str, Callable[..., Method]] = {
    "sgd": sgd, "sgld": sgld, "rwp": rwp, "fsgld": fsgld, "sam": sam, "asam": asam,
    "dgsam": dgsam, "dcgd": dcgd,
}
"""The optimiser factory of each method name (used by :func:`method_from_name`)."""


def method_from_name(name: str, **hyperparameters) -> Method:
    """``METHOD_FACTORIES[name](**hyperparameters)``, e.g.
    ``method_from_name("sam", learning_rate=0.1, rho=0.05)``; an unknown name raises ValueError
    listing the allowed ones."""
    check_choice("method name", name, tuple(METHOD_FACTORIES))
    return METHOD_FACTORIES[name](**hyperparameters)

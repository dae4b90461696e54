"""Neural-network optimisers: SGD, SGLD, RWP, fSGLD, SAM, ASAM (and DGSAM, DCGD) for any
parameter pytree, plus Hessian curvature measures (docs/theory.md §1, §7).

A method is an optax optimiser fed by a *gradient rule* (where the gradient is taken):

    method = fsgld(learning_rate=0.1, beta=1e8)           # sigma from the coupling, eta = 0.1
    step = jax.jit(method.train_step(loss_fn))
    opt_state = method.optimizer.init(params)
    params, opt_state, info = step(key, params, opt_state, batch)   # info.loss, info.aux

The optimisers are plain optax transformations (compose with ``optax.chain``, schedules,
``optax.add_decayed_weights``); :func:`add_langevin_noise` adds sqrt(2 lr_t / beta) xi after the
learning-rate scaling. The particle samplers of the same methods are
:func:`sgldsim.fsgld_sampler` etc., which take lam as ``step_size`` (docs/theory.md §1).

Two-term losses (DCGD, PCGrad, MGDA; docs/theory.md §9): :func:`term_gradients` gives the two
terms' gradients, a :data:`Combination` (:data:`DUAL_CONE_COMBINATIONS`,
:func:`pcgrad_direction`, :func:`mgda_direction`) turns them into a direction,
:func:`two_term_rule` makes that a gradient rule, and the loss weightings (:func:`lra_update`,
:func:`ntk_weights`) rescale the terms in between.
"""

from .domain_baselines import (
    DOMAIN_METHODS,
    domain_method,
    domain_rule,
    gradient_evaluations,
    gradient_matching,
    per_domain_sharpness_aware,
    pooled,
    surrogate_gap,
)
from .domain_gradual import check_domain_batches, domain_gradual_sharpness_aware
from .domain_sharpness import (
    DomainSharpness,
    SharpnessMeasures,
    domain_sharpness,
    zeroth_order_sharpness,
)
from .dual_cone import DUAL_CONE_COMBINATIONS, DUAL_CONE_VARIANTS, dual_cone
from .gradient_rule import (
    GradientInfo,
    GradientRule,
    Objective,
    as_objective,
    evaluate_gradient,
    plain,
)
from .hessian import (
    TraceEstimate,
    hessian_top_eigenvalues,
    hessian_trace,
    hessian_vector_product,
)
from .langevin import AddLangevinNoiseState, add_langevin_noise, langevin_sgd
from .loss_weighting import LRA_ESTIMATES, lra_update, lra_weight, ntk_trace, ntk_weights
from .methods import (
    METHOD_FACTORIES,
    Method,
    asam,
    dcgd,
    dgsam,
    fsgld,
    method_from_name,
    rwp,
    sam,
    sgd,
    sgld,
)
from .multitask import mgda, mgda_direction, pcgrad, pcgrad_direction
from .perturbation import random_perturbation
from .sharpness import adaptive_sharpness_aware, sharpness_aware
from .train_step import make_train_step
from .two_term import Combination, term_gradients, two_term_rule

__all__ = [
    "METHOD_FACTORIES", "AddLangevinNoiseState", "GradientInfo", "GradientRule", "Method",
    "Objective", "TraceEstimate", "adaptive_sharpness_aware", "add_langevin_noise",
    "as_objective", "asam", "dcgd", "dgsam", "domain_gradual_sharpness_aware",
    "evaluate_gradient", "fsgld", "hessian_top_eigenvalues", "hessian_trace",
    "hessian_vector_product", "langevin_sgd", "make_train_step", "method_from_name", "plain",
    "random_perturbation", "rwp", "sam", "sgd", "sgld", "sharpness_aware",
    # domain generalisation (DGSAM and its baselines, per-domain sharpness)
    "DOMAIN_METHODS", "DomainSharpness", "SharpnessMeasures", "check_domain_batches",
    "domain_method", "domain_rule", "domain_sharpness", "gradient_evaluations",
    "gradient_matching", "per_domain_sharpness_aware", "pooled", "surrogate_gap",
    "zeroth_order_sharpness",
    # two-term losses (physics-informed networks): per-term gradients, combinations, rules
    # (DCGD, PCGrad, MGDA), loss weightings
    "DUAL_CONE_COMBINATIONS", "DUAL_CONE_VARIANTS", "LRA_ESTIMATES", "Combination", "dual_cone",
    "lra_update", "lra_weight", "mgda", "mgda_direction", "ntk_trace", "ntk_weights", "pcgrad",
    "pcgrad_direction", "term_gradients", "two_term_rule",
]

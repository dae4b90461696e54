"""Neural-network optimisers: SGD, SGLD, RWP, fSGLD, SAM, ASAM (and DGSAM, DCGD) for any
parameter pytree, plus Hessian curvature measures (docs/theory.md §1, §7).

A method is an optax optimiser fed by a *gradient rule* (where the gradient is taken):

    method = fsgld(learning_rate=0.1, beta=1e8)           # sigma from the coupling, eta = 0.1
    step = jax.jit(method.train_step(loss_fn))
    opt_state = method.optimizer.init(params)
    params, opt_state, info = step(key, params, opt_state, batch)   # info.loss, info.aux

The optimisers are plain optax transformations (compose with ``optax.chain``, schedules,
``optax.add_decayed_weights``); :func:`add_langevin_noise` adds sqrt(2 lr_t / beta) xi after the
learning-rate scaling.
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
from .dual_cone import DUAL_CONE_VARIANTS, dual_cone
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
from .loss_weighting import lra_update, lra_weight, ntk_trace, ntk_weights
from .methods import (
    METHODS,
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
from .multitask import mgda, pcgrad
from .perturbation import random_perturbation
from .sharpness import adaptive_sharpness_aware, sharpness_aware
from .train_step import make_train_step

__all__ = [
    "DUAL_CONE_VARIANTS", "METHODS", "AddLangevinNoiseState", "GradientInfo", "GradientRule",
    "Method", "Objective", "TraceEstimate", "adaptive_sharpness_aware", "add_langevin_noise",
    "as_objective", "asam", "dcgd", "dgsam", "domain_gradual_sharpness_aware", "dual_cone",
    "evaluate_gradient", "fsgld", "hessian_top_eigenvalues", "hessian_trace",
    "hessian_vector_product", "langevin_sgd", "make_train_step", "method_from_name", "plain",
    "random_perturbation", "rwp", "sam", "sgd", "sgld", "sharpness_aware",
    # domain generalisation (DGSAM and its baselines, per-domain sharpness)
    "DOMAIN_METHODS", "DomainSharpness", "SharpnessMeasures", "check_domain_batches",
    "domain_method", "domain_rule", "domain_sharpness", "gradient_evaluations",
    "gradient_matching", "per_domain_sharpness_aware", "pooled", "surrogate_gap",
    "zeroth_order_sharpness",
    # physics-informed networks (two-term rules, loss weightings)
    "lra_update", "lra_weight", "mgda", "ntk_trace", "ntk_weights", "pcgrad",
]

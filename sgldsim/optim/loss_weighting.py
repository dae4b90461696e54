"""Loss weightings for two-term (PINN) losses: learning-rate annealing and NTK weights
(docs/theory.md §9). They rescale the terms before a gradient rule combines them."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ._checks import check_choice, check_interval, check_positive


def lra_weight(g_residual, g_boundary) -> jax.Array:
    """The learning-rate-annealing estimate lambda_hat = max_i |g_r,i| / mean_i |g_b,i|.

    ``g_residual`` and ``g_boundary`` are the gradients (pytrees) of L_r and L_b; the index i
    runs over all parameters. Returns 1 when g_b = 0.

    References:
      Wang, Teng, Perdikaris, Understanding and mitigating gradient flow pathologies in
      physics-informed neural networks, SIAM J. Sci. Comput. 2021, Alg. 1 (Eq. 2.11).
    """
    top = jnp.max(jnp.abs(ravel_pytree(g_residual)[0]))
    mean = jnp.mean(jnp.abs(ravel_pytree(g_boundary)[0]))
    return jnp.where(mean > 0, top / jnp.where(mean > 0, mean, 1.0), 1.0)


LRA_ESTIMATES = ("code", "paper")
"""How :func:`lra_update` estimates lambda_hat: from the gradient of the weighted boundary
loss lambda L_b (the authors' code) or of L_b itself (the paper's Eq. 2.11)."""


def lra_update(weight, g_residual, g_boundary, alpha: float = 0.1,
               estimate: str = "code") -> jax.Array:
    """lambda <- (1 - alpha) lambda + alpha lambda_hat, with no gradient through lambda_hat
    (loss L_r + lambda L_b; Wang, Teng, Perdikaris 2021, Alg. 1).

    ``estimate="code"`` (default): lambda_hat = max|g_r| / mean|lambda g_b|, the gradient of the
    *weighted* boundary loss, as the authors' code computes it (``loss_bcs`` carries the adaptive
    constant; the DCGD paper's LRA and DCGD+LRA results come from that code). Its fixed point is
    lambda = sqrt(max|g_r| / mean|g_b|). ``estimate="paper"``: lambda_hat = max|g_r| /
    mean|g_b| as Eq. 2.11 is written, fixed point max|g_r| / mean|g_b|: on Helmholtz 2-D about
    1e4, where the code's is about 1e2 (docs/dcgd.md).

    ``weight`` must be positive and finite and ``alpha`` in (0, 1] (checked when concrete).
    """
    check_positive("weight", weight)
    check_interval("alpha", alpha, 0.0, 1.0)
    check_choice("LRA estimate", estimate, LRA_ESTIMATES)
    if estimate == "code":
        g_boundary = jax.tree.map(lambda g: weight * g, g_boundary)
    target = jax.lax.stop_gradient(lra_weight(g_residual, g_boundary))
    return (1.0 - alpha) * weight + alpha * target


def ntk_weights(trace_residual, trace_boundary) -> tuple[jax.Array, jax.Array]:
    """NTK weights (lambda_r, lambda_b) = (tr K / tr K_rr, tr K / tr K_bb), tr K = tr K_rr +
    tr K_bb, with tr K_rr = sum_i |d r(x_i)/d theta|^2 over the residual points (likewise the
    boundary): the loss becomes lambda_r L_r + lambda_b L_b. Both traces must be positive and
    finite (checked when concrete; a zero trace has no weight).

    References:
      Wang, Yu, Perdikaris, When and why PINNs fail to train: a neural tangent kernel
      perspective, J. Comput. Phys. 2022, Alg. 1 (Eq. 6.5).
    """
    check_positive("trace_residual", trace_residual)
    check_positive("trace_boundary", trace_boundary)
    total = trace_residual + trace_boundary
    return total / trace_residual, total / trace_boundary


def ntk_trace(per_point, params) -> jax.Array:
    """tr K = sum_i |d f_i/d theta|^2 for ``per_point(params) -> f`` (shape (n,)), by one
    Jacobian (reverse mode, vmapped over the n outputs)."""
    jac = jax.jacrev(per_point)(params)
    return sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(jac))

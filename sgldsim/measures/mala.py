"""Reference samples of a Gibbs measure in any dimension by the Metropolis-adjusted Langevin
algorithm (docs/theory.md §1 for the Langevin step, §2 for the measures).

:func:`mala` is the pure kernel (BlackJAX-style ``init``/``step``); :func:`mala_samples` runs
vmapped chains with a warm-up that adapts the step size and returns a :class:`SampleMeasure`,
the measure known by its pooled draws, with its :class:`MALADiagnostics` (acceptance, ESS and
split R-hat from :mod:`sgldsim.measures.diagnostics`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._precision import float64
from .._validation import check_positive, check_positive_int
from ..potentials.base import Potential
from ._sublevel_grid import check_confining_rays, potential_fields
from .base import GIBBS_CUTOFF, checked_beta
from .diagnostics import effective_sample_size, split_r_hat

TARGET_ACCEPTANCE = 0.574  # optimal MALA acceptance rate (Roberts & Rosenthal 1998)


class MALAState(NamedTuple):
    """One chain of MALA: position x (d,), log pi(x) and grad log pi(x) (d,)."""

    position: jax.Array
    log_density: jax.Array
    grad_log_density: jax.Array


class MALAInfo(NamedTuple):
    """Per step: acceptance probability min(1, r) and whether the proposal was accepted."""

    acceptance_prob: jax.Array
    is_accepted: jax.Array


class MALA(NamedTuple):
    """Pure MALA kernel: ``init(position) -> state``, ``step(key, state, step_size) ->
    (state, info)``."""

    init: Callable
    step: Callable


def mala(log_density: Callable) -> MALA:
    """Metropolis-adjusted Langevin algorithm for pi ∝ exp(log_density).

    Proposal y = x + h grad log pi(x) + sqrt(2 h) xi, xi ~ N(0, I), accepted with probability
    min(1, pi(y) q(x | y) / (pi(x) q(y | x))), q(y | x) = N(y; x + h grad log pi(x), 2 h I).
    The unadjusted version of this proposal is the SGLD step with lam = h / beta
    (docs/theory.md §1).

    References:
      Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their
      discrete approximations. Bernoulli 2(4).
    """
    value_and_grad = jax.value_and_grad(log_density)

    def init(position) -> MALAState:
        return MALAState(position, *value_and_grad(position))

    def log_proposal(to, origin: MALAState, h):
        mean = origin.position + h * origin.grad_log_density
        return -jnp.sum((to - mean) ** 2) / (4.0 * h)

    def step(key, state: MALAState, step_size) -> tuple[MALAState, MALAInfo]:
        k_noise, k_accept = jax.random.split(key)
        noise = jax.random.normal(k_noise, state.position.shape, state.position.dtype)
        proposal = init(state.position + step_size * state.grad_log_density
                        + jnp.sqrt(2.0 * step_size) * noise)
        log_ratio = (proposal.log_density - state.log_density
                     + log_proposal(state.position, proposal, step_size)
                     - log_proposal(proposal.position, state, step_size))
        prob = jnp.where(jnp.isnan(log_ratio), 0.0, jnp.exp(jnp.minimum(log_ratio, 0.0)))
        accepted = jax.random.uniform(k_accept) < prob
        new = jax.tree.map(lambda a, b: jnp.where(accepted, a, b), proposal, state)
        return new, MALAInfo(prob, accepted)

    return MALA(init, step)


class MALADiagnostics(NamedTuple):
    """Attributes:
    acceptance_rate: mean acceptance after warm-up (target 0.574).
    step_size: the frozen step size h.
    ess: (d,) effective sample size per coordinate (all chains).
    r_hat: (d,) split R-hat per coordinate (about 1 when the chains agree).
    n_chains, n_draws: kept draws per chain.
    """

    acceptance_rate: float
    step_size: float
    ess: np.ndarray
    r_hat: np.ndarray
    n_chains: int
    n_draws: int


@dataclasses.dataclass(frozen=True, eq=False)
class SampleMeasure:
    """A measure known by reference samples: the pooled MALA chains.

    Attributes:
      chains: (n_chains, n_draws, d) draws.
      diagnostics: acceptance, step size, ESS and R-hat of the run.
    """

    chains: np.ndarray
    diagnostics: MALADiagnostics

    @property
    def samples(self) -> np.ndarray:
        """All draws pooled, (n_chains * n_draws, d)."""
        return self.chains.reshape(-1, self.chains.shape[-1])

    @property
    def dim(self) -> int:
        return int(self.chains.shape[-1])

    @property
    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    @property
    def var(self) -> np.ndarray:
        return self.samples.var(axis=0)

    @property
    def cov(self) -> np.ndarray:
        return np.atleast_2d(np.cov(self.samples, rowvar=False, ddof=0))

    @property
    def standard_error(self) -> np.ndarray:
        """(d,) Monte Carlo standard error of ``mean``: sqrt(var / ESS)."""
        return np.sqrt(self.var / self.diagnostics.ess)

    def mass_of_box(self, lo, hi) -> float:
        """Fraction of the samples in prod_i [lo_i, hi_i]."""
        inside = (self.samples >= np.asarray(lo)) & (self.samples <= np.asarray(hi))
        return float(np.mean(np.all(inside, axis=1)))

    @float64
    def sample(self, key, n: int) -> np.ndarray:
        """n draws, (n, d), resampled with replacement from the reference samples."""
        idx = np.asarray(jax.random.randint(key, (n,), 0, self.samples.shape[0]))
        return self.samples[idx]


@float64
def mala_samples(key, potential: Potential, beta: float, n_chains: int = 16,
                 n_steps: int = 5000, *, n_warmup: int = 1000,
                 initial_positions=None, initial_step_size: float | None = None,
                 target_acceptance: float = TARGET_ACCEPTANCE,
                 cutoff: float = GIBBS_CUTOFF) -> SampleMeasure:
    """Reference samples of pi ∝ exp(-beta u) by MALA (vmap over chains, lax.scan over time).

    Warm-up: ``n_warmup`` steps adapting one shared step size by Robbins–Monro on its log,
    log h <- log h + (mean acceptance - target) / (t + 1)^0.6; then h is frozen and ``n_steps``
    steps are kept.

    Args:
      key: PRNG key.
      potential: u, confining (checked along the axes and diagonals; ValueError if not).
      beta: inverse temperature, positive and finite.
      n_chains: independent chains (R-hat needs several).
      n_steps: steps after warm-up per chain.
      n_warmup: adaptation steps (discarded).
      initial_positions: (n_chains, d); default N(0, I) draws.
      initial_step_size: default 0.1 / beta.
      target_acceptance: the adaptation's target (0.574 is optimal for smooth targets).
      cutoff: tail level of the confinement check (as in
        :func:`~sgldsim.measures.grid1d.gibbs_1d`).

    Returns:
      A :class:`SampleMeasure` with the chains and their diagnostics.
    """
    beta = checked_beta(beta)
    for name, value in (("n_chains", n_chains), ("n_steps", n_steps)):
        check_positive_int(name, value)
    if n_warmup < 0:
        raise ValueError(f"n_warmup={n_warmup!r} is not allowed: need an integer >= 0")
    check_confining_rays(potential_fields(potential), beta, cutoff)
    d = potential.dim
    k_init, k_run = jax.random.split(key)
    if initial_positions is None:
        initial_positions = jax.random.normal(k_init, (n_chains, d), dtype=float)
    initial_positions = jnp.asarray(initial_positions, dtype=float)
    if initial_positions.shape != (n_chains, d):
        raise ValueError(f"initial_positions has shape {initial_positions.shape}; "
                         f"allowed: ({n_chains}, {d})")
    h0 = 0.1 / beta if initial_step_size is None else initial_step_size
    check_positive("initial_step_size", h0)
    positions, accepted, log_h = _run_mala(potential, beta, k_run, initial_positions,
                                           math.log(h0), n_warmup, n_steps, target_acceptance)
    chains = np.asarray(positions)
    diagnostics = MALADiagnostics(
        acceptance_rate=float(np.mean(accepted)), step_size=float(np.exp(log_h)),
        ess=effective_sample_size(chains), r_hat=split_r_hat(chains),
        n_chains=n_chains, n_draws=chains.shape[1])
    return SampleMeasure(chains, diagnostics)


@functools.partial(jax.jit, static_argnames=("n_warmup", "n_steps", "target"))
def _run_mala(potential: Potential, beta, key, positions, log_h, n_warmup: int, n_steps: int,
              target: float):
    """One scan of n_warmup + n_steps steps (one step in the compiled program): the shared step
    size adapts while t < n_warmup, then is frozen. Returns (positions (n_chains, n_steps, d),
    accepted flags (n_steps, n_chains), final log step size). The potential is a traced
    argument, so runs on potentials of one structure share the compilation."""
    kernel = mala(lambda x: -beta * potential.value(x))
    n_chains = positions.shape[0]
    step_all = jax.vmap(kernel.step, in_axes=(0, 0, None))

    def one(carry, xs):
        states, log_h = carry
        key, t = xs
        states, info = step_all(jax.random.split(key, n_chains), states, jnp.exp(log_h))
        gain = jnp.where(t < n_warmup, (t + 1.0) ** -0.6, 0.0)
        log_h = log_h + gain * (jnp.mean(info.acceptance_prob) - target)
        return (states, log_h), (states.position, info.is_accepted)

    n_total = n_warmup + n_steps
    carry = (jax.vmap(kernel.init)(positions), log_h)
    (_, log_h), (trace, accepted) = jax.lax.scan(
        one, carry, (jax.random.split(key, n_total), jnp.arange(n_total, dtype=float)))
    return jnp.swapaxes(trace[n_warmup:], 0, 1), accepted[n_warmup:], log_h

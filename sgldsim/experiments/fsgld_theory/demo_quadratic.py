"""Demo: (f)SGLD on the 1-D quadratic u(x) = (a/2) x^2 against its exact discrete-chain variance.

A small, real check of the experiment machinery (docs/theory.md §5, quadratic). Started at x_0 = 0,
the chain x_{k+1} = x_k - lam a (x_k + sigma eps_k) + sqrt(2 lam / beta) xi_k is Gaussian with

    Var x_n = V(lam) (1 - (1 - lam a)^(2n)),  V(lam) = (lam a^2 sigma^2 + 2/beta) / (a (2 - lam a)),

while pi_beta (= pi^f = pi* here) has variance 1/(beta a). SGLD is sigma = 0. The Monte Carlo
variance of N independent chains has standard error Var * sqrt(2 / (N - 1)).
Plain JAX on purpose: this demo tests the runner, not ``sgldsim.dynamics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from ..._memory import MemoryEstimate
from ...figures.style import (
    PAGE_WIDTH_IN,
    add_reference_slope,
    color_for,
    new_figure,
    save_figure,
    style_for,
)
from ...runner import (
    Cell,
    ConfigError,
    ExperimentConfig,
    ExperimentParams,
    Summary,
    cell_values,
    cells_table,
)
from ...verdicts import matches_reference, power_law_bound

CHUNK_SIZE = 4


@dataclass(frozen=True)
class Params(ExperimentParams):
    """demo-quadratic's parameters (each may be swept in ``[grid]`` unless marked fixed).

    Attributes:
      curvature: a in u(x) = (a/2) x^2; > 0.
      sigma: perturbation scale; 0 is SGLD, > 0 fSGLD.
      step_size: lam; the chain is stable for step_size * curvature < 2.
      beta: inverse temperature; > 0.
      n_particles: independent chains per cell (fixed); >= 2.
      n_steps: steps from x_0 = 0 (fixed); >= 1.
    """

    NOT_SWEPT = ("n_particles", "n_steps")

    curvature: float = 1.0
    sigma: float = 0.0
    step_size: float = 0.1
    beta: float = 1.0
    n_particles: int = 10_000
    n_steps: int = 100


PARAMS = Params
LEVEL = 0.01
"""The false-alarm rate of each claim's "inconsistent" (over all its cells together)."""
BIAS_ORDER = 1.0
"""The step-size bias Var / Var_pi_beta - 1 = lam a / (2 - lam a) + O(sigma^2) is O(lam^1)."""


def validate(config: ExperimentConfig) -> None:
    """Reject unstable or meaningless parameters (each message names the key and the range)."""
    fixed = Params.from_config(config)
    if fixed.n_particles < 2:
        raise ConfigError(f"params.n_particles={fixed.n_particles} is not allowed: "
                          "it must be >= 2 (a sample variance needs two particles)")
    if fixed.n_steps < 1:
        raise ConfigError(f"params.n_steps={fixed.n_steps} is not allowed: it must be >= 1")
    values = lambda name: cell_values(config, fixed, name)
    for name, low in (("beta", 0.0), ("curvature", 0.0), ("step_size", 0.0)):
        for value in values(name):
            if not value > low:
                raise ConfigError(f"{config.key_path(name)}={value} is not allowed: "
                                  f"{name} must be > 0")
    for value in values("sigma"):
        if not value >= 0:
            raise ConfigError(f"{config.key_path('sigma')}={value} is not allowed: sigma >= 0")
    for a in values("curvature"):
        for lam in values("step_size"):
            if not lam * a < 2:
                raise ConfigError(f"{config.key_path('step_size')}={lam} is not allowed: the "
                                  f"chain is stable only for step_size * curvature < 2 "
                                  f"(curvature={a})")


DEMO_COPIES = 8
"""Particle-sized float64 arrays of one cell at a step: the chains, both noise draws (and the
64-bit random bits they come from) and the update's temporaries."""


def peak_memory(config: ExperimentConfig, cells: list[Cell]) -> MemoryEstimate:
    """Peak memory of a chunk: its cells' chains vmapped together (float64, the runner's
    precision), :data:`DEMO_COPIES` particle-sized arrays each, and each cell's step keys."""
    p = Params.from_config(config)
    n_cells = len(cells)
    needed = 8.0 * n_cells * (DEMO_COPIES * p.n_particles + p.n_steps)
    return MemoryEstimate(needed, f"a chunk of {n_cells} cells x n_particles = {p.n_particles}",
                          "lower params.n_particles or chunk_size")


def stationary_variance(step_size, beta, sigma, curvature):
    """V(lam) = (lam a^2 sigma^2 + 2/beta) / (a (2 - lam a))."""
    lam, a = np.asarray(step_size), np.asarray(curvature)
    return (lam * a**2 * sigma**2 + 2.0 / beta) / (a * (2.0 - lam * a))


def chain_variance(step_size, beta, sigma, curvature, n_steps):
    """Var x_n from x_0 = 0: V(lam) (1 - (1 - lam a)^(2n))."""
    contraction = (1.0 - np.asarray(step_size) * curvature) ** (2 * n_steps)
    return stationary_variance(step_size, beta, sigma, curvature) * (1.0 - contraction)


@partial(jax.jit, static_argnames=("n_particles", "n_steps"))
def _sample_variance(keys, step_size, beta, sigma, curvature, n_particles, n_steps):
    """Sample variance (ddof 1) of x_n over ``n_particles`` chains per cell: float64[n_cells]."""

    def one_cell(key, lam, beta, sigma, a):
        def step(x, step_key):
            key_eps, key_xi = jax.random.split(step_key)
            eps = jax.random.normal(key_eps, x.shape)
            xi = jax.random.normal(key_xi, x.shape)
            return x - lam * a * (x + sigma * eps) + jnp.sqrt(2.0 * lam / beta) * xi, None

        x, _ = jax.lax.scan(step, jnp.zeros(n_particles), jax.random.split(key, n_steps))
        return jnp.var(x, ddof=1)

    return jax.vmap(one_cell)(keys, step_size, beta, sigma, curvature)


def run_cells(config: ExperimentConfig, cells: list[Cell], keys) -> list[list[dict]]:
    """Monte Carlo variance (and its standard error) beside the exact chain and Gibbs variances."""
    params = [Params.from_cell(c) for c in cells]
    column = lambda name: np.array([getattr(p, name) for p in params], dtype=float)
    n, n_steps = params[0].n_particles, params[0].n_steps
    variance_mc = np.asarray(_sample_variance(keys, column("step_size"), column("beta"),
                                              column("sigma"), column("curvature"), n, n_steps))
    rows = []
    for p, v in zip(params, variance_mc, strict=True):
        rows.append([
            {"measure": "variance_mc", "value": v},
            {"measure": "variance_mc_stderr", "value": v * np.sqrt(2.0 / (n - 1))},
            {"measure": "variance_chain",
             "value": chain_variance(p.step_size, p.beta, p.sigma, p.curvature, n_steps)},
            {"measure": "variance_gibbs", "value": 1.0 / (p.beta * p.curvature)},
        ])
    return rows


def _with_derived(table: pd.DataFrame) -> pd.DataFrame:
    z = (table.variance_mc - table.variance_chain) / table.variance_mc_stderr
    return table.assign(z=z, excess_mc=table.variance_mc / table.variance_gibbs - 1.0,
                        excess_chain=table.variance_chain / table.variance_gibbs - 1.0)


def summarize(results: pd.DataFrame, config: ExperimentConfig) -> Summary:
    """Claim 1: the MC variance matches the exact chain variance in every cell
    (:func:`sgldsim.verdicts.matches_reference`). Claim 2: the step-size bias over pi_beta is
    (at least) first order in lam (:func:`sgldsim.verdicts.power_law_bound`, lam -> 0)."""
    table = _with_derived(cells_table(results, config, Params.from_config(config)))
    shown = table[["step_size", "beta", "sigma", "variance_mc", "variance_mc_stderr",
                   "variance_chain", "variance_gibbs", "z"]]
    match = matches_reference(
        table.variance_mc, table.variance_chain, table.variance_mc_stderr, level=LEVEL,
        claim="Var x_n = (lam a^2 sigma^2 + 2/beta)(1 - (1 - lam a)^(2n)) / (a (2 - lam a))")
    verdicts = [match.verdict]
    fitted = {}
    for beta, group in table.groupby("beta", sort=True):
        fit = _bias_order(group, beta)
        if np.isfinite(fit.exponent):
            fitted[f"bias_exponent_beta={beta:g}"] = fit.exponent
            fitted[f"bias_exponent_stderr_beta={beta:g}"] = fit.stderr
        verdicts.append(fit.verdict)
    return Summary(table=shown.to_string(index=False, float_format=lambda v: f"{v:.5g}"),
                   fitted=fitted, verdicts=verdicts, legend=_legend(config))


def _legend(config: ExperimentConfig) -> dict[str, str]:
    fixed = Params.from_config(config)
    n, n_steps = fixed.n_particles, fixed.n_steps
    return {
        "step_size, beta, sigma": "lam, beta and sigma of the cell (sigma = 0: SGLD)",
        "variance_mc": f"sample variance of x_n over {n} chains after n = {n_steps} steps from"
                       " x_0 = 0",
        "variance_mc_stderr": "its standard error, variance_mc sqrt(2 / (N - 1))",
        "variance_chain": "exact Var x_n of the discrete chain, V(lam) (1 - (1 - lam a)^(2n))"
                          " (docs/theory.md §5)",
        "variance_gibbs": "1 / (beta a), the variance of pi_beta (lam -> 0)",
        "z": "(variance_mc - variance_chain) / variance_mc_stderr",
        "consistent": f"no |z| beyond the normal's 1 - {LEVEL:g}/(2 m) quantile over the m cells"
                      " (false-alarm rate <= "
                      f"{LEVEL:g}); the bias order: the fitted exponent of\nvariance_mc /"
                      " variance_gibbs - 1 in lam (points above 3 standard errors) excludes,"
                      f" at level {LEVEL:g}, an exponent below 0;\ninconsistent when it lies"
                      " clearly below 1; inconclusive when the grid cannot fit it",
    }


def _bias_order(group: pd.DataFrame, beta: float):
    """Fit excess_mc ~ lam^p over the points above 3 standard errors; first order means p >= 1
    (:func:`sgldsim.verdicts.power_law_bound`, lam -> 0, with the Monte Carlo errors)."""
    se = group.variance_mc_stderr / group.variance_gibbs
    return power_law_bound(group.step_size, group.excess_mc, BIAS_ORDER, limit="zero",
                           floor=se, y_stderr=se, level=LEVEL,
                           claim=f"step-size bias Var/Var_pi_beta - 1 = O(lam) at beta={beta:g}")


def figures(results: pd.DataFrame, config: ExperimentConfig, out_dir: Path) -> list[Path]:
    """(a) Var / Var_pi_beta against lam: Monte Carlo points, exact curve, pi_beta at 1.
    (b) The excess on log-log axes beside the reference slope lam^1."""
    table = _with_derived(cells_table(results, config, Params.from_config(config)))
    fig, (ax_ratio, ax_excess) = new_figure(1, 2, width_in=PAGE_WIDTH_IN * 0.75, aspect=0.8)
    fine = np.geomspace(table.step_size.min(), table.step_size.max(), 100)
    markers = iter("osD^v<>ph*")
    for beta, group in table.groupby("beta", sort=True):
        method = "sgld" if (group.sigma == 0).all() else "fsgld"
        colour, marker = color_for(method), next(markers, "o")
        gibbs = group.variance_gibbs.iloc[0]
        exact = stationary_variance(fine, beta, group.sigma.iloc[0], group.curvature.iloc[0])
        ax_ratio.errorbar(group.step_size, group.variance_mc / gibbs,
                          yerr=group.variance_mc_stderr / gibbs,
                          color=colour, marker=marker, linestyle="none",
                          label=f"{style_for(method)['label']}, $\\beta$={beta:g}")
        ax_ratio.plot(fine, exact / gibbs, color=colour, linewidth=0.8,
                      label=f"exact chain, $\\beta$={beta:g}")
        positive = group[group.excess_mc > 0]
        ax_excess.plot(positive.step_size, positive.excess_mc, color=colour, marker=marker,
                       linestyle="none")
        ax_excess.plot(fine, exact / gibbs - 1.0, color=colour, linewidth=0.8)
    ax_ratio.axhline(1.0, **style_for("pi_beta"))
    ax_ratio.set(xlabel=r"step size $\lambda$", ylabel=r"Var / Var$_{\pi_\beta}$")
    ax_ratio.legend()
    first = table.nsmallest(1, "step_size").iloc[0]
    anchor = stationary_variance(first.step_size, first.beta, first.sigma, first.curvature)
    add_reference_slope(ax_excess, fine, 1.0, (first.step_size, anchor / first.variance_gibbs - 1),
                        r"$\lambda^1$")
    ax_excess.set(xscale="log", yscale="log", xlabel=r"step size $\lambda$",
                  ylabel=r"Var / Var$_{\pi_\beta}$ $-$ 1")
    steps = np.unique(table.step_size)
    ax_excess.set_xticks(steps, labels=[f"{s:g}" for s in steps])
    ax_excess.xaxis.set_minor_formatter(NullFormatter())
    ax_excess.legend()
    return save_figure(fig, out_dir, "demo_quadratic_variance")

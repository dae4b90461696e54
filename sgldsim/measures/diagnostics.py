"""Convergence diagnostics of Markov chains: multi-chain effective sample size and split R-hat
(used for the MALA reference samples of docs/theory.md §2, :mod:`sgldsim.measures.mala`).
"""

from __future__ import annotations

import numpy as np

from .._precision import float64


@float64
def effective_sample_size(chains) -> np.ndarray:
    """Multi-chain effective sample size per coordinate (Geyer's initial monotone sequence).

    rho_t = 1 - (W - mean_c acov_c(t)) / var+, with W the mean within-chain variance and var+
    the pooled variance estimate; tau = -1 + 2 sum_k P_k over the positive, monotonised pair
    sums P_k = rho_2k + rho_2k+1; ESS = chains * draws / tau.

    Args:
      chains: (n_chains, n_draws, d) or (n_chains, n_draws).

    Returns:
      (d,) ESS (a scalar array for 2-D input).

    References:
      Vehtari et al. (2021), Rank-normalization, folding, and localization: an improved R-hat.
      Bayesian Analysis 16(2). Geyer (1992), Practical Markov chain Monte Carlo. Stat. Sci. 7(4).
    """
    x = np.asarray(chains, dtype=float)
    squeeze = x.ndim == 2
    x = x[..., None] if squeeze else x
    c, n, _ = x.shape
    centred = x - x.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * n, axis=1)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :n] / n  # (c, n, d)
    within = acov[:, 0].mean(axis=0) * n / (n - 1)
    between = x.mean(axis=1).var(axis=0, ddof=1) if c > 1 else 0.0
    var_plus = within * (n - 1) / n + between
    rho = 1.0 - (within - acov.mean(axis=0)) / var_plus  # (n, d)
    m = n // 2
    pairs = rho[0:2 * m:2] + rho[1:2 * m:2]
    positive = np.cumprod(pairs > 0, axis=0).astype(bool)
    pairs = np.minimum.accumulate(np.where(positive, pairs, 0.0), axis=0)
    tau = np.maximum(-1.0 + 2.0 * pairs.sum(axis=0), 1.0 / np.log10(c * n))
    ess = c * n / tau
    return ess[0] if squeeze else ess


@float64
def split_r_hat(chains) -> np.ndarray:
    """Split R-hat per coordinate: each chain halved, R = sqrt(var+ / W) (Gelman–Rubin).

    Args:
      chains: (n_chains, n_draws, d) or (n_chains, n_draws).
    """
    x = np.asarray(chains, dtype=float)
    squeeze = x.ndim == 2
    x = x[..., None] if squeeze else x
    half = x.shape[1] // 2
    x = np.concatenate([x[:, :half], x[:, half:2 * half]], axis=0)
    within = x.var(axis=1, ddof=1).mean(axis=0)
    var_plus = within * (half - 1) / half + x.mean(axis=1).var(axis=0, ddof=1)
    r = np.sqrt(var_plus / within)
    return r[0] if squeeze else r

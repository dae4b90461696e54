"""The paper's temperature–perturbation coupling sigma = beta^(-(1 + eta)/4) (docs/theory.md §3)."""

from __future__ import annotations

import numpy as np

from ._validation import check_positive


def coupled_sigma(beta, eta):
    """sigma = beta^(-(1 + eta) / 4). The paper's prescription takes eta in (0, 1); eta = 0.1 is
    its default. Any finite eta is accepted so that decoupled choices can be studied."""
    check_positive("beta", beta)
    eta = np.asarray(eta, dtype=float)
    if not np.all(np.isfinite(eta)):
        raise ValueError(f"eta={eta!r} is not allowed: eta must be finite")
    return np.asarray(beta, dtype=float) ** (-(1.0 + eta) / 4.0)


def implied_eta(beta, sigma):
    """Inverse of :func:`coupled_sigma`: eta = 4 ln(1/sigma) / ln(beta) - 1 (needs beta != 1)."""
    check_positive("beta", beta)
    check_positive("sigma", sigma)
    log_beta = np.log(np.asarray(beta, dtype=float))
    if np.any(log_beta == 0):
        raise ValueError("beta=1 is not allowed in implied_eta: every sigma fits eta when beta = 1")
    return 4.0 * np.log(1.0 / np.asarray(sigma, dtype=float)) / log_beta - 1.0


def parse_sigma_rule(rule: str, beta: float) -> tuple[float, float]:
    """``"eta=E"`` -> sigma = beta^(-(1+E)/4); ``"sigma=S"`` -> sigma = S. Returns (sigma, eta)
    where eta is the implied exponent 4 ln(1/sigma)/ln(beta) - 1."""
    kind, _, number = rule.partition("=")
    try:
        value = float(number)
    except ValueError:
        value = None
    if kind not in ("eta", "sigma") or value is None:
        raise ValueError(f"sigma_rule={rule!r} is not allowed; allowed: 'eta=<number>' "
                          "(coupled) or 'sigma=<number>' (fixed)")
    if kind == "eta":
        return float(coupled_sigma(beta, value)), value
    if value <= 0:
        raise ValueError(f"sigma_rule={rule!r} is not allowed: a fixed sigma must be > 0")
    return value, float(implied_eta(beta, value))

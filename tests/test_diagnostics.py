"""Chain diagnostics (sgldsim.measures.diagnostics) against closed forms: the effective sample size
of stationary AR(1) chains, whose integrated autocorrelation time is (1 + phi) / (1 - phi), and
split R-hat of chains whose halves have known means. Tolerances are 5 standard deviations of the
estimate, measured over 20 seeds at these sizes."""

import numpy as np
import pytest
from scipy.signal import lfilter

from sgldsim.measures import effective_sample_size, split_r_hat


def ar1_chains(rng, phi: float, n_chains: int, n_draws: int) -> np.ndarray:
    """(n_chains, n_draws) stationary AR(1), x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t ~ N(0, 1)."""
    noise = rng.standard_normal((n_chains, n_draws))
    start = phi * rng.standard_normal((n_chains, 1))  # phi x_{-1}, x_{-1} ~ N(0, 1)
    return lfilter([np.sqrt(1.0 - phi**2)], [1.0, -phi], noise, axis=1, zi=start)[0]


def test_ess_of_ar1_chains_is_draws_over_autocorrelation_time():
    """ESS = N / tau with tau = (1 + phi) / (1 - phi) = 19 at phi = 0.9 and 1 for iid draws;
    the estimate's relative sd is 0.022 (AR(1)) and 0.0033 (iid) at N = 8 x 50000."""
    rng = np.random.default_rng(20261207)
    n_chains, n_draws, phi = 8, 50_000, 0.9
    chains = np.stack([ar1_chains(rng, phi, n_chains, n_draws),
                       rng.standard_normal((n_chains, n_draws))], axis=-1)
    ess = effective_sample_size(chains)
    total = n_chains * n_draws
    assert ess.shape == (2,)
    assert ess[0] == pytest.approx(total * (1 - phi) / (1 + phi), rel=5 * 0.022)
    assert ess[1] == pytest.approx(total, rel=5 * 0.0033)
    assert effective_sample_size(chains[..., 0]) == pytest.approx(ess[0], rel=1e-12)


def test_split_r_hat_is_one_for_agreeing_chains_and_exact_for_separated_means():
    """Halves of h draws with means m_k and within-half variance W: R^2 = (h - 1) / h + B / W,
    B the sample variance (ddof 1) of the half means (+ 1 / h of noise). Chains at means +-1:
    B = 8/7 over 8 halves, W = 1 (sd of R 0.0036). A drift 2 t / n shared by all chains (same
    chain means, so only splitting sees it): half means 0.5 and 1.5, B = 0.25 * 8/7,
    W = 1 + 1/12 (sd 0.0024)."""
    rng = np.random.default_rng(20261208)
    n_chains, n_draws = 4, 20_000
    h = n_draws // 2
    agreeing = ar1_chains(rng, 0.9, n_chains, n_draws)
    assert split_r_hat(agreeing) == pytest.approx(1.0, abs=5e-3)

    means = np.array([-1.0, -1.0, 1.0, 1.0])[:, None]
    separated = means + rng.standard_normal((n_chains, n_draws))
    closed_form = np.sqrt((h - 1) / h + 8 / 7 + 1 / h)
    assert split_r_hat(separated) == pytest.approx(closed_form, abs=5 * 0.0036)

    drifting = 2.0 * np.arange(n_draws) / n_draws + rng.standard_normal((n_chains, n_draws))
    closed_form = np.sqrt((h - 1) / h + (0.25 * 8 / 7 + 1 / h) / (1 + 1 / 12))
    both = split_r_hat(np.stack([drifting, separated], axis=-1))
    assert both.shape == (2,)
    assert both[0] == pytest.approx(closed_form, abs=5 * 0.0024)
    assert both[1] == pytest.approx(split_r_hat(separated), rel=1e-12)

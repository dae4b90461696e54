"""Kernel Stein discrepancy (IMQ) against SGMCMCJax, the N^(-1/2) law of exact samples, a
straightforward O(N^2) NumPy implementation of the formula, and shifted clouds."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import sgldsim as sg
from sgldsim._precision import enable_x64
from sgldsim.distances import ksd_noise_floor


@pytest.fixture(autouse=True)
def _float64():
    """Closed forms are compared with autodiff and quadrature to ~1e-9: run in float64 whatever
    the process default."""
    with enable_x64(True):
        yield


def standard_normal_score(x):
    return -x


def stein_kernel_numpy(x, s, c=1.0, b=-0.5):
    """k_0 over all pairs, written term by term from Gorham & Mackey (2017), (N, N)."""
    n, d = x.shape
    diff = x[:, None, :] - x[None, :, :]
    r2 = np.sum(diff**2, axis=-1)
    base = c**2 + r2
    term1 = (s @ s.T) * base**b
    term2 = -2 * b * np.einsum("id,ijd->ij", s, diff) * base ** (b - 1)
    term3 = 2 * b * np.einsum("jd,ijd->ij", s, diff) * base ** (b - 1)
    term4 = -2 * d * b * base ** (b - 1)
    term5 = -4 * b * (b - 1) * base ** (b - 2) * r2
    return term1 + term2 + term3 + term4 + term5


def test_equals_sgmcmcjax_imq_ksd():
    imq_ksd = pytest.importorskip("sgmcmcjax.ksd").imq_KSD
    x = np.random.default_rng(0).normal(size=(300, 4)) + 0.2
    with enable_x64(True):
        reference = float(imq_ksd(jax.numpy.asarray(x), jax.numpy.asarray(-x)))
    assert sg.ksd(x, standard_normal_score, block_size=64) == pytest.approx(reference, rel=1e-5)


def test_equals_numpy_formula_v_and_u_for_any_block_size():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(157, 3)) * 1.3
    k0 = stein_kernel_numpy(x, -x)
    n = x.shape[0]
    v = k0.sum() / n**2
    u = (k0.sum() - np.trace(k0)) / (n * (n - 1))
    for block in (16, 1000):
        info = sg.ksd_with_info(x, standard_normal_score, block_size=block)
        assert info.ksd_squared == pytest.approx(v, rel=1e-10)
        assert info.floor == pytest.approx(np.sqrt(np.mean(np.diag(k0)) / n), rel=1e-10)
    u_info = sg.ksd_with_info(x, standard_normal_score, statistic="u", block_size=16)
    assert u_info.ksd_squared == pytest.approx(u, rel=1e-10)
    rows = (k0.sum(axis=1) - np.diag(k0)) / (n - 1)
    off = k0[~np.eye(n, dtype=bool)]
    se = np.sqrt(4 * rows.var() / n + 2 * np.mean(off**2) / n**2)
    assert u_info.ksd_squared_stderr == pytest.approx(se, rel=1e-8)


def test_v_statistic_of_exact_samples_falls_like_inverse_sqrt_n():
    """V-statistic of exact N(0, I_5) draws: E KSD_V^2 = E k_0(X, X) / N, so KSD_V ~ N^(-1/2);
    fitted slope over N = 100..1600 within 5 standard errors of -1/2 (6 seeds per N)."""
    sizes = np.array([100, 400, 1600])
    logs = []
    for n in sizes:
        values = [sg.ksd(np.random.default_rng(seed).normal(size=(n, 5)),
                         standard_normal_score, block_size=100) for seed in range(6)]
        logs.append(np.log(values))
    logs = np.array(logs)  # (sizes, seeds)
    x = np.repeat(np.log(sizes), logs.shape[1])
    slope, intercept = np.polyfit(x, logs.reshape(-1), 1)
    residuals = logs.reshape(-1) - (slope * x + intercept)
    se = np.sqrt(residuals @ residuals / (x.size - 2) / np.sum((x - x.mean()) ** 2))
    assert abs(slope + 0.5) < 5 * se + 0.02
    # and the U-statistic of exact draws is zero within 5 standard errors
    u = sg.ksd_with_info(np.random.default_rng(9).normal(size=(800, 5)), standard_normal_score,
                         statistic="u")
    assert abs(u.ksd_squared) < 5 * u.ksd_squared_stderr


def test_shifted_cloud_has_a_larger_ksd():
    x = np.random.default_rng(2).normal(size=(500, 10))
    exact = sg.ksd_with_info(x, standard_normal_score)
    shifted = sg.ksd_with_info(x + 0.5, standard_normal_score)
    assert shifted.value > 2 * exact.value
    u_shifted = sg.ksd_with_info(x + 0.5, standard_normal_score, statistic="u")
    u_exact = sg.ksd_with_info(x, standard_normal_score, statistic="u")
    assert u_shifted.ksd_squared > 5 * u_shifted.ksd_squared_stderr
    assert abs(u_exact.ksd_squared) < 5 * u_exact.ksd_squared_stderr


def test_scores_of_measures_and_floor_of_exact_draws():
    u, beta = sg.RadialWells([0.5, 2.0], [1.0, 0.6], [0.3, 0.7], 1.0, 3), 4.0
    measure = sg.Gibbs(u, beta)
    x = measure.sample(jax.random.key(0), 200)
    assert sg.ksd(x, measure) == pytest.approx(sg.ksd(x, sg.gibbs_score(u, beta)))
    mean, std = ksd_noise_floor(measure, measure, 200, n_repeats=3)
    info = sg.ksd_with_info(x, measure)
    assert abs(info.value - mean) < 5 * std + 0.2 * mean
    assert info.floor == pytest.approx(mean, rel=0.3)


@pytest.mark.parametrize(("score", "match"), [
    (lambda x: x[:, :2], r"score has shape \(50, 2\)"),
    (np.zeros((49, 3)), r"score has shape \(49, 3\)"),
    (lambda x: x.sum(axis=1), r"score has shape \(50,\)"),
])
def test_score_of_the_wrong_shape_is_named(score, match):
    with pytest.raises(ValueError, match=match):
        sg.ksd(np.zeros((50, 3)), score)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"kernel": "rbf"}, "kernel"), ({"statistic": "w"}, "statistic"),
    ({"block_size": 0}, "block_size"), ({"exponent": -1.5}, "exponent=-1.5"),
])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sg.ksd(np.zeros((5, 2)), standard_normal_score, **kwargs)

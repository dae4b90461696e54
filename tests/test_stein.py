"""Kernel Stein discrepancy (IMQ) against SGMCMCJax, the N^(-1/2) law of exact samples, a
straightforward O(N^2) NumPy implementation of the formula, and shifted clouds."""

from __future__ import annotations

import itertools

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
    # the standard error's pair sums accumulate over blocks like the statistic's
    off = k0 - np.diag(np.diag(k0))
    se = u_statistic_stderr_numpy(off.sum(), (off**2).sum(), np.sum(off.sum(axis=1) ** 2), n)
    for block in (16, 1000):
        for statistic in ("u", "v"):
            info = sg.ksd_with_info(x, standard_normal_score, statistic=statistic,
                                    block_size=block)
            assert info.ksd_squared_stderr == pytest.approx(se, rel=1e-8)


def u_statistic_stderr_numpy(pair_sum, squares, row_squares, n):
    """KSDInfo's standard error from S, Q and R (its docstring's formulas)."""
    t = (pair_sum**2 - 4 * row_squares + 2 * squares) / (n * (n - 1) * (n - 2) * (n - 3))
    zeta_1 = (row_squares - squares) / (n * (n - 1) * (n - 2)) - t
    zeta_2 = squares / (n * (n - 1)) - t
    null = 2 * zeta_2 / (n * (n - 1))
    if pair_sum / (n * (n - 1)) <= 3 * np.sqrt(null):
        return np.sqrt(null)
    return np.sqrt(null + 4 * (n - 2) * max(zeta_1, 0) / (n * (n - 1)))


@pytest.mark.parametrize("shift", [0.0, 1.5])
def test_u_statistic_variance_terms_are_means_over_distinct_indices(shift):
    """Brute force over all distinct index tuples of N = 11 particles: KSD^4 ~ mean of
    k_0(i, j) k_0(k, l), zeta_1 ~ mean of k_0(i, j) k_0(i, l) - KSD^4, zeta_2 ~ mean of
    k_0(i, j)^2 - KSD^4 (unbiased); the estimate U^2 - KSD^4 of Var U equals
    (4 (N - 2) zeta_1 + 2 zeta_2) / (N (N - 1)) (Hoeffding); the standard error is the null one,
    sqrt(2 zeta_2 / (N (N - 1))), for exact draws and the Hoeffding one for a cloud shifted by
    1.5, where U exceeds 3 null standard errors."""
    n = 11
    x = np.random.default_rng(5).normal(size=(n, 2)) + shift
    k0 = stein_kernel_numpy(x, -x)
    index = np.array(list(itertools.permutations(range(n), 4))).T
    i, j, k, l = index
    fourth = np.mean(k0[i, j] * k0[k, l])
    pairs = np.unique(index[:2], axis=1)
    triples = np.unique(index[:3], axis=1)
    zeta_1 = np.mean(k0[triples[0], triples[1]] * k0[triples[0], triples[2]]) - fourth
    zeta_2 = np.mean(k0[pairs[0], pairs[1]] ** 2) - fourth
    u = np.mean(k0[pairs[0], pairs[1]])
    hoeffding = (4 * (n - 2) * zeta_1 + 2 * zeta_2) / (n * (n - 1))
    assert u**2 - fourth == pytest.approx(hoeffding, rel=1e-9)
    null = 2 * zeta_2 / (n * (n - 1))
    info = sg.ksd_with_info(x, standard_normal_score, statistic="u", block_size=4)
    assert info.ksd_squared == pytest.approx(u, rel=1e-10)
    if shift == 0.0:
        assert u < 3 * np.sqrt(null)
        assert info.ksd_squared_stderr == pytest.approx(np.sqrt(null), rel=1e-9)
    else:
        assert u > 3 * np.sqrt(null) and zeta_1 > 0
        assert info.ksd_squared_stderr == pytest.approx(np.sqrt(hoeffding), rel=1e-9)


def test_u_statistic_stderr_needs_four_particles():
    x = np.random.default_rng(6).normal(size=(4, 2))
    assert np.isnan(sg.ksd_with_info(x[:3], standard_normal_score, statistic="u")
                    .ksd_squared_stderr)
    assert np.isfinite(sg.ksd_with_info(x, standard_normal_score, statistic="u")
                       .ksd_squared_stderr)


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


def _u_statistics(shift: float, n: int, dim: int, repeats: int, seed: int):
    """U-statistic of KSD^2 and its reported standard error for ``repeats`` clouds of ``n``
    draws of N(shift, I_dim) against the N(0, I_dim) score."""
    clouds = np.random.default_rng(seed).normal(size=(repeats, n, dim)) + shift
    infos = [sg.ksd_with_info(x, standard_normal_score, statistic="u") for x in clouds]
    return (np.array([i.ksd_squared for i in infos]),
            np.array([i.ksd_squared_stderr for i in infos]))


@pytest.mark.parametrize(("shift", "spread_tol"), [(0.0, 0.2), (0.5, 0.25)])
def test_u_statistic_stderr_is_its_spread_under_the_null_and_a_shift(shift, spread_tol):
    """400 clouds of N = 300 draws in d = 2: the mean reported standard error is the U-statistic's
    standard deviation over clouds (which itself is known to ~5 %, so 20 % / 25 % is 4-5 of its
    standard errors), and U falls more than 2 standard errors from KSD^2 (0 for exact draws, else
    estimated by the mean of U) in 1-12 % of clouds (3-5 %; binomial sd ~1 %). Exact draws
    are degenerate: Var U = 2 zeta_2 / (N (N - 1)), which the Hoeffding term 4 zeta_1 / N must not
    inflate; a shift of 0.5 puts U about 5 standard deviations above 0, where it leads."""
    u, stderr = _u_statistics(shift, n=300, dim=2, repeats=400, seed=11)
    spread = u.std(ddof=1)
    centre = 0.0 if shift == 0.0 else u.mean()
    if shift:
        assert u.mean() > 4 * spread
    assert stderr.mean() == pytest.approx(spread, rel=spread_tol)
    assert 0.01 <= np.mean(np.abs(u - centre) > 2 * stderr) <= 0.12


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


@pytest.mark.parametrize("shift", [0.0, 0.2])
def test_ksd_difference_is_the_difference_and_its_stderr_is_its_spread(shift):
    """300 clouds of N = 200 draws of N(shift, I_2) against the scores of N(0, I_2) and
    N(0.3, I_2): the difference equals U_a - U_b on the same particles, and its mean reported
    standard error is the difference's standard deviation over clouds (known to ~4 %: 20 % is 5
    of its standard errors); the two U-statistics share the particles, so their separate SEs do
    not give it."""
    score_b = lambda x: -(x - 0.3)
    clouds = np.random.default_rng(12).normal(size=(300, 200, 2)) + shift
    results = [sg.distances.ksd_difference(x, standard_normal_score, score_b) for x in clouds]
    diff = np.array([r.difference for r in results])
    stderr = np.array([r.stderr for r in results])
    x = clouds[0]
    separate = [sg.ksd_with_info(x, s, statistic="u") for s in (standard_normal_score, score_b)]
    assert diff[0] == pytest.approx(separate[0].ksd_squared - separate[1].ksd_squared, rel=1e-9)
    assert stderr.mean() == pytest.approx(diff.std(ddof=1), rel=0.2)
    assert 0.01 <= np.mean(np.abs(diff - diff.mean()) > 2 * stderr) <= 0.12
    with pytest.raises(ValueError, match="at least 4 particles"):
        sg.distances.ksd_difference(x[:3], standard_normal_score, score_b)

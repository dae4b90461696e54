"""The beta–sigma coupling helpers: closed form, inverse, and errors."""

import numpy as np
import pytest

import sgldsim as sg


@pytest.mark.parametrize("beta", [2.0, 10.0, 1e3, 1e6])
@pytest.mark.parametrize("eta", [-0.5, 0.1, 0.5, 0.9, 1.5])
def test_implied_eta_inverts_coupled_sigma(beta, eta):
    sigma = sg.coupled_sigma(beta, eta)
    assert sigma == pytest.approx(beta ** (-(1 + eta) / 4), rel=1e-14)
    assert sg.implied_eta(beta, sigma) == pytest.approx(eta, abs=1e-12)


def test_coupling_limits_that_define_the_admissible_range():
    """eta in (0,1): beta sigma^4 -> 0 and beta sigma^2 -> inf (docs/theory.md §3)."""
    beta = np.array([1e2, 1e4, 1e6, 1e8])
    sigma = sg.coupled_sigma(beta, 0.5)
    assert np.all(np.diff(beta * sigma**4) < 0)
    assert np.all(np.diff(beta * sigma**2) > 0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sg.coupled_sigma(0.0, 0.1), "beta=0.0"),
        (lambda: sg.coupled_sigma(-3.0, 0.1), "beta=-3.0"),
        (lambda: sg.coupled_sigma(10.0, np.nan), "eta"),
        (lambda: sg.implied_eta(10.0, -0.1), "sigma=-0.1"),
        (lambda: sg.implied_eta(1.0, 0.5), "beta=1"),
    ],
)
def test_bad_values_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="module")
def x64():
    """JAX's 64-bit mode for a test whose own inputs must be float64 (e.g. closed forms checked
    to 1e-10 on arrays the test builds); the package enables it itself where it needs it."""
    with jax.enable_x64(True):
        yield

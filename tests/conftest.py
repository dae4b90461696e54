import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

from sgldsim._precision import enable_x64  # noqa: E402  (jax.enable_x64 on jax >= 0.8)


@pytest.fixture(scope="module")
def x64():
    """JAX's 64-bit mode for a test whose own inputs must be float64 (e.g. closed forms checked
    to 1e-10 on arrays the test builds); the package enables it itself where it needs it."""
    with enable_x64(True):
        yield

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import sgldsim  # noqa: E402,F401  (enables float64 in JAX before any test builds arrays)

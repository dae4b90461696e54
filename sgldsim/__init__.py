"""sgldsim: test stochastic-optimisation theory (SGLD, fSGLD, RWP, SAM) against simulation.

Data flow: potentials -> dynamics -> measures and distances -> experiments -> figures.
Float64 is enabled in JAX so that exact measures and float64 runs are available; particle
simulations default to float32 (see :func:`sgldsim.simulate`).
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from . import optim  # noqa: E402  (neural-network optimisers: sgldsim.optim.fsgld, ...)
from ._version import __version__  # noqa: E402
from .coupling import coupled_sigma, implied_eta  # noqa: E402
from .distances import (  # noqa: E402
    gibbs_score,
    ksd,
    ksd_with_info,
    particle_noise_floor,
    radial_noise_floor,
    radial_wasserstein,
    sliced_wasserstein,
    wasserstein,
    wasserstein_with_info,
)
from .dynamics import (  # noqa: E402
    Sampler,
    SimulationResult,
    fsgld,
    gd,
    rwp,
    sgd,
    sgld,
    simulate,
)
from .measures import (  # noqa: E402
    Gibbs,
    GridMeasure2D,
    Measure1D,
    ProductMeasure,
    RadialMeasure,
    SampleMeasure,
    chain_invariant,
    mala_samples,
    paper_measures,
)
from .potentials import *  # noqa: E402,F403
from .potentials import __all__ as _potentials_all  # noqa: E402

__all__ = [
    "__version__",
    "optim",
    "Gibbs",
    "GridMeasure2D",
    "Measure1D",
    "ProductMeasure",
    "SampleMeasure",
    "chain_invariant",
    "coupled_sigma",
    "implied_eta",
    "mala_samples",
    "paper_measures",
    "particle_noise_floor",
    "gibbs_score",
    "ksd",
    "ksd_with_info",
    "radial_noise_floor",
    "radial_wasserstein",
    "RadialMeasure",
    "sliced_wasserstein",
    "wasserstein",
    "wasserstein_with_info",
    *_potentials_all,
    "Sampler",
    "SimulationResult",
    "fsgld",
    "gd",
    "rwp",
    "sgd",
    "sgld",
    "simulate",
]

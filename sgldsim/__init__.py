"""sgldsim: test stochastic-optimisation theory (SGLD, fSGLD, RWP, SAM) against simulation.

Data flow: potentials -> dynamics -> measures and distances -> experiments -> figures.
Importing it changes nothing in JAX's configuration: exact measures, distances, float64
simulations and the experiment runner enable 64-bit types only while they run (a thread-local
``jax.enable_x64`` context) and return NumPy arrays; particle simulations default to float32
(see :func:`sgldsim.simulate`), and optimisers keep the dtype of the parameters they update.
"""

from . import optim, verdicts  # noqa: E402  (neural-network optimisers: sgldsim.optim.fsgld, ...)
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
    fsgld_sampler,
    gd_sampler,
    rwp_sampler,
    sgd_sampler,
    sgld_sampler,
    simulate,
)
from .measures import (  # noqa: E402
    Gibbs,
    GridMeasure2D,
    Measure,
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
    "verdicts",
    "Gibbs",
    "GridMeasure2D",
    "Measure",
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
    "fsgld_sampler",
    "gd_sampler",
    "rwp_sampler",
    "sgd_sampler",
    "sgld_sampler",
    "simulate",
]

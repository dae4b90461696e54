"""Physics-informed neural-network (PINN) problems as plain JAX, with exact references computed
offline, and a vectorised trainer for the DCGD comparison (docs/theory.md §9).

    prob = sgldsim.pinn.problem("burgers")
    loss = prob.loss(net.apply)            # loss(theta, batch) -> {"residual", "boundary"}
    batch = prob.sample(key, n_residual=256, n_boundary=64)
    u_ref = prob.reference(prob.test_points())

Points have shape (n, d_in): spatial coordinates in order, then time. See
:class:`sgldsim.pinn.PinnProblem` for the loss terms and each problem's class for its PDE.
"""

from __future__ import annotations

from ._base import PAPER_SETUP, PaperSetup, PinnProblem
from .burgers import Burgers, cole_hopf
from .heat import Heat
from .helmholtz import Helmholtz
from .klein_gordon import KleinGordon
from .network import Jet, Network, tanh_mlp
from .operators import OPERATORS, derivative, field_jet, laplacian, second_derivatives
from .train import PINN_METHODS, PinnRuns, predict, relative_l2, train_pinn_runs

PROBLEMS = ("helmholtz2d", "klein-gordon", "burgers", "heat5d", "helmholtz3d")
"""Names :func:`problem` takes."""


def problem(name: str, operator: str = "forward") -> PinnProblem:
    """The PINN problem ``name`` (one of :data:`PROBLEMS`).

    Args:
      name: ``"helmholtz2d"``, ``"klein-gordon"``, ``"burgers"``, ``"heat5d"`` or
        ``"helmholtz3d"``.
      operator: ``"forward"`` (forward-over-forward second derivatives) or ``"hessian"``
        (naive ``jax.hessian``), see :mod:`sgldsim.pinn.operators`.
    """
    if name not in PROBLEMS:
        raise ValueError(f"unknown PINN problem {name!r}; allowed: "
                         f"{', '.join(map(repr, PROBLEMS))}")
    if operator not in OPERATORS:
        raise ValueError(f"unknown operator {operator!r}; allowed: "
                         f"{', '.join(map(repr, OPERATORS))}")
    if name == "helmholtz2d":
        return Helmholtz(name, 2, False, operator, wave_numbers=(1.0, 4.0))
    if name == "helmholtz3d":
        return Helmholtz(name, 3, False, operator, wave_numbers=(4.0, 4.0, 3.0), test_size=21)
    if name == "klein-gordon":
        return KleinGordon(name, 1, True, operator)
    if name == "burgers":
        return Burgers(name, 1, True, operator, standardise=False)
    return Heat(name, 5, True, operator)


__all__ = ["OPERATORS", "PAPER_SETUP", "PINN_METHODS", "PROBLEMS", "Burgers", "Heat",
           "Helmholtz", "Jet", "KleinGordon", "Network", "PaperSetup", "PinnProblem", "PinnRuns",
           "cole_hopf", "derivative", "field_jet", "laplacian", "predict", "problem",
           "relative_l2", "second_derivatives", "tanh_mlp", "train_pinn_runs"]

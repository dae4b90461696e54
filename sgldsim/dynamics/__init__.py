"""Particle dynamics: GD, SGD, SGLD, RWP and fSGLD on N particles at once (docs/theory.md §1)."""

from .samplers import Sampler, fsgld, gd, rwp, sgd, sgld
from .simulate import (
    Noise,
    ParticleState,
    SamplerParams,
    SimulationResult,
    StepInfo,
    draw_noise,
    init,
    positions,
    simulate,
    step,
    threefry2x32,
    update,
)

__all__ = [
    "Noise",
    "ParticleState",
    "Sampler",
    "SamplerParams",
    "SimulationResult",
    "StepInfo",
    "draw_noise",
    "fsgld",
    "gd",
    "init",
    "positions",
    "rwp",
    "sgd",
    "sgld",
    "simulate",
    "step",
    "threefry2x32",
    "update",
]

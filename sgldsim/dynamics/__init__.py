"""Particle dynamics: GD, SGD, SGLD, RWP and fSGLD on N particles at once (docs/theory.md §1)."""

from .samplers import Sampler, fsgld_sampler, gd_sampler, rwp_sampler, sgd_sampler, sgld_sampler
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
    "fsgld_sampler",
    "gd_sampler",
    "init",
    "positions",
    "rwp_sampler",
    "sgd_sampler",
    "sgld_sampler",
    "simulate",
    "step",
    "threefry2x32",
    "update",
]

"""Particle dynamics: GD, SGD, SGLD, RWP and fSGLD on N particles at once (science §1)."""

from .samplers import Sampler, fsgld, gd, rwp, sgd, sgld

__all__ = ["Sampler", "fsgld", "gd", "rwp", "sgd", "sgld"]

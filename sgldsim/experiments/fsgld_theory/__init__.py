"""Experiments that test the fSGLD paper's theory on synthetic potentials (docs/theory.md)."""

"""Experiments with fSGLD and its baselines on neural networks (docs/theory.md §7)."""

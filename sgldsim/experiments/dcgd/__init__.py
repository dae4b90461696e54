"""Experiments that test DCGD on physics-informed neural networks."""

"""Experiments that test the DGSAM paper: fake flat minima and domain generalisation."""

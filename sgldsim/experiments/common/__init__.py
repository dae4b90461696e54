"""Helpers that several experiments share."""

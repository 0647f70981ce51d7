"""Readouts trained on reservoir states."""

from .linear import LinearReadout, reservoir_features

__all__ = ["LinearReadout", "reservoir_features"]

"""Backends: one network description, many ways to run it (see base.py for the contract)."""

from .base import (
    Backend,
    BackendUnavailable,
    Recording,
    RecordSpec,
    Simulation,
    UnsupportedFeature,
    available_backends,
    get_backend,
    known_backends,
)

__all__ = [
    "Backend",
    "BackendUnavailable",
    "Recording",
    "RecordSpec",
    "Simulation",
    "UnsupportedFeature",
    "available_backends",
    "get_backend",
    "known_backends",
]

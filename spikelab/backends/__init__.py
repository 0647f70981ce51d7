"""Backends: one network description, many ways to run it (see base.py for the contract).

One package a backend family (numba/, torch/, brian2/, lava/, crossbar/); common.py holds
what they all share. The values they take and return (SpikeBatch, RecordSpec, Recording)
live in spikelab.spikes.
"""

from .base import (
    Backend,
    BackendUnavailable,
    Simulation,
    UnsupportedFeature,
    available_backends,
    get_backend,
    known_backends,
)

__all__ = [
    "Backend",
    "BackendUnavailable",
    "Simulation",
    "UnsupportedFeature",
    "available_backends",
    "get_backend",
    "known_backends",
]

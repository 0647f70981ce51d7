"""Resistive-memory crossbar backend (registered as ``crossbar``).

The network's projections are stored on simulated RRAM crossbar arrays (differential
conductance pairs, tiled into arrays, read through ADCs) and the neurons run on the numba
reference step bodies (``kernel="numba"``) or, batched as tensors on the CPU or a CUDA GPU,
on the torch backend's (``kernel="torch"``, imported only then). See
docs/backends/crossbar.md.
"""

from .backend import CrossbarBackend, CrossbarSimulation
from .devices import PRESETS, RRAMDevice, get_device
from .energy import EnergyModel
from .mapping import CrossbarConfig, Layer

__all__ = [
    "PRESETS",
    "CrossbarBackend",
    "CrossbarConfig",
    "CrossbarSimulation",
    "EnergyModel",
    "Layer",
    "RRAMDevice",
    "get_device",
]

"""The CPU default: numba kernels, event-driven, parallel over samples.

backend.py (the Backend and Simulation), kernels.py (pure njit step, delivery and
batch functions), stepper.py (one sample step by step, for closed loops).
"""

from .backend import NumbaBackend, NumbaSimulation
from .stepper import NumbaStepper

__all__ = ["NumbaBackend", "NumbaSimulation", "NumbaStepper"]

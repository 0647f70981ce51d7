"""Lava, the Loihi 2 path (floating_pt and bit-accurate fixed_pt).

backend.py (the Backend and Simulation), plan.py (numpy-only mapping of the IR onto
Lava processes), fixed.py (quantisation), graph.py, io.py and models.py (the Lava
processes and process models; these import lava); remote.py (the client of the Lava
worker, for a Python without Lava), worker.py (the worker) and wire.py (their messages).
Importing this package imports neither lava nor numba.
"""

from .backend import LavaBackend, LavaSimulation
from .remote import LavaWorker, RemoteLavaSimulation

__all__ = ["LavaBackend", "LavaSimulation", "LavaWorker", "RemoteLavaSimulation"]

"""Brian2, the reference simulator (runtime and cpp_standalone).

backend.py (the Backend and Simulation), model.py (equations and synapses), inputs.py
(input layout), results.py (monitors -> Recording). brian2 is imported on compile.
"""

from .backend import Brian2Backend, Brian2Simulation

__all__ = ["Brian2Backend", "Brian2Simulation"]

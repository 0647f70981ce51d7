"""PyTorch / norse: the batch as tensors, CPU or CUDA.

backend.py (the Backend, Simulation and chunk runner), steps.py (the neuron step
bodies), synapses.py (delay ring, weights, input events). Importing this package
imports torch.
"""

from .backend import TorchBackend, TorchSimulation

__all__ = ["TorchBackend", "TorchSimulation"]

"""spikelab: spiking reservoirs (LSM, LIF, Izhikevich) on pluggable backends.

    import spikelab as sl
    net = sl.reservoirs.lsm_column(shape=(10, 10, 10), n_inputs=34 * 34 * 2, seed=0)
    sim = net.compile(backend="numba", dt=1.0)      # ms
    rec = sim.run(batch)                            # a SpikeBatch of many samples

    result = sl.sweep("examples/sweep_nmnist.toml", ["reservoir.weight_scale=0.05,0.1"], "0-2")

``import spikelab`` imports numpy, scipy and h5py only; numba, torch, norse, lava and
brian2 are imported by the backend that needs them; ``spikelab.sweep`` (the function,
``spikelab.sweeps.sweep``: docs/sweeps.md) is imported on first use, and Dask only when a
sweep runs on it.
"""

from typing import Any

from . import reservoirs
from .backends.base import (
    BackendUnavailable,
    UnsupportedFeature,
    available_backends,
    get_backend,
)
from .network import InputPort, Network, Population, Projection
from .neurons import LIF, Izhikevich
from .spikes import Recording, RecordSpec, SpikeBatch, SpikeTrains

__version__ = "0.1.0"

__all__ = [
    "LIF",
    "BackendUnavailable",
    "InputPort",
    "Izhikevich",
    "Network",
    "Population",
    "Projection",
    "RecordSpec",
    "Recording",
    "SpikeBatch",
    "SpikeTrains",
    "UnsupportedFeature",
    "available_backends",
    "get_backend",
    "reservoirs",
    "sweep",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """``spikelab.sweep``: the sweep function, imported on first use (PEP 562)."""
    if name == "sweep":
        from .sweeps import sweep

        return sweep
    raise AttributeError(f"module 'spikelab' has no attribute {name!r}")

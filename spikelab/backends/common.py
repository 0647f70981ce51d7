"""What every backend shares: the compile preamble, the batch check, dense recordings.

``prepare`` is the first line of every ``compile``: it checks ``dt`` against the network
and flattens it into the intermediate representation (``spikelab.ir``). ``check_batch`` is
the first line of every ``run``. Numpy only: a backend imports this without numba.
"""

from __future__ import annotations

import numpy as np

from ..ir import FlatNetwork, flatten
from ..network import Network
from ..spikes import Recording, RecordSpec, SpikeBatch, SpikeTrains


def prepare(net: Network, dt: float) -> FlatNetwork:
    """``net`` checked for a step of ``dt`` ms and flattened (the compile preamble)."""
    net.check_dt(dt)
    return flatten(net, dt)


def check_batch(batch: SpikeBatch, n_inputs: int, dt: float) -> None:
    """Clear errors for a batch that does not fit the compiled network."""
    if not isinstance(batch, SpikeBatch):
        raise TypeError(
            f"run() takes a SpikeBatch, got {type(batch).__name__}; build one with "
            "spikelab.encoding.encode_events(...) or SpikeBatch.from_dense(array)"
        )
    if batch.n_channels != n_inputs:
        raise ValueError(
            f"the batch has {batch.n_channels} channels but the network has {n_inputs} "
            "input channels; encode the events for this network's input ports"
        )
    if not np.isclose(batch.dt, dt):
        raise ValueError(
            f"the batch was binned with dt={batch.dt} ms but the simulation was compiled with "
            f"dt={dt} ms; re-encode with the same dt"
        )


def dense_recording(
    f: FlatNetwork,
    record: RecordSpec,
    n_steps: int,
    counts: np.ndarray,
    raster: np.ndarray,
    vrec: np.ndarray,
    n_spk: np.ndarray,
    n_syn: np.ndarray,
    wall: float,
    extras: dict | None = None,
) -> Recording:
    """The Recording of a kernel that filled dense per-sample arrays: counts [B, bins, N],
    raster [B, T, N] (when recorded), voltages [B, T, k], and per-sample counters."""
    return Recording(
        counts=counts,
        bin_steps=record.bin_width(n_steps),
        n_steps=n_steps,
        dt=f.dt,
        populations=f.pop_table(),
        raster=SpikeTrains.from_dense(raster) if record.raster else None,
        voltage=vrec if record.voltage else None,
        voltage_neurons=record.voltage,
        n_spikes=int(n_spk.sum()),
        n_synaptic_events=int(n_syn.sum()),
        wall_time_s=wall,
        extras=extras or {},
    )


def simulation_repr(sim: object, flat: object, **options: object) -> str:
    """A compiled simulation in one line: its class, sizes, dt, what it records and the
    ``options`` given (never an array). ``flat`` is the ``FlatNetwork`` it runs (or any
    object with ``n_neurons``, ``n_inputs``, ``dt`` and ``inputs``/``recurrent`` CSRs or
    ``in_rowlen``/``rc_rowlen`` synapse counts, as the Lava plan has)."""
    if hasattr(flat, "recurrent"):
        n_syn = flat.inputs.nnz + flat.recurrent.nnz
    else:
        n_syn = int(np.sum(flat.in_rowlen)) + int(np.sum(flat.rc_rowlen))
    rec = sim.record
    what = "one bin" if rec.bin_steps is None else f"bins of {rec.bin_steps} steps"
    what += ", raster" if rec.raster else ""
    what += f", voltage of {len(rec.voltage)} neurons" if rec.voltage else ""
    opts = "".join(f", {k}={v!r}" for k, v in options.items())
    return (
        f"{type(sim).__name__}({flat.n_neurons} neurons, {flat.n_inputs} inputs, {n_syn} "
        f"synapses, dt={flat.dt:g} ms, records {what}{opts})"
    )

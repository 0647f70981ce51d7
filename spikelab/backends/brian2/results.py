"""Brian2 monitors back to a ``Recording`` (helper of ``brian2.py``).

A Brian2 run holds the samples of a batch back to back, sample b in global steps
[b * P, b * P + T); spikes and voltage traces are cut back into samples here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...ir import FlatNetwork
from ...spikes import Recording, RecordSpec, SpikeBatch, SpikeTrains
from .model import Built


@dataclass(frozen=True)
class Spikes:
    """Every spike of a batch: sample, step within the sample, global neuron (int64)."""

    sample: np.ndarray
    step: np.ndarray
    neuron: np.ndarray

    @staticmethod
    def empty() -> Spikes:
        z = np.zeros(0, dtype=np.int64)
        return Spikes(z, z, z)

    @staticmethod
    def join(parts: list[tuple[Spikes, Any]], chunk: int) -> Spikes:
        """Spikes of consecutive chunks of ``chunk`` samples, renumbered into one batch."""
        return Spikes(
            np.concatenate([s.sample + k * chunk for k, (s, _) in enumerate(parts)]),
            np.concatenate([s.step for s, _ in parts]),
            np.concatenate([s.neuron for s, _ in parts]),
        )


def collect(
    flat: FlatNetwork, built: Built, n_samples: int, voltage: tuple[int, ...]
) -> tuple[Spikes, np.ndarray | None]:
    """Spikes and voltage traces of the first ``n_samples`` samples of a finished run."""
    lay = built.layout
    dt = float(built.clock.dt_)
    samples, steps, neurons = [], [], []
    for p, mon in enumerate(built.spikes):
        gstep = np.rint(np.asarray(mon.t_[:], dtype=np.float64) / dt).astype(np.int64)
        keep = gstep < n_samples * lay.period  # padding samples of a standalone build
        samples.append(gstep[keep] // lay.period)
        steps.append(gstep[keep] % lay.period)
        neurons.append(np.asarray(mon.i[:], dtype=np.int64)[keep] + int(flat.pop_start[p]))
    spikes = Spikes(np.concatenate(samples), np.concatenate(steps), np.concatenate(neurons))
    if np.any(spikes.step >= lay.n_steps):  # pragma: no cover - the threshold is gated there
        raise RuntimeError("brian2 backend: a spike fell between two samples (internal error)")
    if not voltage:
        return spikes, None
    out = np.zeros((n_samples, lay.n_steps, len(voltage)), dtype=np.float64)
    idx = (np.arange(n_samples)[:, None] * lay.period + np.arange(lay.n_steps)[None, :]).ravel()
    traces = {
        p: (np.asarray(mon.v[:], dtype=np.float64), local)
        for p, (mon, local) in built.voltage.items()
    }
    for q, gi in enumerate(voltage):
        p = int(np.searchsorted(flat.pop_stop, gi, side="right"))
        v, local = traces[p]
        row = int(np.searchsorted(local, gi - int(flat.pop_start[p])))
        out[:, :, q] = v[row, idx].reshape(n_samples, lay.n_steps)
    return spikes, out


def make_recording(
    flat: FlatNetwork,
    record: RecordSpec,
    batch: SpikeBatch,
    spikes: Spikes,
    voltage: np.ndarray | None,
    wall: float,
    extras: dict[str, Any],
) -> Recording:
    """The Recording every backend returns (counts per bin, raster, voltage, counters)."""
    B, T, N = len(batch), batch.n_steps, flat.n_neurons
    width = record.bin_width(T)
    counts = np.zeros((B, record.n_bins(T), N), dtype=np.int32)
    np.add.at(counts, (spikes.sample, spikes.step // width, spikes.neuron), 1)
    raster = _raster(spikes, B, T, N) if record.raster else None
    return Recording(
        counts=counts,
        bin_steps=width,
        n_steps=T,
        dt=flat.dt,
        populations=flat.pop_table(),
        raster=raster,
        voltage=voltage,
        voltage_neurons=record.voltage,
        n_spikes=len(spikes.neuron),
        n_synaptic_events=_synaptic_events(flat, batch, spikes),
        wall_time_s=wall,
        extras=extras,
    )


def _raster(spikes: Spikes, B: int, T: int, N: int) -> SpikeTrains:
    """The spikes of ``B`` samples of ``T`` steps and ``N`` neurons as sparse spike trains."""
    order = np.lexsort((spikes.neuron, spikes.step, spikes.sample))
    per_sample = np.bincount(spikes.sample, minlength=B)
    return SpikeTrains(
        n_steps=T,
        n_neurons=N,
        offsets=np.concatenate([[0], np.cumsum(per_sample)]).astype(np.int64),
        steps=spikes.step[order].astype(np.int32),
        neurons=spikes.neuron[order].astype(np.int32),
    )


def _synaptic_events(flat: FlatNetwork, batch: SpikeBatch, spikes: Spikes) -> int:
    """Synaptic events of the batch: input events and spikes times their fan-out."""
    # A synaptic event is one synapse receiving one event, counted at emission as numba does.
    n_syn = int(np.diff(flat.inputs.indptr)[batch.channels].sum())
    n_syn += int(np.diff(flat.recurrent.indptr)[spikes.neuron].sum())
    return n_syn

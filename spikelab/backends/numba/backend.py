"""The CPU default: numba kernels, event-driven, parallel over the samples of a batch.

Options: ``dtype`` ("float64", the reference, or "float32", the fast path: the same
vectorised kernels on twice the lanes, within the tolerance of docs/semantics.md) and ``threads``
(numba threads used by ``run``; default: numba's default). Results are bit-identical for
any thread count, because every sample is simulated independently by one thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np

from ...ir import FlatNetwork
from ...network import Network
from ...spikes import Recording, RecordSpec, SpikeBatch
from ..common import check_batch, dense_recording, prepare, simulation_repr
from . import kernels as K
from .delivery import window_rows, windowed_csr
from .stepper import NumbaStepper

_DTYPES = {"float64": np.float64, "float32": np.float32}


def _unsigned(split: tuple) -> tuple:
    """A delay-split CSR with uint32 column indices (checked >= 0 when the network was
    built), so the delivery loops index without a negative-index fix-up."""
    dvals, indptr2, indices, weights = split
    return dvals, indptr2, indices.astype(np.uint32), weights


@dataclass(frozen=True, eq=False)
class NumbaSimulation:
    flat: FlatNetwork
    record: RecordSpec
    dtype: str = "float64"
    threads: int | None = None
    splits: tuple = ()  # (inputs, recurrent) CSRs split by delay (the stepper's layout)
    windows: tuple = ()  # (inputs, recurrent) CSRs for the sliding window (``run``'s layout)

    def __post_init__(self) -> None:
        csrs = (self.flat.inputs, self.flat.recurrent)
        if not self.splits:
            object.__setattr__(self, "splits", tuple(_unsigned(c.split_by_delay()) for c in csrs))
        if not self.windows:
            n = self.flat.n_neurons
            object.__setattr__(self, "windows", tuple(windowed_csr(c, n) for c in csrs))

    def __repr__(self) -> str:
        return simulation_repr(self, self.flat, dtype=self.dtype, threads=self.threads)

    def run(self, batch: SpikeBatch) -> Recording:
        f = self.flat
        check_batch(batch, f.n_inputs, f.dt)
        ft = _DTYPES[self.dtype]
        B, T, N = len(batch), batch.n_steps, f.n_neurons
        bins, width = self.record.n_bins(T), self.record.bin_width(T)
        counts = np.zeros((B, bins, N), dtype=np.int32)
        raster = np.zeros((B, T, N) if self.record.raster else (1, 1, 1), dtype=np.uint8)
        vidx = np.asarray(self.record.voltage, dtype=np.int64)
        vrec = np.zeros((B, T if len(vidx) else 0, len(vidx)), dtype=ft)
        n_spk = np.zeros(B, dtype=np.int64)
        n_syn = np.zeros(B, dtype=np.int64)
        (in_ptr, in_off, in_w), (rc_ptr, rc_off, rc_w) = self.windows
        t0 = time.perf_counter()
        old = numba.get_num_threads()
        if self.threads is not None:
            numba.set_num_threads(min(int(self.threads), numba.config.NUMBA_NUM_THREADS))
        try:
            K.simulate_batch(
                batch.offsets, batch.steps, batch.channels, batch.values.astype(ft), T,
                in_ptr, in_off, in_w.astype(ft), rc_ptr, rc_off, rc_w.astype(ft),
                f.pop_start, f.pop_stop, f.pop_kind, f.params.astype(ft), f.n_ref,
                K.izh_constants(f.dt, ft), f.ring_len, window_rows(f.ring_len), width,
                counts, raster, self.record.raster, vidx, vrec, n_spk, n_syn,
            )  # fmt: skip
        finally:
            numba.set_num_threads(old)
        wall = time.perf_counter() - t0
        return dense_recording(f, self.record, T, counts, raster, vrec, n_spk, n_syn, wall)

    def stepper(self) -> NumbaStepper:
        """One sample, step by step, for closed loops (readout feedback, online learning):
        see :mod:`spikelab.backends.numba.stepper`. Same arithmetic as ``run``."""
        return NumbaStepper(self.flat, self.splits, _DTYPES[self.dtype])


class NumbaBackend:
    """``get_backend("numba", dtype="float64", threads=None)``."""

    name = "numba"

    def __init__(self, dtype: str = "float64", threads: int | None = None) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.dtype = dtype
        self.threads = threads

    def compile(self, net: Network, *, dt: float, record: RecordSpec) -> NumbaSimulation:
        return NumbaSimulation(prepare(net, dt), record, self.dtype, self.threads)

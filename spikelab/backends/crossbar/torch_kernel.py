"""Torch driver of the crossbar backend (``kernel="torch"``): a batch of samples simulated
together as tensors, one Python loop over time steps, on the CPU or a CUDA GPU.

Order within step t is kernel.py's (docs/semantics.md): the input events of step t drive
the rows of every input layer (read in layer order, row tiles in order, into ring slot
t + delay), the neurons update from ``I_in = ring[t % L]`` with the torch backend's step
bodies (torch_steps.py, so the neuron arithmetic is the torch backend's, which is numba's
in float64), then the spikes of step t drive the rows of every recurrent layer. The reads
themselves are torch_arrays.py. State is ``[neurons, batch]``, the ring ``[L, N, batch]``.

With ``exact`` (every non-ideality off) the ring is filled as by the torch backend instead:
input events one by one (``InputSchedule``) and spikes through the delay-grouped CSR
(``DelayedWeights``), which on the CPU in float64 are numba's additions in numba's order,
so the spikes are the numba backend's, bit for bit. The array operations are still counted.

What agrees with the numba kernel (CPU, float64):
* the exact path: spikes, voltages and operation counts, bit for bit;
* deterministic reads (no read noise) with ``sum_order="sequential"`` (what "auto" picks
  there): column sums, DAC, ADC and ring additions in numba's order, so spikes, voltages and
  counts are bit-identical; with IR drop (prefix sums in another order) equal to rounding;
* operation counts whenever the spikes agree (they depend only on which rows are driven);
  the cell read energy Σ V²(G+ + G−) to rounding.
What does not: read noise. Its distribution is kernel.py's (one Gaussian per column read,
variance Σ V²(G+² + G−²)·σ²), but the draws come from a ``torch.Generator`` seeded per chunk
of ``batch_size`` samples from the config seed and the chunk's sample keys
(``backend.sample_keys``): the same seed, batch and batch_size give the same result (any
thread count, on one device), but only statistics, not spikes, agree with numba. With
``sum_order="matmul"`` (what "auto" picks in float32, on CUDA, or with read noise) sums are
in BLAS order: equal to rounding; an ADC code then moves only if a sum lies within rounding
of a code boundary, and without an ADC a spike flips only at a near-tie. On CUDA the exact
path is equal to rounding too (atomic ``index_add_``, cuSPARSE; see the torch backend).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch

from ...ir import FlatNetwork
from ...spikes import RecordSpec, SpikeBatch
from ..torch.backend import (
    NP_DTYPES,
    TORCH_DTYPES,
    Run,
    build_runs,
    map_chunks,
    resolve_device,
    step_and_record,
)
from ..torch.synapses import DENSE_ABOVE, DelayedWeights, InputSchedule, delayed_weights, density
from . import kernel as XK
from .arrays import G_NOISE
from .mapping import Layer
from .torch_arrays import LayerCounts, ReadSettings, device_layer, read_layer

SUM_ORDERS = ("auto", "sequential", "matmul")


def default_device() -> str:
    """``device=None``: "cuda" when a CUDA GPU is visible, else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def noise_seed(seed: int, keys: np.ndarray) -> int:
    """Seed (63 bits) of a chunk's ``torch.Generator``: BLAKE2b of the config seed and the
    chunk's sample keys, so the same seed and samples give the same draws."""
    data = np.int64(seed).tobytes() + np.ascontiguousarray(keys, dtype=np.uint64).tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") >> 1


class InputSteps:
    """The input events of a chunk, per step: summed values ``[n_inputs, B]`` (events added
    in order from 0.0, as kernel.py's ``_active_inputs``), the driven-row mask, and the mask
    of driven rows whose value is not 1 (DAC conversions)."""

    def __init__(
        self, batch: SpikeBatch, n_inputs: int, *, dtype: torch.dtype, device: torch.device
    ) -> None:
        B = len(batch)
        order = np.argsort(batch.steps, kind="stable")  # by step, then sample, then event
        sample = np.repeat(np.arange(B, dtype=np.int64), np.diff(batch.offsets))[order]
        index = batch.channels[order].astype(np.int64) * B + sample
        self.index = torch.as_tensor(index, device=device)
        self.values = torch.as_tensor(
            batch.values[order].astype(np.float64), dtype=dtype, device=device
        )
        self.bounds = np.searchsorted(batch.steps[order], np.arange(batch.n_steps + 1)).tolist()
        self.shape, self.dtype, self.device = (n_inputs, B), dtype, device

    def step(self, t: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lo, hi = self.bounds[t], self.bounds[t + 1]
        n = self.shape[0] * self.shape[1]
        x = torch.zeros(n, dtype=self.dtype, device=self.device)
        act = torch.zeros(n, dtype=torch.bool, device=self.device)
        if hi > lo:
            x.index_add_(0, self.index[lo:hi], self.values[lo:hi])
            act[self.index[lo:hi]] = True
        x, act = x.view(self.shape), act.view(self.shape)
        return x, act, act & (x != 1.0)


def event_counts(batch: SpikeBatch, indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: synapses reached by input events, and those reached by events whose value
    is not 1 (kernel.py's ``synaptic_events_nonbinary``); int64 [B] each."""
    fan = np.diff(indptr)[batch.channels].astype(np.float64)
    sample = np.repeat(np.arange(len(batch)), np.diff(batch.offsets))
    nonbin = batch.values.astype(np.float64) != 1.0
    n = len(batch)
    syn = np.bincount(sample, weights=fan, minlength=n)
    mult = np.bincount(sample, weights=fan * nonbin, minlength=n)
    return np.rint(syn).astype(np.int64), np.rint(mult).astype(np.int64)


class TorchCrossbarKernel:
    """The crossbar simulation of one compiled network in torch; ``simulate(batch, keys)``
    returns kernel.py's per-sample outputs (``KernelOutput``). Pickles without tensors."""

    def __init__(
        self,
        flat: FlatNetwork,
        record: RecordSpec,
        layers: list[Layer],
        *,
        exact: bool,
        gf: np.ndarray,
        gi: np.ndarray,
        seed: int,
        device: torch.device,
        dtype: str,
        batch_size: int,
        threads: int | None,
        sum_order: str,
    ) -> None:
        self.flat, self.record, self.layers = flat, record, layers
        self.exact, self.seed = exact, seed
        self.device, self.dtype, self.batch_size, self.threads = device, dtype, batch_size, threads
        if sum_order == "auto":  # numba's order where it decides the result: deterministic reads
            exact_order = device.type == "cpu" and dtype == "float64" and gf[G_NOISE] == 0.0
            sum_order = "sequential" if exact_order else "matmul"
        self.settings = ReadSettings.from_globals(gf, gi, sequential=sum_order == "sequential")
        self.sum_order = "csr" if exact else sum_order  # what computes the synaptic input
        self._built: tuple[list[Run], list, DelayedWeights | None] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_built"], state["device"] = None, str(self.device)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["device"] = resolve_device(state["device"])
        self.__dict__.update(state)

    def _build(self) -> tuple[list[Run], list, DelayedWeights | None]:
        """Neuron parameters, device layers and (exact path) recurrent weights, once."""
        if self._built is None:
            f = self.flat
            kw: dict[str, Any] = {"dtype": TORCH_DTYPES[self.dtype], "device": self.device}
            runs = build_runs(f, **kw)
            layers = [device_layer(ly, self.settings, **kw) for ly in self.layers]
            rec = None
            if self.exact:  # the torch backend's "auto": CSR (numba's order) in float64
                csr = self.dtype == "float64" or density(f.recurrent) <= DENSE_ABOVE
                rec = delayed_weights(f.recurrent, f.ring_len, sparse=csr, **kw)
            self._built = (runs, layers, rec)
        return self._built

    def simulate(self, batch: SpikeBatch, keys: np.ndarray) -> XK.KernelOutput:
        """Every sample of ``batch`` (read-noise keys ``keys``), ``batch_size`` at a time; on
        the CPU, chunks run in worker threads with one torch thread each."""
        self._build()
        cuts = list(range(0, len(batch), self.batch_size)) + [len(batch)]
        spans = zip(cuts[:-1], cuts[1:], strict=True)
        jobs = [(batch.subset(np.arange(a, b)), keys[a:b]) for a, b in spans]
        workers = int(self.threads) if self.threads is not None else torch.get_num_threads()
        parts = map_chunks(lambda j: self._simulate(*j), jobs, self.device, workers)
        if not parts:
            parts = [self._simulate(batch, keys)]
        return XK.KernelOutput(*(np.concatenate(p) for p in zip(*parts, strict=True)))

    def _simulate(self, batch: SpikeBatch, keys: np.ndarray) -> XK.KernelOutput:
        """One chunk: the time loop. Everything stays on the device until the end."""
        runs, layers, rec = self._build()
        f, record, s = self.flat, self.record, self.settings
        B, T, N, L = len(batch), batch.n_steps, f.n_neurons, f.ring_len
        kw: dict[str, Any] = {"dtype": TORCH_DTYPES[self.dtype], "device": self.device}
        ring = torch.zeros(L, N, B, **kw)
        inputs = InputSteps(batch, f.n_inputs, **kw)
        sched, work = self._exact_inputs(batch, rec)
        gen = self._generator(keys)
        counters = [LayerCounts(ly, B, self.device) for ly in layers]
        in_layers = [c for c in counters if c.layer.is_input]
        rec_layers = [c for c in counters if not c.layer.is_input]
        ecell = torch.zeros(B, **kw)
        states = [r.init(B) for r in runs]
        width = record.bin_width(T)
        counts, raster, vrec, vidx = self._record_buffers(B, T, N, kw)
        read = not self.exact
        for t in range(T):
            x, act, nonbin = inputs.step(t)
            if sched is not None:
                sched.deliver(ring.view(-1), t)
            for c in in_layers:
                read_layer(c, x, act, nonbin, s, ring, t, ecell, gen, do_read=read)
            z = step_and_record(runs, states, ring[t % L], t, width, counts, raster, vrec, vidx)
            if rec is not None:
                rec.propagate(z, ring, t, work)
            if rec_layers:
                fired = z > 0
                for c in rec_layers:
                    read_layer(c, z, fired, None, s, ring, t, ecell, gen, do_read=read)
        return self._outputs(batch, counts, raster, vrec, counters, ecell)

    def _exact_inputs(self, batch: SpikeBatch, rec: DelayedWeights | None) -> tuple:
        """Exact path: the input schedule (CSR, numba's order) and the recurrent workspace."""
        if not self.exact:
            return None, None
        np_dtype = NP_DTYPES[self.dtype]
        f = self.flat
        sched = InputSchedule(batch, f.inputs, f.ring_len, np_dtype=np_dtype, device=self.device)
        return sched, rec.workspace(len(batch)) if rec is not None else None

    def _generator(self, keys: np.ndarray) -> torch.Generator | None:
        """The chunk's read-noise generator (None without read noise or on the exact path)."""
        if self.settings.sigma > 0.0 and not self.exact:
            gen = torch.Generator(device=self.device)
            gen.manual_seed(noise_seed(self.seed, keys))
            return gen
        return None

    def _record_buffers(self, B: int, T: int, N: int, kw: dict[str, Any]) -> tuple:
        """counts [bins, N, B], raster [T, N, B] (or None), vrec [T, k, B], voltage indices."""
        record = self.record
        counts = torch.zeros(record.n_bins(T), N, B, **kw)
        raster = None
        if record.raster:
            raster = torch.zeros(T, N, B, dtype=torch.bool, device=self.device)
        vidx = torch.as_tensor(record.voltage, dtype=torch.int64, device=self.device)
        vrec = torch.zeros(T, len(record.voltage), B, **kw)
        return counts, raster, vrec, vidx

    def _outputs(
        self,
        batch: SpikeBatch,
        counts: torch.Tensor,
        raster: torch.Tensor | None,
        vrec: torch.Tensor,
        counters: list[LayerCounts],
        ecell: torch.Tensor,
    ) -> XK.KernelOutput:
        """The chunk's tensors as kernel.py's numpy outputs (counters per sample)."""
        f, B, T = self.flat, len(batch), batch.n_steps
        counts_np = counts.permute(2, 0, 1).to(torch.int32).cpu().numpy()
        per_neuron = counts_np.sum(axis=1, dtype=np.int64)  # [B, N]
        syn_in, syn_mult = event_counts(batch, f.inputs.indptr)
        cnt = np.zeros((B, XK.N_COUNTERS), np.int64)
        for c in counters:
            cnt += c.to_counters()
        cnt[:, XK.C_NEURON_UPDATES] = f.n_neurons * T
        cnt[:, XK.C_SYN_MULT] = syn_mult
        if raster is not None:
            raster_np = raster.permute(2, 0, 1).to(torch.uint8).cpu().numpy()
        else:
            raster_np = np.zeros((B, 1, 1), np.uint8)
        return XK.KernelOutput(
            counts=counts_np,
            raster=raster_np,
            vrec=vrec.permute(2, 0, 1).cpu().numpy(),
            n_spk=per_neuron.sum(axis=1),
            n_syn=syn_in + per_neuron @ np.diff(f.recurrent.indptr),
            cnt=cnt,
            ecell=ecell.cpu().numpy().astype(np.float64),
        )

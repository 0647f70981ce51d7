"""PyTorch / norse backend: the same network on the CPU or a CUDA GPU, by a device string.

    sim = net.compile(backend="torch", dt=1.0, device="cuda", dtype="float32")
    rec = sim.run(batch)                       # Recording (numpy), as every backend
    get_backend("torch", return_tensors=True)  # + rec.extras["counts_tensor"] on the device

Options: ``device`` (any torch device string: "cpu", "cuda", "cuda:1"), ``dtype``
("float64", the reference, or "float32", the fast path), ``sparse`` ("auto", "dense" or
"csr": how recurrent weights are stored), ``return_tensors``, ``batch_size`` (at most this
many samples simulated together; memory grows with it), ``threads`` (CPU worker threads,
each simulating whole chunks of the batch with one torch thread; default: torch's thread
count).

What is computed is docs/semantics.md, batched over samples with state ``[neurons, batch]``
and one Python loop over time steps (none over neurons or synapses); see torch_steps.py
(neuron updates) and torch_synapses.py (delay ring, weights, input events). Within step t:
the input events of step t are added to the ring with one ``index_add_`` (their flat ring
indices are computed for the whole batch before the loop), the neuron update reads
``I_in = ring[t % L]``, spikes are recorded, and one product of the delay-stacked recurrent
weights with the spikes fills the future slots t + d.

Where norse is used and where plain torch (norse 1.1 ``norse.torch.functional``):

* LIF: norse's ``iaf_feed_forward_step`` does integrate-threshold-reset and norse's
  ``compute_refractory_update`` (of ``lif_refrac``) the refractory clamp and counter; both
  compute our update exactly. The leak and synaptic current are plain torch, because
  norse's ``lif_feed_forward_step`` differs from docs/semantics.md:
  ``i' = i + x; v' = v + dt*tau_mem_inv*((v_leak - v) + i'); i <- i' - dt*tau_syn_inv*i'``
  is forward Euler. Its membrane factor is ``1 - dt/tau_mem``, not ``alpha =
  exp(-dt/tau_mem)``, and its input enters scaled by ``dt/tau_mem``, while ours adds
  ``i`` unscaled (``v = v_rest + alpha*(v - v_rest) + (1-alpha)*bias + i``). Choosing
  ``tau_mem_inv = (1-alpha)/dt``, ``v_leak = v_rest + bias``, feeding ``I_in/(1-alpha)``
  and ``tau_syn_inv = (1-beta)/dt`` makes the two equal in real arithmetic, but not in
  floating point (``v + k*((v_leak - v) + i)`` and ``i - k*i`` round differently from our
  operations), so float64 rasters would drift from the reference; and the state ``i``
  would be in other units. norse's ``lif_step`` also has no refractoriness and its
  ``lif_refrac_step`` wraps that Euler step.
* Izhikevich: plain torch. norse's ``izhikevich_feed_forward_step`` is one Euler step of
  ``tau_inv*dt`` for v and for u, with u updated from the *old* v, a strict ``v > v_th``
  spike test and ``sq*v**2`` evaluation; ours (Izhikevich 2003) takes two dt/2 half-steps
  of v, updates u from the *new* v, spikes at ``v >= v_peak``, and evaluates
  ``(0.04*v)*v`` as the reference kernel does. Even one of its steps with
  ``tau_inv*dt = dt/2`` rounds differently from our half-step.
* Synapses, delays, input events, recording: plain torch (norse has no delay ring).

Precision: on the CPU, with ``sparse="csr"`` (what "auto" picks in float64), every
floating-point operation is the reference's, in the reference's order: input events are
added event by event (a serial ``index_add_``), and the CSR product starts each row from
the ring slot's value and adds the synapses in source order (see torch_synapses.py). So
float64 rasters and voltages are bit-identical to numba's, and float32 LIF runs are
bit-identical to numba's float32 (numba evaluates Izhikevich's float32 update partly in
float64). ``sparse="dense"`` sums in BLAS order: rounding-level differences, which flip a
spike only at a near-tie (or grow in chaotic networks). On CUDA, ``index_add_`` uses atomic
additions and cuSPARSE its own order: results are then equal to rounding, not bit for bit,
and may vary from run to run. float32 parameters are computed in float64 and rounded.

Counters: ``n_synaptic_events`` counts, like numba, every synapse reached by an input
event (even when it arrives after the last step) and every outgoing synapse of a spike.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from ... import ir as K
from ...ir import FlatNetwork
from ...network import Network
from ...spikes import Recording, RecordSpec, SpikeBatch, SpikeTrains
from ..base import BackendUnavailable
from ..common import check_batch, prepare, simulation_repr
from . import steps as S
from .synapses import (
    DENSE_ABOVE,
    DelayedWeights,
    InputSchedule,
    delayed_weights,
    density,
)

# shared with the crossbar's torch kernel (spikelab.backends.crossbar.torch_kernel)
TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
NP_DTYPES = {"float64": np.float64, "float32": np.float32}
_SPARSE = ("auto", "dense", "csr")

Step = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch device, with a clear error when it cannot be used here."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be a torch device string such as 'cpu', 'cuda' or 'cuda:0', "
            f"got {device!r}"
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = (
                f"this torch ({torch.__version__}) was built without CUDA"
                if torch.version.cuda is None
                else "no CUDA GPU is visible (check the NVIDIA driver and CUDA_VISIBLE_DEVICES)"
            )
            raise BackendUnavailable(
                f"device={device!r} needs a CUDA GPU, but {why}. Fix: on a machine with an "
                "NVIDIA GPU install a CUDA build of torch (see https://pytorch.org/get-started/"
                "locally/, e.g. pip install torch --index-url "
                "https://download.pytorch.org/whl/cu124), or use device='cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    return dev


class Run:
    """Consecutive populations of one neuron model: neurons [lo, hi) and their step."""

    def __init__(self, kind: int, lo: int, hi: int, params: Any, dt: float) -> None:
        self.lo, self.hi, self.params = lo, hi, params
        if kind == K.KIND_LIF:
            self.step: Step = functools.partial(_lif, p=params)
            self.init = functools.partial(S.lif_init, params)
        else:
            self.step = functools.partial(_izh, p=params, dt=dt)
            self.init = functools.partial(S.izh_init, params)


def _lif(i_in: torch.Tensor, s: Any, p: S.LIFParams) -> tuple[torch.Tensor, Any]:
    return S.lif_step(i_in, s, p)


def _izh(i_in: torch.Tensor, s: Any, p: S.IzhParams, dt: float) -> tuple[torch.Tensor, Any]:
    return S.izh_step(i_in, s, p, dt)


def _voltage(state: Any) -> torch.Tensor:
    return state.lif.v if isinstance(state, S.LIFState) else state.v


def build_runs(f: FlatNetwork, **kw: Any) -> list[Run]:
    """The network's neuron runs with their parameters on ``kw``'s dtype and device."""
    return [
        Run(
            kind,
            lo,
            hi,
            S.lif_params(f.params, f.n_ref, lo, hi, **kw)
            if kind == K.KIND_LIF
            else S.izh_params(f.params, lo, hi, **kw),
            f.dt,
        )
        for kind, lo, hi in _model_runs(f)
    ]


def map_chunks(
    fn: Callable[[Any], Any], chunks: list[Any], device: torch.device, workers: int
) -> list[Any]:
    """``[fn(c) for c in chunks]``; on the CPU with ``workers`` > 1, chunks run in worker
    threads, each with one torch thread (coarse-grained, like numba's parallel loop over
    samples: torch's per-operation threads wait on each other ~30 times a step and collapse
    when the cores are shared). torch's thread count is restored afterwards."""
    if device.type != "cpu":
        return [fn(c) for c in chunks]
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if workers <= 1 or len(chunks) <= 1:
            return [fn(c) for c in chunks]
        with ThreadPoolExecutor(min(workers, len(chunks))) as pool:
            return list(pool.map(fn, chunks))
    finally:
        torch.set_num_threads(old)


def step_and_record(
    runs: list[Run],
    states: list[Any],
    i_in: torch.Tensor,
    t: int,
    width: int,
    counts: torch.Tensor,
    raster: torch.Tensor | None,
    vrec: torch.Tensor | None,
    vidx: torch.Tensor,
) -> torch.Tensor:
    """One step of every population on the synaptic input ``i_in`` [N, B] (then cleared,
    it is the ring's slot), recording into counts, raster and voltages; returns the spikes
    ``z`` [N, B]. ``states`` is updated in place. Shared by this backend and the crossbar's
    torch kernel, which differ only in how ``i_in`` is made."""
    single = len(runs) == 1
    spikes = []
    for r, run in enumerate(runs):
        z, states[r] = run.step(i_in if single else i_in[run.lo : run.hi], states[r])
        spikes.append(z)
    i_in.zero_()
    z = spikes[0] if single else torch.cat(spikes)
    counts[t // width].add_(z)
    if raster is not None:
        raster[t] = z > 0
    if vrec is not None and vidx.numel():
        v = _voltage(states[0]) if single else torch.cat([_voltage(q) for q in states])
        vrec[t] = v.index_select(0, vidx)
    return z


class TorchSimulation:
    """A network compiled for torch; ``run(batch)`` simulates the batch, ``batch_size``
    samples at a time. Pickles without its tensors (they are rebuilt on first use)."""

    def __init__(
        self,
        flat: FlatNetwork,
        record: RecordSpec,
        *,
        device: torch.device,
        dtype: str,
        sparse: str,
        batch_size: int,
        return_tensors: bool,
        threads: int | None,
    ) -> None:
        self.flat, self.record, self.device, self.dtype = flat, record, device, dtype
        self.batch_size, self.return_tensors, self.threads = batch_size, return_tensors, threads
        if sparse == "auto":  # float64 is the reference: CSR sums in the reference's order
            dense = dtype == "float32" and density(flat.recurrent) > DENSE_ABOVE
            sparse = "dense" if dense else "csr"
        self.sparse = sparse  # what is used: "dense" or "csr"
        self._built: tuple[list[Run], DelayedWeights | None] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_built"] = None
        state["device"] = str(self.device)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["device"] = resolve_device(state["device"])
        self.__dict__.update(state)

    def _build(self) -> tuple[list[Run], DelayedWeights | None]:
        """Parameters and weights on the device (once)."""
        if self._built is None:
            f = self.flat
            kw = {"dtype": TORCH_DTYPES[self.dtype], "device": self.device}
            runs = build_runs(f, **kw)
            rec = delayed_weights(f.recurrent, f.ring_len, sparse=self.sparse == "csr", **kw)
            self._built = (runs, rec)
        return self._built

    def __repr__(self) -> str:
        kw = dict(device=str(self.device), dtype=self.dtype, sparse=self.sparse)
        return simulation_repr(self, self.flat, **kw, batch_size=self.batch_size)

    def run(self, batch: SpikeBatch) -> Recording:
        """Simulate every sample of ``batch``; returns numpy counts (and raster, voltage)."""
        f = self.flat
        check_batch(batch, f.n_inputs, f.dt)
        t0 = time.perf_counter()
        self._build()
        parts = self._run_chunks(batch)
        counts_t = torch.cat([p["counts"] for p in parts])
        counts = counts_t.cpu().numpy()
        per_neuron = counts.sum(axis=(0, 1), dtype=np.int64)
        n_syn_rec = int(per_neuron @ np.diff(f.recurrent.indptr))
        raster = voltage = None
        if self.record.raster:
            raster = SpikeTrains.from_dense(torch.cat([p["raster"] for p in parts]).cpu().numpy())
        if self.record.voltage:
            voltage = torch.cat([p["voltage"] for p in parts]).cpu().numpy()
        extras: dict[str, Any] = {"device": str(self.device), "sparse": self.sparse}
        if self.return_tensors:
            extras["counts_tensor"] = counts_t
        return Recording(
            counts=counts,
            bin_steps=self.record.bin_width(batch.n_steps),
            n_steps=batch.n_steps,
            dt=f.dt,
            populations=f.pop_table(),
            raster=raster,
            voltage=voltage,
            voltage_neurons=self.record.voltage,
            n_spikes=int(per_neuron.sum()),
            n_synaptic_events=sum(p["n_syn_in"] for p in parts) + n_syn_rec,
            wall_time_s=time.perf_counter() - t0,
            extras=extras,
        )

    def _workers(self) -> int:
        if self.device.type != "cpu":
            return 1
        return int(self.threads) if self.threads is not None else torch.get_num_threads()

    def _run_chunks(self, batch: SpikeBatch) -> list[dict[str, Any]]:
        """Simulate the batch in chunks of at most ``batch_size`` samples (``map_chunks``: on
        the CPU, one chunk per worker thread at a time, each with one torch thread)."""
        workers = self._workers()
        n = -(-len(batch) // self.batch_size)
        n = min(max(len(batch), 1), workers * -(-n // workers))
        if n <= 1:
            chunks = [batch]
        else:
            cut = np.linspace(0, len(batch), n + 1).round().astype(np.int64)
            chunks = [batch.subset(np.arange(a, b)) for a, b in zip(cut[:-1], cut[1:], strict=True)]
        return map_chunks(self._simulate, chunks, self.device, workers)

    def _simulate(self, batch: SpikeBatch) -> dict[str, Any]:
        """One chunk: the time loop. Everything stays on the device until the end."""
        runs, rec = self._build()
        f, record = self.flat, self.record
        B, T, N, L = len(batch), batch.n_steps, f.n_neurons, f.ring_len
        kw = {"dtype": TORCH_DTYPES[self.dtype], "device": self.device}
        ring = torch.zeros(L, N, B, **kw)
        ring_flat = ring.view(-1)
        sched = InputSchedule(
            batch, f.inputs, L, np_dtype=NP_DTYPES[self.dtype], device=self.device
        )
        states = [r.init(B) for r in runs]
        width = record.bin_width(T)
        counts = torch.zeros(record.n_bins(T), N, B, **kw)
        raster = (
            torch.zeros(T, N, B, dtype=torch.bool, device=self.device) if record.raster else None
        )
        vidx = torch.as_tensor(record.voltage, dtype=torch.int64, device=self.device)
        vrec = torch.zeros(T, len(record.voltage), B, **kw) if record.voltage else None
        work = rec.workspace(B) if rec is not None else None
        for t in range(T):
            sched.deliver(ring_flat, t)
            z = step_and_record(runs, states, ring[t % L], t, width, counts, raster, vrec, vidx)
            if rec is not None:
                rec.propagate(z, ring, t, work)
        out: dict[str, Any] = {
            "counts": counts.permute(2, 0, 1).to(torch.int32),
            "n_syn_in": sched.n_synaptic_events,
        }
        if raster is not None:
            out["raster"] = raster.permute(2, 0, 1)
        if vrec is not None:
            out["voltage"] = vrec.permute(2, 0, 1)
        return out


def _model_runs(f: FlatNetwork) -> list[tuple[int, int, int]]:
    """(kind, lo, hi) of maximal runs of consecutive populations with the same model."""
    runs: list[tuple[int, int, int]] = []
    for kind, lo, hi in zip(f.pop_kind, f.pop_start, f.pop_stop, strict=True):
        if hi == lo:
            continue
        if runs and runs[-1][0] == kind and runs[-1][2] == lo:
            runs[-1] = (int(kind), runs[-1][1], int(hi))
        else:
            runs.append((int(kind), int(lo), int(hi)))
    return runs


class TorchBackend:
    """``get_backend("torch", device="cpu", dtype="float64", sparse="auto", ...)``.

    device : torch device string ("cpu", "cuda", "cuda:1"); CUDA needs nothing else.
    dtype : "float64" (reference: identical rasters to numba) or "float32" (fast).
    sparse : recurrent weights as "dense" matrices or torch sparse "csr"; "auto" picks CSR
        in float64 (the reference's summation order) and, in float32, CSR below 10 %
        density (the LSM) and dense above (all-to-all presets).
    return_tensors : also put the counts as a torch int32 tensor [batch, bins, neurons], on
        the device, in ``Recording.extras["counts_tensor"]`` (no numpy round trip; on the
        CPU it shares memory with ``Recording.counts``).
    batch_size : at most this many samples simulated together (memory grows with it);
        default 64 on the CPU (measured best of 32-256 at the 1,000-neuron LSM: state stays in
        cache) and 1024 on a GPU (where per-step kernel launches dominate small batches).
    threads : CPU worker threads during ``run``, each simulating whole chunks of the batch
        with one torch thread (None: as many as ``torch.get_num_threads()``; ignored on GPUs).
    """

    name = "torch"

    def __init__(
        self,
        device: str | torch.device = "cpu",
        dtype: str = "float64",
        sparse: str = "auto",
        return_tensors: bool = False,
        batch_size: int | None = None,
        threads: int | None = None,
    ) -> None:
        dtype = str(dtype).removeprefix("torch.")
        if dtype not in TORCH_DTYPES:
            raise ValueError(f"dtype must be one of {sorted(TORCH_DTYPES)}, got {dtype!r}")
        if sparse not in _SPARSE:
            raise ValueError(f"sparse must be one of {list(_SPARSE)}, got {sparse!r}")
        if batch_size is not None and int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1 sample, got {batch_size}")
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.device = resolve_device(device)
        if self.device.type == "mps" and dtype == "float64":
            raise ValueError("device='mps' has no float64; use dtype='float32' or device='cpu'")
        self.dtype, self.sparse, self.return_tensors = dtype, sparse, bool(return_tensors)
        if batch_size is None:
            batch_size = 64 if self.device.type == "cpu" else 1024
        self.batch_size, self.threads = int(batch_size), threads

    def compile(self, net: Network, *, dt: float, record: RecordSpec) -> TorchSimulation:
        return TorchSimulation(
            prepare(net, dt),
            record,
            device=self.device,
            dtype=self.dtype,
            sparse=self.sparse,
            batch_size=self.batch_size,
            return_tensors=self.return_tensors,
            threads=self.threads,
        )

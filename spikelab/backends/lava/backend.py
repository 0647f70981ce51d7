"""Lava backend: the Loihi 2 path, simulated on the CPU by Lava's ``Loihi2SimCfg``.

``get_backend("lava", precision="floating_pt" | "fixed_pt")`` or
``net.compile("lava", dt=1.0, precision="fixed_pt")``.

What maps, and how (details in ``lava_plan`` and docs/backends/lava.md):

* LIF neurons become Lava ``LIF`` processes (``LIFRefractory`` when some t_ref > 0): by
  default one process for all of them (``merge=True``; per-neuron du, dv, vth, bias and
  refractory periods as arrays), else one per population and refractory period. The
  membrane is measured from v_reset, which makes the mapping exact for any v_rest and
  v_reset. In ``floating_pt`` the rasters equal the numba reference up to float64 rounding
  (summation order of the synaptic input, and the order in which bias and current are
  added), which can flip a spike only at an exact threshold tie.
* Projections become ``Sparse`` (or ``DelaySparse`` for delays other than the minimum);
  Lava's one-step synaptic latency is compensated by one pre-step per sample, so delays in
  steps are the same as in the semantics. Input event counts travel as graded spikes.
* Izhikevich neurons run spikelab's custom Lava process (floating point only).
* ``fixed_pt`` is Loihi's bit-accurate arithmetic (Lava's ``PyLifModelBitAcc`` and
  ``PySparseModelBitAcc``, plus a bit-accurate ``LIFRefractory`` model): weights get an
  8-bit mantissa and a shared exponent per block, decays 12 bits, thresholds and biases
  mantissa and exponent (``spikelab.backends.lava.fixed``); the quantisation error of every
  parameter is ``sim.quantization_report`` and ``Recording.extras["quantization"]``.

What does not map: Izhikevich in ``fixed_pt`` (``UnsupportedFeature``); a neuron whose
v_rest is above its threshold; in ``fixed_pt``, Lava delays above 63 steps (Loihi 2
synapses hold 6-bit delays); with ``merge=False``, more than ``max_groups`` processes.

Batches: Lava has no batch dimension. The graph is compiled once per run length; ``chunk``
samples then run back to back in one Lava run, each T + 1 steps, the neuron and synapse
models restoring their initial state at each sample's first step (Lava moves Var data one
value per message, so the input goes in as an event list and spikes come out bit-packed;
``lava_io``). ``Recording.extras`` states ``setup_s`` (build and Lava compile) and
``seconds_per_sample``.

From a Python that cannot import Lava (.venv), the same backend compiles and runs in a
Lava-capable interpreter, a long-lived worker process (``remote.py`` the client, numpy only;
``worker.py`` the server; ``wire.py`` the messages): ``.venv-lava/bin/python`` beside the
checkout, ``SPIKELAB_LAVA_PYTHON`` or the option ``python=``. The Recording is the one the
worker's in-process run returns, bit for bit.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ...network import Network
from ...spikes import Recording, RecordSpec, SpikeBatch, SpikeTrains
from ..base import UnsupportedFeature
from ..common import check_batch, prepare, simulation_repr
from .plan import MAX_GROUPS, IzhGroup, LavaPlan, LifGroup, build_plan

if TYPE_CHECKING:
    from .remote import RemoteLavaSimulation

FLOAT, FIXED = "floating_pt", "fixed_pt"
PRECISIONS = (FLOAT, FIXED)


def import_lava() -> None:
    """Import Lava's runtime, tolerating a multiprocessing start method set earlier.

    Lava calls ``multiprocessing.set_start_method("fork")`` when its runtime module is first
    imported, which raises once anything (numba's parallel launch, for one) has fixed the
    start method. Lava needs "fork" in any case, so the import forces it.
    """
    import sys

    name = "lava.magma.runtime.message_infrastructure.multiprocessing"
    if name in sys.modules:
        return
    import multiprocessing as mp

    original = mp.set_start_method
    mp.set_start_method = functools.partial(original, force=True)  # type: ignore[assignment]
    try:
        importlib.import_module(name)
    finally:
        mp.set_start_method = original  # type: ignore[assignment]


class _ChunkOutputs(NamedTuple):
    """What ``LavaSimulation._run_chunks`` collects over a batch."""

    counts: np.ndarray  # [batch, bins, neurons], int32
    width: int  # steps per bin
    raster: np.ndarray | None  # [batch, steps, neurons], uint8, when recorded
    voltage: np.ndarray  # [batch, steps, len(vidx)], mV
    vidx: np.ndarray  # global indices of the neurons whose potential is recorded
    n_syn: int  # synaptic events
    input_error: float  # largest input rounding (fixed_pt)


def _stop(holder: dict[str, Any]) -> None:
    """Stop a Lava runtime held in ``holder`` (finaliser: must not reference the sim)."""
    graph = holder.pop("graph", None)
    if graph is not None and holder.pop("started", False):
        try:
            graph.source.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


@dataclass(eq=False)
class LavaSimulation:
    """A network compiled for Lava; ``run`` simulates the samples of a batch one after
    another, ``chunk`` samples per Lava run.

    The Lava process graph is built and compiled on the first ``run`` (it depends on the run
    length, which the batch fixes) and reused for every later batch of the same length.
    Call ``close()`` (or use ``with``) to stop Lava's worker processes early; they are also
    stopped when the simulation is garbage-collected.
    """

    plan: LavaPlan
    record: RecordSpec
    precision: str = FLOAT
    fixed: Any = None  # lava_fixed.FixedPlan in fixed_pt
    chunk: int = 16  # samples per Lava run
    _rt: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._finalizer = weakref.finalize(self, _stop, self._rt)

    # -- public ---------------------------------------------------------------------------
    @property
    def quantization_report(self) -> dict[str, Any]:
        """Quantisation error of every parameter (fixed_pt); empty in floating_pt."""
        return {} if self.fixed is None else self.fixed.report

    def close(self) -> None:
        """Stop the Lava runtime (it is rebuilt on the next ``run``)."""
        _stop(self._rt)

    def __enter__(self) -> LavaSimulation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "record": self.record,
            "precision": self.precision,
            "fixed": self.fixed,
            "chunk": self.chunk,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rt = {}
        self.__post_init__()

    def __repr__(self) -> str:
        return simulation_repr(self, self.plan, precision=self.precision, chunk=self.chunk)

    def run(self, batch: SpikeBatch) -> Recording:
        plan = self.plan
        check_batch(batch, plan.n_inputs, plan.dt)
        T, B = batch.n_steps, len(batch)
        t0 = time.perf_counter()
        chunks = [(lo, min(lo + self.chunk, B)) for lo in range(0, B, self.chunk)]
        need = max((int(batch.offsets[hi] - batch.offsets[lo]) for lo, hi in chunks), default=0)
        graph, cold = self._graph(T, need)  # built here, compiled before its first run
        out = self._run_chunks(graph, batch, chunks)
        wall = time.perf_counter() - t0
        setup = self._rt.pop("setup_s", 0.0) if cold else 0.0  # graph build, Lava compile
        return Recording(
            counts=out.counts,
            bin_steps=out.width,
            n_steps=T,
            dt=plan.dt,
            populations=plan.pop_table,
            raster=SpikeTrains.from_dense(out.raster) if out.raster is not None else None,
            voltage=out.voltage if len(out.vidx) else None,
            voltage_neurons=tuple(int(i) for i in out.vidx),
            n_spikes=int(out.counts.sum()),
            n_synaptic_events=out.n_syn,
            wall_time_s=wall,
            extras=self._extras(graph, T, B, wall, setup, out.input_error),
        )

    # -- internals ------------------------------------------------------------------------
    def _run_chunks(
        self, graph: Any, batch: SpikeBatch, chunks: list[tuple[int, int]]
    ) -> _ChunkOutputs:
        """Run the samples chunk by chunk ([lo, hi) each) and collect what ``record`` asks for."""
        plan = self.plan
        T, B, N = batch.n_steps, len(batch), plan.n_neurons
        bins, width = self.record.n_bins(T), self.record.bin_width(T)
        counts = np.zeros((B, bins, N), dtype=np.int32)
        raster = np.zeros((B, T, N), dtype=np.uint8) if self.record.raster else None
        vidx = np.asarray(self.record.voltage, dtype=np.int64)
        vrec = np.zeros((B, T, len(vidx)))
        n_syn, input_error = 0, 0.0
        for lo, hi in chunks:
            input_error = max(input_error, self._load_chunk(graph, batch, lo, hi))
            self._run(graph, (hi - lo) * graph.period)
            spk = self._read_spikes(graph, hi - lo)  # [samples, T, N]
            for k, b in enumerate(range(lo, hi)):
                counts[b] = _bin_counts(spk[k], width, bins)
                ch = batch.sample(b)[1]
                n_syn += int(plan.in_rowlen[ch].sum()) + int(spk[k].sum(axis=0) @ plan.rc_rowlen)
            if raster is not None:
                raster[lo:hi] = spk
            if len(vidx):
                vrec[lo:hi] = self._read_voltage(graph, hi - lo)[:, :, vidx]
            self._rt["t"] += (hi - lo) * graph.period
        return _ChunkOutputs(counts, width, raster, vrec, vidx, n_syn, input_error)

    def _extras(
        self, graph: Any, T: int, B: int, wall: float, setup: float, input_error: float
    ) -> dict[str, Any]:
        """``Recording.extras``: precision, timing (s), process layout, mapping errors."""
        plan = self.plan
        extras: dict[str, Any] = {
            "precision": self.precision,
            "lava_steps_per_sample": T + 1,
            "samples_per_lava_run": self.chunk,
            "setup_s": float(setup),
            "seconds_per_sample": float((wall - setup) / max(B, 1)),
            "groups": [(g.name, g.kind, g.size) for g in plan.groups],
            "n_lava_processes": len(graph.processes()),
            "mapping": dict(plan.notes),  # pre-step and decay rounding (0.0: exact)
        }
        if self.fixed is not None:
            extras["quantization"] = self.quantization_report
            extras["input_rounding_max"] = input_error
        return extras

    def _graph(self, n_steps: int, events: int) -> tuple[Any, bool]:
        """The process graph for samples of ``n_steps`` holding ``events`` input events per
        chunk (rebuilt when either outgrows it); Lava compiles it on its first run."""
        graph = self._rt.get("graph")
        if graph is not None and graph.n_steps == n_steps and graph.capacity >= events:
            return graph, False
        _stop(self._rt)
        from .graph import build_graph

        t0 = time.perf_counter()
        capacity = max(64, int(1.5 * events))
        graph = build_graph(self.plan, n_steps, self.precision, self.fixed, chunk=self.chunk,
                            capacity=capacity, voltage=self._probe_indices())  # fmt: skip
        self._rt.update(graph=graph, cfg=graph.run_config(), started=False, t=0,
                        setup_s=time.perf_counter() - t0)  # fmt: skip
        return graph, True

    def _probe_indices(self) -> dict[str, np.ndarray]:
        """Group name -> local indices of the neurons whose potential is recorded."""
        out = {}
        for g in self.plan.groups:
            local = np.flatnonzero(np.isin(g.index, np.asarray(self.record.voltage)))
            if len(local):
                out[g.name] = local
        return out

    def _run(self, graph: Any, n_steps: int) -> None:
        try:
            if not self._rt["started"]:  # compile and start Lava's processes (timed apart)
                t0 = time.perf_counter()
                graph.source.create_runtime(run_cfg=self._rt["cfg"])
                self._rt["started"] = True
                self._rt["setup_s"] = self._rt.get("setup_s", 0.0) + time.perf_counter() - t0
            graph.source.run(condition=_run_steps(n_steps), run_cfg=self._rt["cfg"])
        except BaseException:
            self._rt.clear()  # Lava's runtime is unusable after an error: rebuild next time
            raise
        self._rt["started"] = True

    def _load_chunk(self, graph: Any, batch: SpikeBatch, lo: int, hi: int) -> float:
        """Hand the events of samples [lo, hi) to the source; returns the input rounding
        error (fixed_pt counts must be integers). The state resets itself in Lava."""
        a, b = int(batch.offsets[lo]), int(batch.offsets[hi])
        sample = np.repeat(np.arange(lo, hi), np.diff(batch.offsets[lo : hi + 1]))
        step = (sample - lo) * graph.period + batch.steps[a:b]  # column t of a sample = step t
        codes = step.astype(np.int64) * graph.source.s_out.shape[0] + batch.channels[a:b]
        order = np.argsort(codes, kind="stable")
        codes, values = codes[order].astype(np.float64), batch.values[a:b][order].astype(float)
        err = 0.0
        if self.fixed is not None:
            rounded = np.rint(values)
            err = float(np.max(np.abs(rounded - values), initial=0.0))
            values = rounded
        start = np.array([self._rt["t"]])
        if not self._rt["started"]:  # before Lava's first run: set the initial values
            pad = graph.capacity - len(codes)
            graph.source.codes.init = np.concatenate([codes, np.zeros(pad)])
            graph.source.values.init = np.concatenate([values, np.zeros(pad)])
            graph.source.n_events.init = np.array([len(codes)])
            graph.source.t0.init = start
            return err
        if len(codes):  # Lava sets a Var value by value: send only the events
            graph.source.codes.set(codes)
            graph.source.values.set(values)
        graph.source.n_events.set(np.array([len(codes)]))
        graph.source.t0.set(start)
        return err

    def _rows(self, graph: Any, n_samples: int) -> np.ndarray:
        """Ring-buffer rows of the steps just run, as [samples, T] without the pre-steps."""
        steps = self._rt["t"] + np.arange(n_samples * graph.period)
        rows = (steps % (graph.chunk * graph.period)).reshape(n_samples, graph.period)
        return rows[:, 1:]

    def _read_spikes(self, graph: Any, n_samples: int) -> np.ndarray:
        from .io import unpack

        spk = np.zeros((n_samples, graph.n_steps, self.plan.n_neurons), dtype=np.uint8)
        rows = self._rows(graph, n_samples)
        for g in self.plan.groups:
            packed = np.asarray(graph.sinks[g.name].packed.get())
            spk[:, :, g.index] = unpack(packed[rows], g.size)
        return spk

    def _read_voltage(self, graph: Any, n_samples: int) -> np.ndarray:
        v = np.zeros((n_samples, graph.n_steps, self.plan.n_neurons))
        rows = self._rows(graph, n_samples)
        for name, probe in graph.probes.items():
            g = self.plan.group(name)
            local = probe.proc_params["indices"]
            data = np.asarray(probe.data.get(), dtype=np.float64)[:, rows]  # [k, samples, T]
            data = np.moveaxis(data, 0, -1)
            if isinstance(g, LifGroup):
                scale = 1.0 if self.fixed is None else self.fixed.groups[name].scale[local]
                data = data / scale + g.v_offset[local]
            v[:, :, g.index[local]] = data
        return v


def _bin_counts(spk: np.ndarray, width: int, bins: int) -> np.ndarray:
    T, N = spk.shape
    pad = bins * width - T
    full = np.concatenate([spk, np.zeros((pad, N), spk.dtype)]) if pad else spk
    return full.reshape(bins, width, N).sum(axis=1, dtype=np.int32)


def _run_steps(n: int) -> Any:
    from lava.magma.core.run_conditions import RunSteps

    return RunSteps(num_steps=n)


def lava_importable() -> bool:
    """Whether this Python can import Lava (else the backend runs it in a worker)."""
    return importlib.util.find_spec("lava") is not None


class LavaBackend:
    """``get_backend("lava", precision="floating_pt", merge=True, chunk=16, max_groups=32)``.

    precision : "floating_pt" (float64, spike for spike with numba up to rounding) or
        "fixed_pt" (Loihi 2's bit-accurate integer arithmetic after quantisation).
    merge : one Lava process for all LIF neurons (and one for all Izhikevich neurons), the
        fastest graph; False: one per population and refractory period, as deployed.
    chunk : samples run back to back in one Lava run (their state resets inside Lava).
    max_groups : most Lava neuron processes to create (see ``lava_plan.MAX_GROUPS``).
    python : a Lava-capable interpreter to run the simulation in, as a worker process.
        Default: in this process when it can import Lava, else the interpreter named by
        ``SPIKELAB_LAVA_PYTHON``, else ``.venv-lava/bin/python`` beside the checkout
        (``spikelab.backends.lava.remote``; ``BackendUnavailable`` naming the fixes).
    worker : a running ``remote.LavaWorker`` to share between simulations (Python API only).
    """

    name = "lava"

    def __init__(
        self,
        precision: str = FLOAT,
        merge: bool = True,
        chunk: int = 16,
        max_groups: int = MAX_GROUPS,
        python: str | None = None,
        worker: Any = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if int(chunk) < 1:
            raise ValueError(f"chunk (samples per Lava run) must be >= 1, got {chunk}")
        self.precision = precision
        self.merge = bool(merge)
        self.chunk = int(chunk)
        self.max_groups = int(max_groups)
        self.python, self.worker = python, worker
        self.remote = python is not None or worker is not None or not lava_importable()
        if not self.remote:
            import_lava()
        elif worker is None:  # the interpreter, or the error naming both fixes, now
            from .remote import find_lava_python

            self.python = str(find_lava_python(python))
        else:
            from .remote import LavaWorker

            if not isinstance(worker, LavaWorker):
                raise TypeError(
                    f"worker must be a spikelab.backends.lava.remote.LavaWorker, got "
                    f"{type(worker).__name__}; to name an interpreter use python='PATH'"
                )

    def worker_options(self) -> dict[str, Any]:
        """The options a worker compiles with (those of the in-process backend)."""
        return {"precision": self.precision, "merge": self.merge, "chunk": self.chunk,
                "max_groups": self.max_groups}  # fmt: skip

    def compile(
        self, net: Network, *, dt: float, record: RecordSpec
    ) -> LavaSimulation | RemoteLavaSimulation:
        """A ``LavaSimulation`` (in this process) or ``remote.RemoteLavaSimulation``."""
        if self.remote:
            from .remote import compile_remote

            return compile_remote(net, dt, record, self.worker_options(), self.worker, self.python)
        plan = build_plan(prepare(net, dt), merge=self.merge, max_groups=self.max_groups)
        fixed = None
        if self.precision == FIXED:
            izh = [
                p for g in plan.groups if isinstance(g, IzhGroup) for p in g.population.split("+")
            ]
            if izh:
                raise UnsupportedFeature(
                    f"Izhikevich population(s) {izh} cannot run in fixed_pt: Lava has no "
                    "fixed-point Izhikevich model, and spikelab's Lava process implements only "
                    "the floating-point update; use precision='floating_pt'"
                )
            from .fixed import quantize

            fixed = quantize(plan)
        return LavaSimulation(plan, record, self.precision, fixed, self.chunk)

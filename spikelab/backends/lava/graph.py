"""Build the Lava process graph of a ``LavaPlan`` (floating_pt or bit-accurate fixed_pt).

Two flavours:

* **backend** (``stock=False``): samples run back to back, ``chunk`` samples per Lava run,
  each ``n_steps + 1`` Lava steps (the pre-step plus T steps, see ``lava_plan``). Input is an
  ``EventSource`` (a compact event list), spikes go to a ``SpikeRecorder`` (bit-packed) per
  neuron process, recorded potentials to a ``VoltageProbe``; neuron and synapse models
  restore their initial state at the first step of every sample (``*Reset`` models in
  ``lava_models``). Only the event list goes in and packed spikes come out per chunk.
* **stock** (``stock=True``, the deployment artifact): Lava's own ``RingBuffer`` source of
  ``n_steps + 1`` columns and sink ``RingBuffer`` per neuron process, Lava's own models
  (plus spikelab's refractory models), one sample per run.

Every process gets its ProcessModel chosen here, explicitly (``exception_proc_model_map``
keyed by process instance), so Lava never scans directories for models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import PyReceiveModelFixed, PyReceiveModelFloat
from lava.proc.io.sink import RingBuffer as SinkBuffer
from lava.proc.io.source import PySendModelFixed, PySendModelFloat
from lava.proc.io.source import RingBuffer as SourceBuffer
from lava.proc.lif.models import PyLifModelBitAcc, PyLifModelFloat
from lava.proc.lif.process import LIF, LIFRefractory
from lava.proc.sparse.models import (
    PyDelaySparseModelBitAcc,
    PyDelaySparseModelFloat,
    PySparseModelBitAcc,
    PySparseModelFloat,
)
from lava.proc.sparse.process import DelaySparse, Sparse
from lava.utils.weightutils import SignMode

from . import io
from . import models as lm
from .plan import INPUT, Block, IzhGroup, LavaPlan, LifGroup, scalar_or_array

FLOAT, FIXED = "floating_pt", "fixed_pt"
_SIGN = {
    "excitatory": SignMode.EXCITATORY,
    "inhibitory": SignMode.INHIBITORY,
    "mixed": SignMode.MIXED,
}
_STOCK = {
    FLOAT: {LIF: PyLifModelFloat, LIFRefractory: lm.PyLifRefractoryModelFloatVec,
            Sparse: PySparseModelFloat, DelaySparse: PyDelaySparseModelFloat,
            SourceBuffer: PySendModelFloat, SinkBuffer: PyReceiveModelFloat},
    FIXED: {LIF: PyLifModelBitAcc, LIFRefractory: lm.PyLifRefractoryModelBitAcc,
            Sparse: PySparseModelBitAcc, DelaySparse: PyDelaySparseModelBitAcc,
            SourceBuffer: PySendModelFixed, SinkBuffer: PyReceiveModelFixed},
}  # fmt: skip
_BACKEND = {
    FLOAT: {LIF: lm.PyLifModelFloatReset, LIFRefractory: lm.PyLifRefractoryModelFloatVec,
            Sparse: lm.PySparseModelFloatReset, DelaySparse: lm.PyDelaySparseModelFloatReset,
            lm.Izhikevich: lm.PyIzhikevichModelFloat, io.EventSource: io.PyEventSourceFloat,
            io.SpikeRecorder: io.PySpikeRecorderFloat,
            io.VoltageProbe: io.PyVoltageProbeFloat},
    FIXED: {LIF: lm.PyLifModelBitAccReset, LIFRefractory: lm.PyLifRefractoryModelBitAcc,
            Sparse: lm.PySparseModelBitAccReset, DelaySparse: lm.PyDelaySparseModelBitAccReset,
            io.EventSource: io.PyEventSourceFixed, io.SpikeRecorder: io.PySpikeRecorderFixed,
            io.VoltageProbe: io.PyVoltageProbeFixed},
}  # fmt: skip


@dataclass(eq=False)
class LavaGraph:
    """The processes of one Lava network, by role."""

    precision: str
    n_steps: int  # T; a sample runs T + 1 Lava steps
    stock: bool
    chunk: int  # samples per Lava run (backend flavour)
    capacity: int  # events the EventSource holds (backend flavour)
    source: Any
    neurons: dict[str, Any]  # group name -> Lava neuron process
    synapses: dict[str, Any]  # block name -> Sparse / DelaySparse
    sinks: dict[str, Any]  # group name -> SpikeRecorder (backend) or sink RingBuffer (stock)
    probes: dict[str, Any] = field(default_factory=dict)  # group name -> VoltageProbe

    @property
    def period(self) -> int:
        return self.n_steps + 1

    def processes(self) -> list[Any]:
        return [self.source, *self.neurons.values(), *self.synapses.values(),
                *self.sinks.values(), *self.probes.values()]  # fmt: skip

    def run_config(self) -> Loihi2SimCfg:
        table = (_STOCK if self.stock else _BACKEND)[self.precision]
        models = {p: table[type(p)] for p in self.processes()}
        return Loihi2SimCfg(select_tag=self.precision, exception_proc_model_map=models)


def _neuron(group: LifGroup | IzhGroup, fixed: Any | None) -> Any:
    shape = (group.size,)
    name = f"neurons:{group.name}"
    if isinstance(group, IzhGroup):
        return lm.Izhikevich(shape=shape, dt=group.dt, hold=1, name=name, **group.params)
    if fixed is None:
        kw = dict(u=0.0, v=group.v_pre, du=scalar_or_array(group.du),
                  dv=scalar_or_array(group.dv), vth=scalar_or_array(group.vth),
                  bias_mant=group.bias, bias_exp=0.0)  # fmt: skip
    else:
        q = fixed.groups[group.name]
        kw = dict(u=0, v=q.v_pre, du=scalar_or_array(q.du), dv=scalar_or_array(q.dv),
                  vth=q.vth, bias_mant=q.bias_mant, bias_exp=q.bias_exp)  # fmt: skip
    if not group.refractory:
        return LIF(shape=shape, name=name, **kw)
    periods = scalar_or_array(group.n_ref)
    proc = LIFRefractory(shape=shape, refractory_period=int(np.max(group.n_ref)), name=name, **kw)
    if not np.isscalar(periods):  # per neuron: spikelab's refractory models read the array
        proc.proc_params.overwrite("refractory_period", np.asarray(periods, dtype=np.int64))
    return proc


def _synapse(block: Block, fixed: Any | None) -> Any:
    kw: dict[str, Any] = dict(
        name=f"synapses:{block.name}", num_message_bits=8 if block.graded else 0
    )
    weights, delays = block.weights, block.delays
    if fixed is not None:
        q = fixed.blocks[block.name]
        weights, delays = q.weights, q.delays
        kw.update(weight_exp=q.weight_exp, num_weight_bits=8, sign_mode=_SIGN[q.sign_mode])
    if delays is None:
        return Sparse(weights=weights, **kw)
    return DelaySparse(weights=weights, delays=delays, **kw)


def _source(plan: LavaPlan, n_steps: int, stock: bool, fixed: bool, capacity: int) -> Any:
    shape = (max(plan.n_inputs, 1),)
    if stock:
        dtype = np.int32 if fixed else np.float64
        src = SourceBuffer(data=np.zeros((shape[0], n_steps + 1), dtype=dtype))
        src.name = "source:input"
        return src
    return io.EventSource(shape=shape, capacity=capacity, name="source:input")


def build_graph(
    plan: LavaPlan,
    n_steps: int,
    precision: str,
    fixed: Any | None = None,
    *,
    stock: bool = False,
    chunk: int = 1,
    capacity: int = 1,
    voltage: dict[str, np.ndarray] | None = None,
) -> LavaGraph:
    """Processes and connections for samples of ``n_steps`` steps (plus the pre-step).

    fixed : the quantised plan (``lava_fixed.quantize``), required for fixed_pt.
    stock : Lava's own source, sinks and models only (one sample per run), for artifacts.
    chunk, capacity : samples per Lava run and events per run (backend flavour).
    voltage : group name -> local indices of neurons whose potential is recorded.
    """
    if (precision == FIXED) != (fixed is not None):
        raise ValueError("fixed_pt needs the quantised plan, floating_pt must not get one")
    period = n_steps + 1
    source = _source(plan, n_steps, stock, fixed is not None, capacity)
    neurons = {g.name: _neuron(g, fixed) for g in plan.groups}
    synapses = _connect_synapses(plan, source, neurons, fixed)
    sinks = _connect_sinks(neurons, stock, period if stock else chunk * period)
    probes = {}
    for name, idx in (voltage or {}).items():
        probes[name] = io.VoltageProbe(var=neurons[name].v, indices=idx, buffer=chunk * period,
                                       name=f"voltage:{name}")  # fmt: skip
    if not stock:
        for proc in [*neurons.values(), *synapses.values()]:
            proc.proc_params["reset_period"] = period
    return LavaGraph(precision, n_steps, stock, chunk, capacity, source, neurons, synapses,
                     sinks, probes)  # fmt: skip


def _connect_synapses(
    plan: LavaPlan, source: Any, neurons: dict[str, Any], fixed: Any | None
) -> dict[str, Any]:
    """One Sparse / DelaySparse per block, wired from its source to its target neurons, plus
    an all-zero tie from the input to each group the blocks leave unreached."""
    synapses = {}
    for block in plan.blocks:
        syn = _synapse(block, fixed)
        pre = source if block.source == INPUT else neurons[block.source]
        pre.s_out.connect(syn.s_in)
        syn.a_out.connect(neurons[block.target].a_in)
        synapses[block.name] = syn
    for name in _unreached(plan):  # Lava compiles only what is connected to one process
        n_tgt = plan.group(name).size
        tie = Sparse(weights=np.zeros((n_tgt, source.s_out.shape[0])), name=f"synapses:tie:{name}")
        source.s_out.connect(tie.s_in)
        tie.a_out.connect(neurons[name].a_in)
        synapses[f"tie:{name}"] = tie
    return synapses


def _connect_sinks(neurons: dict[str, Any], stock: bool, buffer: int) -> dict[str, Any]:
    """A spike sink per neuron process holding ``buffer`` Lava steps: Lava's RingBuffer
    (stock) or spikelab's bit-packed SpikeRecorder (backend)."""
    sinks = {}
    for name, proc in neurons.items():
        if stock:
            sink = SinkBuffer(shape=proc.s_out.shape, buffer=buffer)
            sink.name = f"sink:{name}"
        else:
            sink = io.SpikeRecorder(shape=proc.s_out.shape, buffer=buffer, name=f"sink:{name}")
        proc.s_out.connect(sink.a_in)
        sinks[name] = sink
    return sinks


def _unreached(plan: LavaPlan) -> list[str]:
    """Groups not connected (in either direction) to the input source through blocks."""
    adj: dict[str, set[str]] = {INPUT: set()} | {g.name: set() for g in plan.groups}
    for b in plan.blocks:
        adj[b.source].add(b.target)
        adj[b.target].add(b.source)
    seen, stack = {INPUT}, [INPUT]
    while stack:
        for nxt in adj[stack.pop()] - seen:
            seen.add(nxt)
            stack.append(nxt)
    return [g.name for g in plan.groups if g.name not in seen]

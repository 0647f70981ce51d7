"""Compact input and recording processes for the Lava backend (Lava + numpy only).

Lava moves Var data between the host and a process one value per message (lava 0.10,
``PyLoihiProcessModel._get_var``/``_set_var``), so a dense input buffer or a dense spike
buffer costs more to transfer than the simulation does. These processes keep what crosses
the host boundary small:

* ``EventSource``: the input events of a chunk of samples as a sorted list of codes
  ``global_step * n_channels + channel`` with their values (two numbers per event); each
  step it sends the dense vector of that step's events.
* ``SpikeRecorder``: each step's spikes packed 52 to a float64 (exact: integers < 2^53), in
  a ring of ``buffer`` steps.
* ``VoltageProbe``: the potential of chosen neurons only, read through a RefPort after each
  step (after the reset), in a ring of ``buffer`` steps.
"""

from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort, PyRefPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort, RefPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

BITS = 52  # spikes per float64 word (exact integers up to 2^53)


def n_words(n: int) -> int:
    return max(1, -(-n // BITS))


def unpack(words: np.ndarray, n: int) -> np.ndarray:
    """Bool spikes [..., n] from packed words [..., n_words(n)]."""
    w = np.asarray(words).astype(np.int64)
    bits = (w[..., None] >> np.arange(BITS, dtype=np.int64)) & 1
    return bits.reshape(*w.shape[:-1], -1)[..., :n].astype(bool)


class EventSource(AbstractProcess):
    """Sends the events of step ``time_step - 1 - t0``: ``codes[:n_events]`` are sorted
    ``step * n_channels + channel``, ``values`` the event values (counts or amplitudes)."""

    def __init__(self, *, shape: tuple[int, ...], capacity: int, name: str | None = None) -> None:
        super().__init__(shape=shape, capacity=int(capacity), name=name)
        self.s_out = OutPort(shape=shape)
        self.codes = Var(shape=(int(capacity),), init=np.zeros(int(capacity)))
        self.values = Var(shape=(int(capacity),), init=np.zeros(int(capacity)))
        self.n_events = Var(shape=(1,), init=0)
        self.t0 = Var(shape=(1,), init=0)


class _PyEventSource(PyLoihiProcessModel):
    codes: np.ndarray = LavaPyType(np.ndarray, float)
    values: np.ndarray = LavaPyType(np.ndarray, float)
    n_events: np.ndarray = LavaPyType(np.ndarray, int)
    t0: np.ndarray = LavaPyType(np.ndarray, int)
    out_dtype: ty.Any = float

    def run_spk(self) -> None:
        n_ch = int(self.proc_params["shape"][0])
        step = self.time_step - 1 - int(self.t0[0])
        codes = self.codes[: int(self.n_events[0])]
        lo, hi = np.searchsorted(codes, [step * n_ch, (step + 1) * n_ch])
        out = np.zeros(n_ch)
        np.add.at(out, (codes[lo:hi] - step * n_ch).astype(np.int64), self.values[lo:hi])
        self.s_out.send(out.astype(self.out_dtype))


@implements(proc=EventSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEventSourceFloat(_PyEventSource):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


@implements(proc=EventSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyEventSourceFixed(_PyEventSource):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32)
    out_dtype = np.int32


class SpikeRecorder(AbstractProcess):
    """Packs the spikes arriving at ``a_in`` into ``packed[(time_step - 1) % buffer]``."""

    def __init__(self, *, shape: tuple[int, ...], buffer: int, name: str | None = None) -> None:
        super().__init__(shape=shape, buffer=int(buffer), name=name)
        self.a_in = InPort(shape=shape)
        self.packed = Var(shape=(int(buffer), n_words(shape[0])),
                          init=np.zeros((int(buffer), n_words(shape[0]))))  # fmt: skip


class _PySpikeRecorder(PyLoihiProcessModel):
    packed: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self) -> None:
        spikes = self.a_in.recv() != 0
        n, words = spikes.shape[0], self.packed.shape[1]
        bits = np.zeros(words * BITS, dtype=np.int64)
        bits[:n] = spikes
        row = (self.time_step - 1) % self.packed.shape[0]
        self.packed[row] = (bits.reshape(words, BITS) << np.arange(BITS, dtype=np.int64)).sum(1)


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpikeRecorderFloat(_PySpikeRecorder):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeRecorderFixed(_PySpikeRecorder):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32)


class VoltageProbe(AbstractProcess):
    """Records ``var[indices]`` after every step into ``data[:, (time_step - 1) % buffer]``."""

    def __init__(self, *, var: Var, indices: np.ndarray, buffer: int,
                 name: str | None = None) -> None:  # fmt: skip
        idx = np.asarray(indices, dtype=np.int64)
        super().__init__(indices=idx, buffer=int(buffer), name=name)
        self.state = RefPort(var.shape)
        self.state.connect_var(var)
        self.data = Var(shape=(len(idx), int(buffer)), init=np.zeros((len(idx), int(buffer))))


class _PyVoltageProbe(PyLoihiProcessModel):
    data: np.ndarray = LavaPyType(np.ndarray, float)

    def post_guard(self) -> bool:
        return True

    def run_post_mgmt(self) -> None:
        values = np.asarray(self.state.read())
        row = (self.time_step - 1) % self.data.shape[1]
        self.data[:, row] = values[self.proc_params["indices"]]


@implements(proc=VoltageProbe, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyVoltageProbeFloat(_PyVoltageProbe):
    state: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, float)


@implements(proc=VoltageProbe, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyVoltageProbeFixed(_PyVoltageProbe):
    state: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, np.int32)

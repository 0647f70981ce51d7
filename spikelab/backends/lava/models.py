"""Lava process models (and one process) that Lava 0.10 does not ship, used by spikelab.

This module imports only Lava and numpy (never spikelab), so a deployment artifact
(``spikelab.export.lava``) carries a verbatim copy of it and runs without spikelab.

* ``PyLifRefractoryModelFloatVec``: Lava's floating-point ``PyLifRefractoryModelFloat``,
  operation for operation, but accepting per-neuron ``dv`` and refractory periods (Lava's
  indexes v by the non-refractory neurons, which fails on an array dv).
* ``PyLifRefractoryModelBitAcc``: Loihi's bit-accurate fixed-point arithmetic for Lava's
  ``LIFRefractory`` (Lava ships only a floating-point model for it): the arithmetic of
  Lava's ``PyLifModelBitAcc`` (12-bit decays, 24-bit u and v, activation and threshold
  MSB-aligned by 6 bits) plus the refractory rule of Lava's floating-point model: after a
  spike at time step t, v is reset to 0 and held there during steps t+1 ... t+period, while
  u keeps integrating.
  In both, ``proc_params["refractory_period"]`` may be a per-neuron array (0: none).
* ``Izhikevich`` / ``PyIzhikevichModelFloat``: Izhikevich (2003) neurons with a decaying
  synaptic current, integrated exactly as spikelab's reference kernel (docs/semantics.md):
  two dt/2 half-steps of v with the same u, one step of u with the new v, then the spike
  test ``v >= v_peak``. Loihi 2 runs such programmable neuron models in microcode; this is
  the floating-point version only. ``hold`` skips that many leading steps (the pre-step that
  compensates Lava's one-step synaptic latency).
* ``*Reset`` models: Lava's LIF, Sparse and DelaySparse models, unchanged, plus one rule:
  when the process has ``proc_params["reset_period"] = P``, every P-th time step (1, P + 1,
  2P + 1, ...) starts by restoring the state the process was built with. Samples then run
  back to back in one Lava run (Lava moves Var data to and from the host one value per
  message, so resetting through ``Var.set`` would cost more than the simulation).
"""

from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import (
    AbstractPyLifModelFixed,
    PyLifModelBitAcc,
    PyLifModelFloat,
    PyLifRefractoryModelFloat,
)
from lava.proc.lif.process import LIF, LIFRefractory
from lava.proc.sparse.models import (
    PyDelaySparseModelBitAcc,
    PyDelaySparseModelFloat,
    PySparseModelBitAcc,
    PySparseModelFloat,
)
from lava.proc.sparse.process import DelaySparse, Sparse

__all__ = [
    "Izhikevich",
    "PyDelaySparseModelBitAccReset",
    "PyDelaySparseModelFloatReset",
    "PyIzhikevichModelFloat",
    "PyLifModelBitAccReset",
    "PyLifModelFloatReset",
    "PyLifRefractoryModelBitAcc",
    "PyLifRefractoryModelFloatVec",
    "PySparseModelBitAccReset",
    "PySparseModelFloatReset",
]


class Resettable:
    """Mixin: restore ``reset_vars`` to their initial values every ``reset_period`` steps."""

    reset_vars: tuple[str, ...] = ()

    def maybe_reset(self) -> None:
        period = self.proc_params.get("reset_period", 0)  # type: ignore[attr-defined]
        if not period:
            return
        if not hasattr(self, "_initial"):
            self._initial = {k: np.copy(getattr(self, k)) for k in self.reset_vars}
        if (self.time_step - 1) % period == 0:  # type: ignore[attr-defined]
            for key, value in self._initial.items():
                getattr(self, key)[...] = value


def _periods(model: ty.Any, spiked: np.ndarray) -> ty.Any:
    period = model.refractory_period
    return period[spiked] if np.ndim(period) else period


@implements(proc=LIFRefractory, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLifRefractoryModelFloatVec(Resettable, PyLifRefractoryModelFloat):
    """Lava's floating-point refractory LIF with per-neuron ``dv`` and refractory periods."""

    reset_vars = ("u", "v", "refractory_period_end")

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        self.u[:] = self.u * (1 - self.du)
        self.u[:] += activation_in
        active = self.refractory_period_end < self.time_step
        dv = self.dv[active] if np.ndim(self.dv) else self.dv
        self.v[active] = self.v[active] * (1 - dv) + (self.u[active] + self.bias_mant[active])

    def process_spikes(self, spike_vector: np.ndarray) -> None:
        self.refractory_period_end[spike_vector] = self.time_step + _periods(self, spike_vector)
        self.v[spike_vector] = 0

    def run_spk(self) -> None:
        self.maybe_reset()
        super().run_spk()


@implements(proc=LIFRefractory, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyLifRefractoryModelBitAcc(Resettable, AbstractPyLifModelFixed):
    """Bit-accurate (Loihi fixed point) LIF with an absolute refractory period.

    Precisions as in Lava's ``PyLifModelBitAcc``: du, dv unsigned 12 bit; u, v signed 24 bit;
    bias_mant signed 13 bit with bias_exp; vth unsigned 17 bit (compared as vth << 6).
    """

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    vth: int = LavaPyType(int, np.int32, precision=17)
    refractory_period_end: np.ndarray = LavaPyType(np.ndarray, int)
    reset_vars = ("u", "v", "refractory_period_end")

    def __init__(self, proc_params: dict[str, ty.Any]) -> None:
        super().__init__(proc_params)
        self.effective_vth = 0
        self.refractory_period = proc_params["refractory_period"]

    def scale_threshold(self) -> None:
        self.effective_vth = np.left_shift(self.vth, self.vth_shift)
        self.isthrscaled = True

    def spiking_activation(self) -> np.ndarray:
        return self.v > self.effective_vth

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        held = self.refractory_period_end >= self.time_step
        v_held = self.v[held].copy()
        super().subthr_dynamics(activation_in)  # u for all neurons, v for all ...
        self.v[held] = v_held  # ... but refractory neurons keep their reset potential

    def run_spk(self) -> None:
        self.maybe_reset()
        a_in_data = self.a_in.recv()
        self.scale_bias()
        if not self.isthrscaled:
            self.scale_threshold()
        self.subthr_dynamics(activation_in=a_in_data)
        s_out = self.spiking_activation()
        self.refractory_period_end[s_out] = self.time_step + _periods(self, s_out)
        self.v[s_out] = 0
        self.s_out.send(s_out)


def _with_reset(base: type, proc: type, tags: tuple[str, ...], names: tuple[str, ...]) -> type:
    """``base`` (a Lava model) that first restores ``names`` every reset period."""

    def run_spk(self: ty.Any) -> None:
        self.maybe_reset()
        base.run_spk(self)

    cls = type(f"{base.__name__}Reset", (Resettable, base),
               {"reset_vars": names, "run_spk": run_spk, "__module__": __name__})  # fmt: skip
    return implements(proc=proc, protocol=LoihiProtocol)(requires(CPU)(tag(*tags)(cls)))


PyLifModelFloatReset = _with_reset(PyLifModelFloat, LIF, ("floating_pt",), ("u", "v"))
PyLifModelBitAccReset = _with_reset(PyLifModelBitAcc, LIF, ("fixed_pt",), ("u", "v"))
PySparseModelFloatReset = _with_reset(PySparseModelFloat, Sparse, ("floating_pt",), ("a_buff",))
PySparseModelBitAccReset = _with_reset(PySparseModelBitAcc, Sparse, ("fixed_pt",), ("a_buff",))
PyDelaySparseModelFloatReset = _with_reset(
    PyDelaySparseModelFloat, DelaySparse, ("floating_pt",), ("a_buff",)
)
PyDelaySparseModelBitAccReset = _with_reset(
    PyDelaySparseModelBitAcc, DelaySparse, ("fixed_pt",), ("a_buff",)
)


class Izhikevich(AbstractProcess):
    """Izhikevich (2003) neurons with an exponentially decaying synaptic current.

    Per step of dt (ms): ``i = beta i + a_in``; ``I = bias + i``; v takes two dt/2 half-steps
    of ``0.04 v^2 + 5 v + 140 - u + I`` (mV/ms), u one step of ``a (b v - u)``; a spike when
    ``v >= v_peak`` sets ``v = c`` and ``u = u + d``. Parameters are per-neuron arrays (a in
    1/ms, b dimensionless, c and v_peak in mV, d and bias in mV/ms, beta per step).
    """

    def __init__(
        self,
        *,
        shape: tuple[int, ...],
        a: np.ndarray,
        b: np.ndarray,
        c: np.ndarray,
        d: np.ndarray,
        v_peak: np.ndarray,
        bias: np.ndarray,
        beta: np.ndarray,
        v_init: np.ndarray,
        dt: float,
        hold: int = 0,
        name: str | None = None,
    ) -> None:
        super().__init__(shape=shape, dt=float(dt), name=name)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        params = (("a", a), ("b", b), ("c", c), ("d", d), ("v_peak", v_peak), ("bias", bias),
                  ("beta", beta))  # fmt: skip
        for key, value in params:
            setattr(self, key, Var(shape=shape, init=np.asarray(value, dtype=float)))
        v0 = np.asarray(v_init, dtype=float)
        self.v = Var(shape=shape, init=v0)
        self.u = Var(shape=shape, init=np.asarray(b, dtype=float) * v0)
        self.i_syn = Var(shape=shape, init=np.zeros(shape))
        self.hold = Var(shape=(1,), init=int(hold))


@implements(proc=Izhikevich, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyIzhikevichModelFloat(Resettable, PyLoihiProcessModel):
    """Floating-point Izhikevich model, the same arithmetic as spikelab's numba kernel."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    a: np.ndarray = LavaPyType(np.ndarray, float)
    b: np.ndarray = LavaPyType(np.ndarray, float)
    c: np.ndarray = LavaPyType(np.ndarray, float)
    d: np.ndarray = LavaPyType(np.ndarray, float)
    v_peak: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    i_syn: np.ndarray = LavaPyType(np.ndarray, float)
    hold: np.ndarray = LavaPyType(np.ndarray, int)
    reset_vars = ("v", "u", "i_syn", "hold")

    def __init__(self, proc_params: dict[str, ty.Any]) -> None:
        super().__init__(proc_params)
        self.dt = float(proc_params["dt"])

    def run_spk(self) -> None:
        self.maybe_reset()
        a_in = self.a_in.recv()
        if self.hold[0] > 0:
            self.hold[0] -= 1
            self.s_out.send(np.zeros(self.v.shape))
            return
        dt = self.dt
        half = 0.5 * dt
        self.i_syn[:] = self.beta * self.i_syn + a_in
        current = self.bias + self.i_syn
        v = self.v.copy()
        u = self.u.copy()
        v = v + half * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
        v = v + half * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
        u = u + dt * self.a * (self.b * v - u)
        spiked = v >= self.v_peak
        v[spiked] = self.c[spiked]
        u[spiked] = u[spiked] + self.d[spiked]
        self.v[:] = v
        self.u[:] = u
        self.s_out.send(spiked)

"""Neuron models as plain data: frozen, keyword-only dataclasses of per-neuron arrays.

Every parameter is a scalar (homogeneous population) or a 1-D array with one entry per
neuron (heterogeneous population). The discrete-time update each backend implements is
specified in ``docs/semantics.md``; the equations are repeated in each class docstring.

Units: time in ms, potentials in mV. Synaptic weights onto LIF neurons are in mV (the
jump of the synaptic variable per arriving spike); onto Izhikevich neurons in the model's
current units (mV/ms, as in Izhikevich 2003).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

ArrayLike = float | np.ndarray


def _as_param(name: str, value: Any) -> np.ndarray:
    """Convert a parameter to a read-only float64 array (0-d or 1-d)."""
    arr = np.array(value, dtype=np.float64)
    if arr.ndim > 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D per-neuron array, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}; replace NaN/inf values")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, kw_only=True, eq=False)
class NeuronModel:
    """Base class: validation and per-neuron expansion shared by all models."""

    kind: ClassVar[str] = "base"

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _as_param(f.name, getattr(self, f.name)))
        self._validate()

    def _validate(self) -> None:  # pragma: no cover - overridden
        pass

    def param_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))

    def sizes(self) -> set[int]:
        """The lengths of the per-neuron arrays among the parameters (empty if homogeneous)."""
        return {int(getattr(self, n).shape[0]) for n in self.param_names() if getattr(self, n).ndim}

    def expand(self, n: int) -> dict[str, np.ndarray]:
        """Every parameter broadcast to a float64 array of length ``n``."""
        out = {}
        for name in self.param_names():
            v = getattr(self, name)
            if v.ndim and v.shape[0] != n:
                raise ValueError(
                    f"{name} has {v.shape[0]} values but the population has {n} neurons; "
                    "give a scalar or one value per neuron"
                )
            out[name] = np.broadcast_to(v, (n,)).astype(np.float64)
        return out

    def to_dict(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self, name)) for name in self.param_names()}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(np.array_equal(getattr(self, n), getattr(other, n)) for n in self.param_names())

    def __hash__(self) -> int:  # arrays are read-only, so hashing the bytes is safe
        return hash((self.kind, *(getattr(self, n).tobytes() for n in self.param_names())))


def _require_positive(model: NeuronModel, name: str, allow_zero: bool = False) -> None:
    v = getattr(model, name)
    bad = v < 0 if allow_zero else v <= 0
    if np.any(bad):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {float(np.min(v))}")


@dataclass(frozen=True, kw_only=True, eq=False)
class LIF(NeuronModel):
    """Leaky integrate-and-fire neuron with an exponential (or delta) current synapse.

    Per step of length dt (ms), with alpha = exp(-dt/tau_mem), beta = exp(-dt/tau_syn)
    (beta = 0 when tau_syn = 0, a delta synapse):

        i[t] = beta * i[t-1] + I_in[t]                          (mV)
        v[t] = v_rest + alpha * (v[t-1] - v_rest) + (1 - alpha) * bias + i[t]
        spike if v[t] > v_th;  then v <- v_reset for the next n_ref = round(t_ref/dt) steps

    Parameters
    ----------
    tau_mem : membrane time constant, ms (> 0).
    tau_syn : synaptic current time constant, ms (>= 0; 0 means a delta synapse).
    v_rest : resting potential, mV.
    v_reset : reset potential, mV.
    v_th : firing threshold, mV (must exceed v_reset).
    t_ref : absolute refractory period, ms (>= 0), rounded to whole steps.
    bias : bias drive, mV: the steady-state depolarisation above v_rest it produces
        (R * I_bias); the membrane relaxes towards v_rest + bias exactly exponentially.
    """

    kind: ClassVar[str] = "LIF"

    tau_mem: ArrayLike = 20.0
    tau_syn: ArrayLike = 0.0
    v_rest: ArrayLike = 0.0
    v_reset: ArrayLike = 0.0
    v_th: ArrayLike = 1.0
    t_ref: ArrayLike = 0.0
    bias: ArrayLike = 0.0

    def _validate(self) -> None:
        _require_positive(self, "tau_mem")
        _require_positive(self, "tau_syn", allow_zero=True)
        _require_positive(self, "t_ref", allow_zero=True)
        if np.any(np.asarray(self.v_th) <= np.asarray(self.v_reset)):
            raise ValueError(
                f"v_th must exceed v_reset, got v_th={self.v_th!r}, v_reset={self.v_reset!r}"
            )

    def smallest_time_constant(self) -> float:
        taus = [float(np.min(self.tau_mem))]
        if np.any(self.tau_syn > 0):
            taus.append(float(np.min(self.tau_syn[self.tau_syn > 0])))
        return min(taus)

    @staticmethod
    def from_decay(decay: float, *, dt: float = 1.0, v_th: ArrayLike = 1.0, **kwargs: Any) -> LIF:
        """A delta-synapse LIF given its per-step membrane decay factor (0 < decay < 1).

        ``v[t] = decay * v[t-1] + I_in[t]`` is the form of Lin et al. 2025; this returns
        the LIF with ``tau_mem = -dt / ln(decay)`` that computes exactly that.
        """
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        return LIF(tau_mem=-dt / math.log(decay), tau_syn=0.0, v_th=v_th, **kwargs)


@dataclass(frozen=True, kw_only=True, eq=False)
class Izhikevich(NeuronModel):
    """Izhikevich (2003) simple model, integrated as in the paper's reference code.

        v' = 0.04 v^2 + 5 v + 140 - u + I,   u' = a (b v - u),   I = bias + i[t]
        if v >= v_peak:  v <- c,  u <- u + d

    Per step of dt (ms): i[t] as for LIF (beta from tau_syn); v takes two half-steps of
    dt/2 with the same u, then u one step of dt with the new v; then the spike test.

    Parameters
    ----------
    a : recovery time scale, 1/ms.
    b : recovery sensitivity to v, dimensionless.
    c : after-spike reset of v, mV.
    d : after-spike increment of u, mV/ms.
    v_peak : spike cut-off, mV (30 in the paper).
    bias : constant input current I, mV/ms.
    tau_syn : synaptic current time constant, ms (0: input lasts one step, as in 2003).
    v_init : initial membrane potential, mV; u starts at b * v_init.
    """

    kind: ClassVar[str] = "Izhikevich"

    a: ArrayLike = 0.02
    b: ArrayLike = 0.2
    c: ArrayLike = -65.0
    d: ArrayLike = 8.0
    v_peak: ArrayLike = 30.0
    bias: ArrayLike = 0.0
    tau_syn: ArrayLike = 0.0
    v_init: ArrayLike = -65.0

    def _validate(self) -> None:
        _require_positive(self, "a")
        _require_positive(self, "tau_syn", allow_zero=True)
        if np.any(np.asarray(self.c) >= np.asarray(self.v_peak)):
            raise ValueError(f"c (reset) must be below v_peak, got c={self.c!r}")

    def smallest_time_constant(self) -> float:
        taus = [1.0 / float(np.max(self.a))]
        if np.any(self.tau_syn > 0):
            taus.append(float(np.min(self.tau_syn[self.tau_syn > 0])))
        return min(taus)


NEURON_MODELS: dict[str, type[NeuronModel]] = {"LIF": LIF, "Izhikevich": Izhikevich}


def model_from_dict(kind: str, params: dict[str, Any]) -> NeuronModel:
    """Rebuild a neuron model from its ``kind`` and parameters (the save/load registry)."""
    try:
        cls = NEURON_MODELS[kind]
    except KeyError:
        raise ValueError(
            f"unknown neuron model {kind!r}; known models: {sorted(NEURON_MODELS)}"
        ) from None
    return cls(**params)


# Izhikevich 2003, Fig. 2 / Table: named firing patterns (a, b, c, d).
IZHIKEVICH_PATTERNS: dict[str, dict[str, float]] = {
    "regular_spiking": dict(a=0.02, b=0.2, c=-65.0, d=8.0),
    "intrinsically_bursting": dict(a=0.02, b=0.2, c=-55.0, d=4.0),
    "chattering": dict(a=0.02, b=0.2, c=-50.0, d=2.0),
    "fast_spiking": dict(a=0.1, b=0.2, c=-65.0, d=2.0),
    "low_threshold_spiking": dict(a=0.02, b=0.25, c=-65.0, d=2.0),
}

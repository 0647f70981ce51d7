"""The neuron model of a builder's populations: the choice (``neuron``), the Izhikevich
(2003) parameter draws, parameter overrides (``neuron_params``) and the weight units.

Unit conversion (docs/reservoirs.md). A builder's amplitudes A (``input_weight``, the Maass
amplitudes times ``weight_scale``, ``bias_range``) are mV of steady drive: one event per
step, through the synaptic filter (beta = exp(-dt/tau_syn)), holds a LIF at
v_rest + A / (1 - beta), so it fires when A / (1 - beta) > v_th - v_rest. Onto a LIF cell an
event is a jump A * (1 - exp(-dt/tau_mem)) mV of the synaptic variable. An Izhikevich cell
takes a current (mV/ms) and fires (tonically) above its rheobase ``rheobase(a, b)``: 3.7975
mV/ms for the excitatory cell (a = 0.02, b = 0.2); an event onto it is the current
A * 3.7975 / v_th, so the same A starts an excitatory cell of either model firing at the
same event rate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..neurons import Izhikevich, NeuronModel

NEURONS = ("lif", "izhikevich")
POPULATIONS = ("exc", "inh")
RS_A, RS_B = 0.02, 0.2  # a and b of the excitatory (regular-spiking) Izhikevich cell


def rheobase(a: float, b: float) -> float:
    """The smallest constant current (mV/ms) that makes an Izhikevich (2003) cell fire
    tonically: where its resting state (v' = 0, u = b v) loses stability. For a < b that is
    the Hopf point, trace 0 of the Jacobian: v = (a - 5) / 0.08; otherwise the saddle-node
    v = -(5 - b) / 0.08 where the rest meets the threshold. I = -(0.04 v^2 + (5 - b) v + 140)."""
    v = (a - 5.0) / 0.08 if a < b else -(5.0 - b) / 0.08
    return -(0.04 * v * v + (5.0 - b) * v + 140.0)


IZH_RHEOBASE = rheobase(RS_A, RS_B)  # 3.7975 mV/ms


def neuron_choice(neuron: str | Mapping[str, str]) -> dict[str, str]:
    """``neuron`` ("lif", "izhikevich" or {"exc": ..., "inh": ...}) as one model a
    population; a missing population of a mapping is "lif"."""
    if isinstance(neuron, str):
        choice = dict.fromkeys(POPULATIONS, neuron)
    elif isinstance(neuron, Mapping):
        extra = sorted(set(neuron) - set(POPULATIONS))
        if extra:
            raise ValueError(
                f"neuron has unknown population {extra[0]!r}; use keys 'exc' and 'inh', "
                "e.g. neuron={'exc': 'izhikevich', 'inh': 'lif'}"
            )
        choice = {p: neuron.get(p, "lif") for p in POPULATIONS}
    else:
        raise TypeError(f"neuron must be a str or a mapping, got {neuron!r}")
    for pop, name in choice.items():
        if name not in NEURONS:
            raise ValueError(
                f"neuron {name!r} (population {pop!r}) is unknown; use 'lif' or 'izhikevich'"
            )
    return choice


def weight_unit(neuron: str, *, dt: float, tau_mem: float, v_th: float) -> float:
    """The factor from a drive A (mV of steady drive, see the module docstring) to the
    weight of one event onto a ``neuron`` cell: mV for LIF, mV/ms for Izhikevich."""
    if neuron == "lif":
        return 1.0 - math.exp(-dt / tau_mem)
    return IZH_RHEOBASE / v_th


def izhikevich_params(kind: str, r: np.ndarray) -> dict[str, Any]:
    """Izhikevich (2003) heterogeneity, r ~ U(0, 1) per neuron: excitatory (regular to
    chattering) a = 0.02, b = 0.2, c = -65 + 15 r^2, d = 8 - 6 r^2; inhibitory (fast to
    low-threshold spiking) a = 0.02 + 0.08 r, b = 0.25 - 0.05 r, c = -65, d = 2."""
    if kind == "exc":
        return dict(a=RS_A, b=RS_B, c=-65.0 + 15.0 * r**2, d=8.0 - 6.0 * r**2)
    return dict(a=0.02 + 0.08 * r, b=0.25 - 0.05 * r, c=-65.0, d=2.0)


def izhikevich_population_model(
    rng: np.random.Generator,
    kind: str,
    n: int,
    *,
    tau_syn: float,
    bias_range: tuple[float, float],
) -> Izhikevich:
    """An Izhikevich model of ``n`` cells of ``kind`` ("exc"/"inh"), drawn in this order:
    r per neuron (``izhikevich_params``), bias uniform in ``bias_range`` (mV/ms)."""
    params = izhikevich_params(kind, rng.random(n))
    bias = rng.uniform(*bias_range, n)
    return Izhikevich(**params, bias=bias, tau_syn=tau_syn, v_init=-65.0)


def with_params(
    model: NeuronModel, neuron_params: Mapping[str, Any] | None, pop: str
) -> NeuronModel:
    """``model`` with ``neuron_params`` replacing its parameters: a flat mapping applies to
    every population, {"exc": {...}, "inh": {...}} to one each."""
    if not neuron_params:
        return model
    if set(neuron_params) <= set(POPULATIONS):
        neuron_params = neuron_params.get(pop) or {}
    valid = model.param_names()
    bad = sorted(k for k in neuron_params if k not in valid)
    if bad:
        raise ValueError(
            f"neuron_params key {bad[0]!r} is not a {model.kind} parameter (population "
            f"{pop!r}); use {', '.join(valid)} or per population {{'exc': {{...}}}}"
        )
    return dataclasses.replace(model, **neuron_params)

"""Resource report: what a network needs on a neuromorphic target (Loihi 2 for now).

``resource_report(net, target="loihi2")`` counts neurons, synapses, fan-in and fan-out,
weight and delay bits, and estimates how many Loihi 2 neuro-cores (and chips) the network
needs, or says why it does not fit. numpy only: no Lava needed.

Loihi 2 limits (cited):

* 128 neuro-cores per chip, up to 1 million neurons and 120 million synapses per chip,
  192 KB of memory per neuro-core allocated flexibly between neuron state, synapses and
  routing (Intel Labs, "Taking Neuromorphic Computing to the Next Level with Loihi 2",
  technology brief, 2021; its comparison table: Loihi 208 KB fixed vs Loihi 2 192 KB
  flexible per core). Neurons per core: 1M / 128 = 8,192.
* Bit widths of the neuron and synapse state, from Lava 0.10's bit-accurate models
  (lava/proc/lif/models.py ``PyLifModelBitAcc``, lava/proc/sparse/models.py): u and v 24 bit,
  du and dv 12 bit, vth 17 bit, bias 13-bit mantissa + 3-bit exponent, weights 8-bit
  mantissa + shared exponent, synaptic delays 6 bit (0..63 steps).

How cores are estimated (Intel does not publish the exact memory encoding, so this is an
estimate under the stated costs, ``Loihi2Limits``): every Lava process (neuron group) gets
its own cores, as Lava's compiler allocates them; a group of n neurons with S incoming
synapses needs max(ceil(n / 8192), ceil((n * neuron_bytes + S * synapse_bytes + n_axons *
axon_bytes) / 192 KB)) cores, its synapses stored in the smaller of a sparse encoding
(weight + target index + delay bits per synapse) and a dense one (weight bits per
source-target pair).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..backends.lava.plan import Block, IzhGroup, LavaPlan, LifGroup, build_plan
from ..ir import FlatCSR, FlatNetwork, flatten
from ..network import Network


@dataclass(frozen=True)
class Loihi2Limits:
    """Per-core limits (cited in the module docstring) and the byte costs assumed here."""

    cores_per_chip: int = 128
    neurons_per_core: int = 8192
    memory_per_core_bytes: int = 192 * 1024
    weight_bits: int = 8
    delay_bits: int = 6
    # assumed storage costs (estimates)
    lif_state_bytes: float = 8.0  # u, v (24 bit each), bias mantissa + exponent (16 bit)
    refractory_bytes: float = 1.0  # refractory counter
    per_neuron_decay_bytes: float = 6.0  # du, dv (12 bit each) and vth (17 -> 24 bit)
    izhikevich_state_bytes: float = 21.0  # v, u, i (24 bit) + a, b, c, d, v_peak, bias
    axon_bytes: float = 4.0  # one routing entry per presynaptic source of the core

    def synapse_bits_sparse(self, uses_delay: bool) -> int:
        index_bits = math.ceil(math.log2(self.neurons_per_core))
        return self.weight_bits + index_bits + (self.delay_bits if uses_delay else 0)


@dataclass(frozen=True)
class GroupUsage:
    name: str
    kind: str
    neurons: int
    synapses_in: int
    presynaptic_sources: int
    memory_bytes: float
    cores: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceReport:
    """What a network needs on ``target``; ``fits`` is False with ``reasons`` otherwise."""

    target: str
    neurons: int
    inputs: int
    synapses: int
    input_synapses: int
    recurrent_synapses: int
    max_fan_in: int
    max_fan_out: int
    max_input_fan_out: int
    max_delay_steps: int
    weight_bits: str
    groups: tuple[GroupUsage, ...]
    cores: int
    chips: int
    fits: bool
    reasons: tuple[str, ...] = ()
    quantization: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["groups"] = [asdict(g) for g in self.groups]
        return out

    def to_text(self) -> str:
        rows = [
            ("target", self.target),
            ("neurons", f"{self.neurons:,}"),
            ("input channels", f"{self.inputs:,}"),
            ("synapses", f"{self.synapses:,} ({self.input_synapses:,} input, "
                         f"{self.recurrent_synapses:,} recurrent)"),
            ("max fan-in (synapses per neuron)", f"{self.max_fan_in:,}"),
            ("max fan-out (per neuron)", f"{self.max_fan_out:,}"),
            ("max fan-out (per input channel)", f"{self.max_input_fan_out:,}"),
            ("max synaptic delay", f"{self.max_delay_steps} steps"),
            ("weights", self.weight_bits),
            ("neuro-cores", f"{self.cores} (of {self.limits.get('cores_per_chip')} per chip; "
                            f"{self.chips} chip{'s' if self.chips != 1 else ''})"),
            ("fits", "yes" if self.fits else "NO"),
        ]  # fmt: skip
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines.append("")
        lines.append(
            f"{'group':<14}{'kind':<12}{'neurons':>9}{'syn in':>10}{'sources':>9}"
            f"{'KB':>9}{'cores':>7}  notes"
        )
        for g in self.groups:
            lines.append(
                f"{g.name:<14}{g.kind:<12}{g.neurons:>9,}{g.synapses_in:>10,}"
                f"{g.presynaptic_sources:>9,}{g.memory_bytes / 1024:>9.1f}{g.cores:>7}"
                f"  {'; '.join(g.notes)}"
            )
        for r in self.reasons:
            lines.append(f"does not fit: {r}")
        return "\n".join(lines)


def _block_bytes(b: Block, lim: Loihi2Limits) -> float:
    sparse = b.n_synapses * lim.synapse_bits_sparse(b.delays is not None) / 8
    dense = b.weights.shape[0] * b.weights.shape[1] * lim.weight_bits / 8
    return min(sparse, dense) if b.delays is None else sparse


def _group_usage(plan: LavaPlan, g: LifGroup | IzhGroup, lim: Loihi2Limits,
                 reasons: list[str]) -> GroupUsage:  # fmt: skip
    notes: list[str] = []
    if isinstance(g, IzhGroup):
        state = lim.izhikevich_state_bytes
        notes.append("custom microcoded neuron (Lava: floating point only)")
    else:
        state = lim.lif_state_bytes + (lim.refractory_bytes if g.refractory else 0.0)
        if g.heterogeneous:
            state += lim.per_neuron_decay_bytes
            notes.append("per-neuron du/dv/vth: needs a programmable neuron, not stock LIF")
        if g.refractory:
            notes.append("refractory")
    blocks = [b for b in plan.blocks if b.target == g.name]
    syn = sum(b.n_synapses for b in blocks)
    sources = sum(int(np.count_nonzero(np.diff(b.weights.tocsc().indptr))) for b in blocks)
    memory = g.size * state + sum(_block_bytes(b, lim) for b in blocks) + sources * lim.axon_bytes
    cores = max(
        math.ceil(g.size / lim.neurons_per_core), math.ceil(memory / lim.memory_per_core_bytes), 1
    )
    fan_in = np.zeros(g.size, dtype=np.int64)
    for b in blocks:
        fan_in += np.diff(b.weights.indptr)
    worst = float(fan_in.max(initial=0)) * lim.synapse_bits_sparse(True) / 8 + state
    if worst > lim.memory_per_core_bytes:
        reasons.append(
            f"group {g.name!r}: one neuron's {int(fan_in.max())} incoming synapses "
            f"need {worst / 1024:.0f} KB, more than a core's "
            f"{lim.memory_per_core_bytes // 1024} KB"
        )
    return GroupUsage(g.name, g.kind, g.size, syn, sources, memory, cores, tuple(notes))


def _fan_out(csr: FlatCSR) -> int:
    return int(np.diff(csr.indptr).max(initial=0))


def _weight_bits(plan: LavaPlan) -> tuple[str, dict[str, Any]]:
    if any(isinstance(g, IzhGroup) for g in plan.groups):
        return "8-bit mantissa + exponent (not quantised: Izhikevich runs in floating point)", {}
    from ..backends.lava.fixed import quantize

    q = quantize(plan)
    exps = sorted({v["weight_exp"] for v in q.report["blocks"].values()})
    modes = sorted({v["sign_mode"] for v in q.report["blocks"].values()})
    s = q.report["summary"]
    text = (
        f"8-bit mantissa, shared exponent per block {exps} ({', '.join(modes)}); "
        f"max error {s['weight_rel_err_of_peak_max']:.2%} of the block's largest weight"
    )
    return text, q.report


def _max_fan_in(flat: FlatNetwork) -> int:
    """Most synapses (input and recurrent) onto one neuron."""
    fan_in = np.bincount(flat.inputs.indices, minlength=flat.n_neurons) + np.bincount(
        flat.recurrent.indices, minlength=flat.n_neurons
    )
    return int(fan_in.max(initial=0))


def _max_delay(flat: FlatNetwork, plan: LavaPlan, lim: Loihi2Limits, reasons: list[str]) -> int:
    """Longest synaptic delay in steps; appends to ``reasons`` when Loihi 2 cannot hold it."""
    max_delay = max([int(c.delays.max()) for c in (flat.inputs, flat.recurrent) if c.nnz] or [0])
    max_lava = max((b.max_delay for b in plan.blocks), default=0)  # see lava_plan: "Time"
    if max_lava > 2**lim.delay_bits - 1:
        reasons.append(f"a delay of {max_delay} steps exceeds Loihi 2's 6-bit synaptic delay")
    return max_delay


def _chip_reasons(cores: int, chips: int, lim: Loihi2Limits) -> tuple[str, ...]:
    """Why the network needs more than one chip (empty when one is enough)."""
    return (
        ()
        if chips == 1
        else (
            f"needs {cores} cores, more than one chip's "
            f"{lim.cores_per_chip} (multi-chip systems exist)",
        )
    )


def resource_report(net: Network, target: str = "loihi2", *, dt: float | None = None,
                    limits: Loihi2Limits | None = None) -> ResourceReport:  # fmt: skip
    """Count what ``net`` needs and estimate the Loihi 2 neuro-cores (see module doc).

    dt : step in ms for the quantisation (default: the network's ``dt``, else 1).
    """
    if target.lower() not in ("loihi2", "loihi 2", "loihi-2"):
        raise ValueError(f"unknown target {target!r}; known targets: 'loihi2'")
    lim = limits or Loihi2Limits()
    dt = net.resolve_dt(dt)
    flat = flatten(net, dt)
    plan = build_plan(flat, merge=False, max_groups=10**6)  # one process per population
    reasons: list[str] = []
    groups = tuple(_group_usage(plan, g, lim, reasons) for g in plan.groups)
    max_delay = _max_delay(flat, plan, lim, reasons)
    cores = sum(g.cores for g in groups)
    chips = max(1, math.ceil(cores / lim.cores_per_chip))
    weight_text, quant = _weight_bits(plan)
    return ResourceReport(
        target="loihi2",
        neurons=flat.n_neurons,
        inputs=flat.n_inputs,
        synapses=flat.inputs.nnz + flat.recurrent.nnz,
        input_synapses=flat.inputs.nnz,
        recurrent_synapses=flat.recurrent.nnz,
        max_fan_in=_max_fan_in(flat),
        max_fan_out=_fan_out(flat.recurrent),
        max_input_fan_out=_fan_out(flat.inputs),
        max_delay_steps=max_delay,
        weight_bits=weight_text,
        groups=groups,
        cores=cores,
        chips=chips,
        fits=not reasons and chips == 1,
        reasons=tuple(reasons) + _chip_reasons(cores, chips, lim),
        quantization=quant.get("summary", {}),
        limits=asdict(lim),
    )

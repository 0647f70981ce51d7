"""Readable networks: one-line reprs of populations, projections and networks, and
``Network.summary()``'s table (populations, inputs, projections, memory).

Never prints an array: a parameter shows as its value, or ``min..max`` when it varies
across neurons. Numpy only; never imports ``spikelab.network`` (which imports this module
in its ``__repr__`` and ``summary``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .network import InputPort, Network, Population, Projection

SHOWN_NAMES = 4  # a repr lists at most this many populations by name
STATE_VARIABLES = 3  # per neuron and sample: v, the synaptic current, u or the refractory count


def value_range(values: Any, spec: str = ".3g") -> str:
    """``values`` as ``x`` when all equal, else ``min..max`` (``-`` when empty)."""
    a = np.asarray(values, dtype=np.float64)
    if not a.size:
        return "-"
    lo, hi = float(a.min()), float(a.max())
    return format(lo, spec) if lo == hi else f"{lo:{spec}}..{hi:{spec}}"


def model_parameters(model: Any) -> str:
    """Every parameter of a neuron model as ``name value`` (or ``name min..max``)."""
    return ", ".join(f"{n} {value_range(getattr(model, n))}" for n in model.param_names())


def population_repr(pop: Population) -> str:
    where = ", positions" if pop.positions is not None else ""
    return (
        f"Population({pop.name!r}, {pop.size} {pop.model.kind} neurons: "
        f"{model_parameters(pop.model)}{where})"
    )


def projection_repr(pr: Projection) -> str:
    n_src, n_tgt = pr.weights.shape
    return (
        f"Projection({pr.name!r}: {pr.source} ({n_src}) -> {pr.target} ({n_tgt}), "
        f"{pr.weights.nnz} synapses, weights {value_range(pr.weights.data)}, "
        f"delays {value_range(pr.delay_array(), 'g')} steps)"
    )


def _names(items: Any, what: str) -> str:
    shown = [f"{x.name} {x.size}" for x in items[:SHOWN_NAMES]]
    more = f", +{len(items) - SHOWN_NAMES} more" if len(items) > SHOWN_NAMES else ""
    plural = "s" if len(items) != 1 else ""
    return f"{len(items)} {what}{plural} ({', '.join(shown)}{more})"


def network_repr(net: Network) -> str:
    dt = "steps" if net.dt is None else f"dt={net.dt:g} ms"
    builder = net.metadata.get("builder")
    tail = f", builder {builder!r}" if builder else ""
    return (
        f"Network({net.n_neurons} neurons in {_names(net.populations, 'population')}, "
        f"{net.n_inputs} inputs in {_names(net.inputs, 'port')}, {len(net.projections)} "
        f"projections, {net.n_synapses} synapses, {dt}{tail})"
    )


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return ""  # pragma: no cover


def weight_bytes(net: Network) -> int:
    """Bytes of the stored synapses: CSR values, column indices, row pointers, delays."""
    total = 0
    for pr in net.projections:
        w = pr.weights
        total += w.data.nbytes + w.indices.nbytes + w.indptr.nbytes
        total += np.asarray(pr.delays).nbytes if np.ndim(pr.delays) else 0
    return int(total)


def state_bytes(net: Network) -> int:
    """Bytes of a simulation's state per sample in float64 (the numba reference):
    ``STATE_VARIABLES`` per neuron plus a delay ring of (max delay + 1) steps per neuron."""
    ring = 1 + max((pr.max_delay for pr in net.projections), default=0)
    return int(net.n_neurons * (STATE_VARIABLES + ring) * 8)


def _population_rows(net: Network) -> list[str]:
    rows = [f"{'populations':16} {'size':>7}  {'model':11} parameters (value or min..max)"]
    for p in net.populations:
        rows.append(f"  {p.name:14} {p.size:7d}  {p.model.kind:11} {model_parameters(p.model)}")
    return rows


def _input_rows(inputs: tuple[InputPort, ...]) -> list[str]:
    rows = [f"{'inputs':16} {'size':>7}  shape"]
    rows += [f"  {i.name:14} {i.size:7d}  {i.shape or '-'}" for i in inputs]
    return rows if inputs else [f"{'inputs':16} none"]


def _projection_row(pr: Projection) -> str:
    w = pr.weights
    fan_in = np.bincount(w.indices, minlength=w.shape[1])
    fan_out = np.diff(w.indptr)
    return (
        f"  {pr.name:22} {pr.source + ' -> ' + pr.target:20} {w.nnz:9d} "
        f"{fan_in.mean():7.3g}/{fan_in.max(initial=0):<5d} "
        f"{fan_out.mean():7.3g}/{fan_out.max(initial=0):<5d} "
        f"{value_range(pr.delay_array(), 'g'):>9}  {value_range(w.data)}"
    )


def network_summary(net: Network) -> str:
    """The table of ``Network.summary()``: populations (size, model, parameters), inputs,
    projections (synapses, fan-in and fan-out mean/max, delays in steps, weights) and
    memory (stored weights; simulation state per sample)."""
    head = network_repr(net)
    proj = [
        f"{'projections':22}   {'source -> target':20} {'synapses':>9} {'fan-in mean/max':>15} "
        f"{'fan-out mean/max':>15} {'delays':>9}  weights"
    ]
    proj += [_projection_row(pr) for pr in net.projections] or ["  none"]
    memory = (
        f"memory: weights {_bytes(weight_bytes(net))} (CSR values, indices, row pointers, "
        f"delays); state {_bytes(state_bytes(net))} per sample (float64 {STATE_VARIABLES} "
        "variables per neuron and the delay ring)"
    )
    lines = [head, *_population_rows(net), *_input_rows(net.inputs), *proj, memory]
    return "\n".join(lines) + "\n"

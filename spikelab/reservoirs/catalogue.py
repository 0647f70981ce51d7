"""The builders and their options: one source of truth for ``spikelab builders``, the
table of docs/reservoirs.md and the config check of ``[reservoir]``.

Names and defaults come from each builder's signature; units and a one-line description
from ``OPTION_DOCS`` (a test checks that the two list the same options). Render with
``python -m spikelab.reservoirs.catalogue`` (Markdown, what docs/reservoirs.md contains).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .izhikevich import izhikevich_network
from .lin2025 import lin2025_lsm
from .lsm import lsm_column

BUILDERS: dict[str, Callable[..., Any]] = {
    "lsm_column": lsm_column,
    "izhikevich_network": izhikevich_network,
    "lin2025_lsm": lin2025_lsm,
}
SUMMARY = {
    "lsm_column": "Maass et al. (2002) liquid on a 3-D grid; LIF or Izhikevich neurons",
    "izhikevich_network": "Izhikevich (2003) network: heterogeneous RS/FS cells, uniform wiring",
    "lin2025_lsm": "Lin et al. (2025) N-MNIST LSM: dense Gaussian LIF reservoir",
}
SET_BY_RUN = {  # what ``spikelab run`` sets from other sections
    "n_inputs": "[encoding] channels",
    "dt": "[encoding] dt",
    "input_shape": "[encoding] (W, H, C)",
    "seed": "top-level seed",
}

INPUT_DOCS = {
    "n_inputs": ("channels", "input channels of the port 'in'"),
    "input_fraction": ("fraction", "fraction of neurons that receive input"),
    "input_fan_in": ("channels", "input channels drawn per receiving neuron"),
    "input_shape": ("(W, H, C)", "sensor grid of the inputs (for receptive fields)"),
    "input_receptive_field": ("pixels", "half-width of a neuron's input patch; None: uniform"),
    "seed": ("", "seed of numpy.random.default_rng: same seed, same network"),
}
OPTION_DOCS: dict[str, dict[str, tuple[str, str]]] = {
    "lsm_column": {
        **INPUT_DOCS,
        "shape": ("grid units", "(x, y, z) size of the neuron grid (a run: from n_neurons)"),
        "neuron": ("", "'lif', 'izhikevich' or {exc = ..., inh = ...}"),
        "neuron_params": ("", "model parameters replaced, flat or per population"),
        "frac_inh": ("fraction", "fraction of inhibitory neurons"),
        "lam": ("grid units", "connection length lambda of C*exp(-(D/lambda)^2)"),
        "c_scale": ("", "overrides of C per pair, e.g. {EE = 0.3}"),
        "weight_scale": ("x Maass A", "factor on the recurrent amplitudes (30, 60, -19 nA)"),
        "inh_scale": ("x", "extra factor on the inhibitory amplitudes"),
        "weight_cv": ("", "coefficient of variation of the Gamma weights"),
        "tau_mem": ("ms", "LIF membrane time constant"),
        "v_th": ("mV", "LIF threshold above rest (the drive of Izhikevich rheobase)"),
        "v_reset": ("mV", "LIF reset potential"),
        "bias_range": ("mV", "bias drive, uniform in [lo, hi] (Izhikevich: converted)"),
        "t_ref": ("ms", "LIF refractory period (exc, inh)"),
        "tau_syn": ("ms", "synaptic time constant (exc, inh), both models"),
        "dt": ("ms", "simulation step the delays and weights assume"),
        "input_weight": ("nA (= mV drive)", "mean input amplitude, converted like weights"),
        "heterogeneity": ("relative", "+- spread of LIF tau_mem across neurons"),
    },
    "izhikevich_network": {
        **INPUT_DOCS,
        "n_exc": ("neurons", "excitatory cells (a run: 80 % of n_neurons)"),
        "n_inh": ("neurons", "inhibitory cells (a run: 20 % of n_neurons)"),
        "p_connect": ("probability", "connection probability of every pair"),
        "input_weight": ("mV/ms", "mean input current per event"),
        "exc_weight": ("mV/ms", "excitatory weights are exc_weight * U(0, 1)"),
        "inh_weight": ("mV/ms", "inhibitory weights are -inh_weight * U(0, 1)"),
        "bias": ("mV/ms", "constant current (exc, inh)"),
        "delay": ("steps", "recurrent delay"),
    },
    "lin2025_lsm": {
        "n_inputs": INPUT_DOCS["n_inputs"],
        "seed": INPUT_DOCS["seed"],
        "n_neurons": ("neurons", "reservoir size"),
        "decay": ("per step", "membrane decay factor"),
        "v_th": ("a.u.", "threshold (reset to 0)"),
        "weight_scale": ("a.u.", "std of the Gaussian weights"),
        "input_scale": ("a.u.", "std of the input weights; None: weight_scale"),
        "dt": ("ms", "simulation step"),
        "input_fraction": INPUT_DOCS["input_fraction"],
        "input_fan_in": ("channels", "input channels per receiving neuron; None: all (dense)"),
        "input_shape": INPUT_DOCS["input_shape"],
        "input_receptive_field": INPUT_DOCS["input_receptive_field"],
    },
}


@dataclass(frozen=True)
class Option:
    """One keyword of a builder: its default, unit and description."""

    name: str
    default: Any
    unit: str
    doc: str


def builder_options(builder: str) -> tuple[Option, ...]:
    """The options of ``builder`` in signature order (names and defaults from the
    signature, unit and description from ``OPTION_DOCS``)."""
    if builder not in BUILDERS:
        raise ValueError(f"builder {builder!r} is unknown; use {', '.join(BUILDERS)}")
    docs = OPTION_DOCS[builder]
    out = []
    for p in inspect.signature(BUILDERS[builder]).parameters.values():
        if p.name not in docs:
            raise KeyError(f"{builder}.{p.name} has no entry in catalogue.OPTION_DOCS; add one")
        unit, doc = docs[p.name]
        default = None if p.default is inspect.Parameter.empty else p.default
        out.append(Option(p.name, default, unit, doc))
    return tuple(out)


def _cell(option: Option) -> str:
    note = f" (run: {SET_BY_RUN[option.name]})" if option.name in SET_BY_RUN else ""
    return f"| `{option.name}` | `{option.default!r}` | {option.unit} | {option.doc}{note} |"


def render_markdown(builders: list[str] | None = None) -> str:
    """The options of ``builders`` (default: every builder) as Markdown tables: the text
    docs/reservoirs.md contains and ``spikelab builders`` prints."""
    lines = []
    for name in builders or BUILDERS:
        builder_options(name)  # an unknown name: the error lists the known ones
        lines += [f"### `{name}`", "", SUMMARY[name] + ".", ""]
        lines += ["| option | default | unit | description |", "| --- | --- | --- | --- |"]
        lines += [_cell(o) for o in builder_options(name)] + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")

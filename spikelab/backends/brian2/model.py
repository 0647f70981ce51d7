"""Brian2 objects that compute docs/semantics.md exactly (helper of ``brian2.py``).

One ``NeuronGroup`` per population holds the state (``v``, ``u``, ``isyn``, ``refr``) and the
per-neuron parameters precomputed by ``flatten`` (``alpha``, ``beta``, ``bias_term`` ...), so no
exponential is evaluated by Brian2. The update of a step is explicit abstract code in a
``run_regularly`` operation, written with the same operations in the same order as the numba
kernel (``_kernels.py``). ``Iin`` is the per-step synaptic input of the semantics (the ring slot
of the current step): synapses add to it, the update consumes and clears it.

Brian2 schedule of one step t (all objects on one clock of dt ms):

* ``thresholds``      the input group (one neuron per channel and value slot) fires the
                      input events of step t;
* ``synapses``        every pathway pushes new events into its queue (input events of step t,
                      population spikes of step t-1) and executes the events due now:
                      ``Iin_post += w`` (``w * value`` for inputs);
* ``after_synapses``  order 0: the update (synaptic current, membrane); order 1: threshold
                      (``v > v_th`` for LIF, ``v >= v_peak`` for Izhikevich); order 2: reset;
                      order 5 and 6: spike and voltage monitors.

Population spikes of step t therefore reach the pathways one step later, in step t+1, and a
delay of d steps (d >= 1) becomes a Brian2 delay of (d - 1) * dt; input delays (d >= 0) are
used as they are. Both arrive in the ``synapses`` slot of step t + d, before the update of
that step, as the semantics requires.

Samples of a batch run one after the other in one Brian2 run: sample b occupies steps
[b * P, b * P + T) with P = T + G, where the gap of G = max delay steps lets every event of
sample b arrive before sample b + 1 starts. No spike is emitted in the gap (the threshold is
gated by the local step) and an Izhikevich neuron's state is frozen there; a ``run_regularly``
with period P * dt restores the initial state at the start of every sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import ir as K
from ...ir import FlatNetwork
from .inputs import Layout

# Names of the state variables: 'i' is Brian2's neuron index, so the synaptic current is 'isyn'.
LIF_MODEL = """
v : 1
isyn : 1
Iin : 1
refr : integer
alpha : 1 (constant)
beta : 1 (constant)
v_rest : 1 (constant)
v_reset : 1 (constant)
v_th : 1 (constant)
bias_term : 1 (constant)
n_ref : integer (constant)
"""

# Same operations and order as _kernels.lif_step. The masks select exactly (1.0 * x + 0.0 = x
# for finite x); new auxiliary names avoid Brian2's sympy rewriting of 'v = v + ...' lines.
LIF_UPDATE = """
isyn = beta*isyn + Iin
Iin = 0.0
active = int(refr <= 0)
vfree = v_rest + alpha*(v - v_rest) + bias_term + isyn
v = active*vfree + (1 - active)*v_reset
refr = refr - (1 - active)
"""
LIF_THRESHOLD = "v > v_th and (t_in_timesteps % sl_period) < sl_steps"
LIF_RESET = "v = v_reset\nrefr = n_ref"
LIF_INIT = "v = v_rest\nisyn = 0.0\nIin = 0.0\nrefr = 0"

IZH_MODEL = """
v : 1
u : 1
isyn : 1
Iin : 1
a : 1 (constant)
b : 1 (constant)
c : 1 (constant)
d : 1 (constant)
v_peak : 1 (constant)
bias : 1 (constant)
v_init : 1 (constant)
beta : 1 (constant)
"""

# Same operations and order as _kernels.izh_step: two half-steps of v with the same u and
# current, one step of u with the new v. 'live' is 0 in the gap between samples (state frozen,
# so v cannot run away there) and 1 inside a sample, where live*half == half exactly.
IZH_UPDATE = """
isyn = beta*isyn + Iin
Iin = 0.0
live = int((t_in_timesteps % sl_period) < sl_steps)
cur = bias + isyn
v1 = v + live*sl_half*(0.04*v*v + 5.0*v + 140.0 - u + cur)
v2 = v1 + live*sl_half*(0.04*v1*v1 + 5.0*v1 + 140.0 - u + cur)
u2 = u + live*sl_dt*a*(b*v2 - u)
v = v2
u = u2
"""
IZH_THRESHOLD = "v >= v_peak and (t_in_timesteps % sl_period) < sl_steps"
IZH_RESET = "v = c\nu = u + d"
IZH_INIT = "v = v_init\nu = b*v_init\nisyn = 0.0\nIin = 0.0"


#: Largest number of synapses the input replication (one copy per value slot) may create.
MAX_INPUT_SYNAPSES = 20_000_000


def _namespace(flat: FlatNetwork, layout: Layout) -> dict[str, Any]:
    return {
        "sl_period": int(layout.period),
        "sl_steps": int(layout.n_steps),
        "sl_half": 0.5 * flat.dt,
        "sl_dt": float(flat.dt),
    }


def _neuron_group(b2: Any, flat: FlatNetwork, p: int, clock: Any, layout: Layout) -> Any:
    lo, hi = int(flat.pop_start[p]), int(flat.pop_stop[p])
    is_lif = int(flat.pop_kind[p]) == K.KIND_LIF
    g = b2.NeuronGroup(
        hi - lo,
        LIF_MODEL if is_lif else IZH_MODEL,
        threshold=LIF_THRESHOLD if is_lif else IZH_THRESHOLD,
        reset=LIF_RESET if is_lif else IZH_RESET,
        clock=clock,
        name=f"sl_pop{p}",
        namespace=_namespace(flat, layout),
    )
    for var, row in (K.LIF_ROWS if is_lif else K.IZH_ROWS).items():
        setattr(g, var, flat.params[row, lo:hi].copy())
    if is_lif:
        g.n_ref = flat.n_ref[lo:hi].astype(np.int32)
    code = LIF_UPDATE if is_lif else IZH_UPDATE
    g.run_regularly(code, when="after_synapses", order=0, name=f"sl_pop{p}_update")
    for runner in (g.thresholder["spike"], g.resetter["spike"]):
        runner.when = "after_synapses"
    g.thresholder["spike"].order = 1
    g.resetter["spike"].order = 2
    # Initial state at the start of every sample (t = 0, P*dt, 2*P*dt, ...).
    g.run_regularly(
        LIF_INIT if is_lif else IZH_INIT,
        dt=layout.period * clock.dt,
        when="start",
        order=0,
        name=f"sl_pop{p}_init",
    )
    return g


def _input_group(
    b2: Any, flat: FlatNetwork, clock: Any, layout: Layout, arrays: dict[str, np.ndarray]
) -> tuple[Any, Any]:
    """The input neurons (slot * n_inputs + channel): each fires when the next entry of its
    list in the event table is the current step (a settable replacement of a
    SpikeGeneratorGroup, whose spike arrays a built binary cannot change)."""
    table = b2.TimedArray(arrays["table"], dt=clock.dt, name="sl_events")
    g = b2.NeuronGroup(
        layout.n_slots * flat.n_inputs,
        "ptr : integer",
        threshold="sl_events(ptr*sl_unit) == t_in_timesteps",
        reset="ptr = ptr + 1",
        clock=clock,
        name="sl_input",
        namespace={"sl_events": table, "sl_unit": clock.dt},
    )
    g.ptr = arrays["ptr"]
    return g, table


def _synapses(
    b2: Any,
    src: Any,
    tgt: Any,
    rows: np.ndarray,
    cols: np.ndarray,
    w: np.ndarray,
    delay_steps: np.ndarray,
    clock: Any,
    name: str,
    *,
    valued: bool,
) -> Any:
    """Synapses rows -> cols with weights and delays (steps); ``valued`` synapses multiply
    their weight by the value ``val`` of their input slot."""
    model = "w : 1 (constant)\nval : 1" if valued else "w : 1 (constant)"
    on_pre = "Iin_post += w*val" if valued else "Iin_post += w"
    s = b2.Synapses(src, tgt, model, on_pre=on_pre, clock=clock, name=name)
    s.connect(i=rows.astype(np.int32), j=cols.astype(np.int32))
    s.w = w
    if len(delay_steps) and np.all(delay_steps == delay_steps[0]):
        s.delay = int(delay_steps[0]) * clock.dt
    else:
        s.delay = delay_steps.astype(np.float64) * clock.dt
    return s


def _input_synapses(
    b2: Any,
    flat: FlatNetwork,
    inp: Any,
    groups: list,
    clock: Any,
    layout: Layout,
    slot_values: np.ndarray,
) -> list[tuple[Any, int]]:
    """Input synapses replicated per slot; returns (synapses, synapses per slot) per target."""
    ins = flat.inputs
    _check_input_slots(layout.n_slots, ins.nnz)
    rows, cols = ins.rows(), ins.indices
    out = []
    for p, g in enumerate(groups):
        lo, hi = int(flat.pop_start[p]), int(flat.pop_stop[p])
        m = (cols >= lo) & (cols < hi)
        if not m.any():
            continue
        n = layout.n_slots
        r = np.concatenate([rows[m] + s * flat.n_inputs for s in range(n)])
        syn = _synapses(
            b2,
            inp,
            g,
            r,
            np.tile(cols[m] - lo, n),
            np.tile(ins.weights[m], n),
            np.tile(ins.delays[m], n),
            clock,
            f"sl_in{p}",
            valued=True,
        )
        syn.val = np.repeat(slot_values, int(m.sum()))
        out.append((syn, int(m.sum())))
    return out


def _check_input_slots(n_slots: int, nnz: int) -> None:
    """Refuse a batch whose ``n_slots`` copies of the ``nnz`` input synapses are too many."""
    if n_slots * nnz > MAX_INPUT_SYNAPSES:
        raise ValueError(
            f"the batch needs {n_slots} input slots (distinct event values, or repeated "
            f"events of one step and channel); the Brian2 backend replicates the {nnz} input "
            f"synapses per slot, which exceeds {MAX_INPUT_SYNAPSES} synapses. Binarise or round "
            "the input values (or merge repeated events) before running on brian2"
        )


def _recurrent_synapses(b2: Any, flat: FlatNetwork, groups: list, clock: Any) -> list[Any]:
    rc = flat.recurrent
    rows, cols = rc.rows(), rc.indices
    out = []
    for a, ga in enumerate(groups):
        a_lo, a_hi = int(flat.pop_start[a]), int(flat.pop_stop[a])
        from_a = (rows >= a_lo) & (rows < a_hi)
        for c, gc in enumerate(groups):
            c_lo, c_hi = int(flat.pop_start[c]), int(flat.pop_stop[c])
            m = from_a & (cols >= c_lo) & (cols < c_hi)
            if m.any():  # a population spike is pushed one step later: delay d -> (d-1)*dt
                out.append(
                    _synapses(
                        b2,
                        ga,
                        gc,
                        rows[m] - a_lo,
                        cols[m] - c_lo,
                        rc.weights[m],
                        rc.delays[m] - 1,
                        clock,
                        f"sl_rec{a}_{c}",
                        valued=False,
                    )
                )
    return out


def _voltage_monitors(
    b2: Any, flat: FlatNetwork, groups: list, clock: Any, voltage: tuple[int, ...]
) -> dict[int, tuple[Any, np.ndarray]]:
    vidx = np.asarray(voltage, dtype=np.int64)
    out = {}
    for p, g in enumerate(groups):
        lo, hi = int(flat.pop_start[p]), int(flat.pop_stop[p])
        local = np.unique(vidx[(vidx >= lo) & (vidx < hi)]) - lo
        if len(local):
            mon = b2.StateMonitor(
                g,
                "v",
                record=local,
                when="after_synapses",
                order=6,
                clock=clock,
                name=f"sl_voltage{p}",
            )
            out[p] = (mon, local)
    return out


@dataclass
class Built:
    """The Brian2 objects of one build."""

    layout: Layout
    clock: Any
    objects: list[Any]
    groups: list[Any]
    spikes: list[Any]  # one SpikeMonitor per population
    voltage: dict[int, tuple[Any, np.ndarray]]  # population -> (StateMonitor, local indices)
    inputs: Any = None  # the input NeuronGroup
    table: Any = None  # its TimedArray of event steps
    input_synapses: list[tuple[Any, int]] = field(default_factory=list)

    def run_args(self, arrays: dict[str, np.ndarray]) -> dict[Any, np.ndarray]:
        """cpp_standalone run arguments that load other ``input_arrays`` into this build."""
        if self.inputs is None:
            return {}
        out: dict[Any, np.ndarray] = {self.inputs.ptr: arrays["ptr"], self.table: arrays["table"]}
        for syn, per_slot in self.input_synapses:
            out[syn.val] = np.repeat(arrays["slot_values"], per_slot)
        return out


def build(
    b2: Any,
    flat: FlatNetwork,
    layout: Layout,
    voltage: tuple[int, ...],
    arrays: dict[str, np.ndarray],
) -> Built:
    """Create every Brian2 object for ``layout``, with the inputs ``arrays``."""
    clock = b2.Clock(dt=flat.dt * b2.ms, name="sl_clock")
    groups = [_neuron_group(b2, flat, p, clock, layout) for p in range(len(flat.pop_names))]
    spikes = [
        b2.SpikeMonitor(g, when="after_synapses", order=5, name=f"sl_spikes{p}")
        for p, g in enumerate(groups)
    ]
    vmons = _voltage_monitors(b2, flat, groups, clock, voltage)
    built = Built(
        layout, clock, [*groups, *spikes, *(m for m, _ in vmons.values())], groups, spikes, vmons
    )
    if flat.inputs.nnz:
        built.inputs, built.table = _input_group(b2, flat, clock, layout, arrays)
        built.input_synapses = _input_synapses(
            b2, flat, built.inputs, groups, clock, layout, arrays["slot_values"]
        )
        built.objects += [built.inputs, *(s for s, _ in built.input_synapses)]
    if flat.recurrent.nnz:
        built.objects += _recurrent_synapses(b2, flat, groups, clock)
    return built

"""Input events of a batch laid out for Brian2 (helper of ``brian2.py``).

Brian2 has no per-event value and a built cpp_standalone binary cannot change the spikes of a
``SpikeGeneratorGroup``. So the inputs are an ordinary ``NeuronGroup`` of input neurons, one per
(value slot, channel), that fire by reading an event table (a ``TimedArray`` of steps, which a
binary accepts as a run argument):

* ``plan_inputs``: every event gets an input neuron, slot * n_inputs + channel, where a slot
  is a (value, repeat) pair: events of distinct values, or repeated events of the same step
  and channel, go to distinct slots, whose input synapses carry that value (w * value);
* ``input_arrays``: the event table, each input neuron's steps in order followed by an end
  marker, and each neuron's pointer to its first entry (it fires when the entry equals the
  current step and then advances).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...spikes import SpikeBatch

NEVER = float(2**52)  # an event step no run reaches: ends each input neuron's event list


@dataclass(frozen=True)
class InputPlan:
    """Input events of a batch laid out for the input group.

    Events of the same step and channel (duplicates) and events of different values go to
    different *slots*: input-neuron index = slot * n_inputs + channel, and the input synapses
    are replicated once per slot with that slot's value, so ``Iin += w * value`` is computed
    per event as in the numba kernel.
    """

    indices: np.ndarray  # int64 input-neuron index of each event
    steps: np.ndarray  # int64 global step (sample * period + step)
    slot_values: np.ndarray  # float64 value of each slot
    n_samples: int
    period: int  # P = n_steps + gap
    n_steps: int  # T

    @property
    def n_slots(self) -> int:
        return len(self.slot_values)


@dataclass(frozen=True)
class Layout:
    """The sizes a Brian2 build is made for (a cpp_standalone binary reruns any batch that
    fits: at most ``n_samples`` samples of ``n_steps``, ``n_slots`` value slots, and an event
    table of ``capacity`` entries)."""

    n_samples: int
    n_steps: int
    period: int
    n_slots: int
    capacity: int

    def fits(self, plan: InputPlan) -> bool:
        return (
            plan.n_samples <= self.n_samples
            and plan.n_steps == self.n_steps
            and plan.period == self.period
            and plan.n_slots <= self.n_slots
            and table_length(plan) <= self.capacity
        )


def plan_inputs(batch: SpikeBatch, n_inputs: int, gap: int) -> InputPlan:
    """Assign every event of ``batch`` an input-neuron index and a global step."""
    period = batch.n_steps + gap
    sample = np.repeat(np.arange(len(batch), dtype=np.int64), np.diff(batch.offsets))
    gstep = sample * period + batch.steps.astype(np.int64)
    ch = batch.channels.astype(np.int64)
    values = batch.values.astype(np.float64)
    if len(ch) == 0:
        return InputPlan(ch, gstep, np.ones(1), len(batch), period, batch.n_steps)
    key = gstep * n_inputs + ch
    order = np.argsort(key, kind="stable")
    ks = key[order]
    first = np.concatenate([[True], ks[1:] != ks[:-1]])
    start = np.maximum.accumulate(np.where(first, np.arange(len(ks)), 0))
    rank = np.empty(len(ks), dtype=np.int64)
    rank[order] = np.arange(len(ks)) - start  # occurrence number of a (step, channel) pair
    uvals, vidx = np.unique(values, return_inverse=True)
    n_rank = int(rank.max()) + 1
    ucode, slot = np.unique(vidx.reshape(-1) * n_rank + rank, return_inverse=True)
    return InputPlan(
        slot.reshape(-1) * n_inputs + ch,
        gstep,
        uvals[ucode // n_rank],
        len(batch),
        period,
        batch.n_steps,
    )


def table_length(plan: InputPlan) -> int:
    """Entries the event table needs: the events, one end marker per active input neuron,
    and a final end marker."""
    return len(plan.indices) + len(np.unique(plan.indices)) + 1


def make_layout(plan: InputPlan) -> Layout:
    """A layout for ``plan``; the event table is rounded up to a power of two so that builds
    of similar batches share generated code (Cython's cache)."""
    capacity = max(1024, 1 << (table_length(plan) - 1).bit_length())
    return Layout(plan.n_samples, plan.n_steps, plan.period, plan.n_slots, capacity)


def input_arrays(plan: InputPlan, layout: Layout, n_inputs: int) -> dict[str, np.ndarray]:
    """Values of the input group for ``plan``: ``ptr`` (per input neuron, its first entry in
    the table), ``table`` (event steps, each neuron's list ended by a never-reached step) and
    ``slot_values`` (padded to the layout's slots with 0)."""
    order = np.lexsort((plan.steps, plan.indices))
    idx, steps = plan.indices[order], plan.steps[order]
    table = np.full(layout.capacity, NEVER)
    n_gen = layout.n_slots * n_inputs
    ptr = np.full(n_gen, len(idx) + len(np.unique(idx)), dtype=np.int32)  # the final marker
    if len(idx):
        new = np.concatenate([[True], idx[1:] != idx[:-1]])
        group = np.cumsum(new) - 1  # group number of each event
        pos = np.arange(len(idx)) + group  # each group is followed by its end marker
        table[pos] = steps
        ptr[idx[new]] = pos[new]
    values = np.zeros(layout.n_slots)
    values[: plan.n_slots] = plan.slot_values
    return {"ptr": ptr, "table": table, "slot_values": values}

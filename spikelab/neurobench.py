"""NeuroBench's algorithm-track metrics, computed from a Network and its recordings.

The names and definitions are NeuroBench's (Yik et al., "The neurobench framework for
benchmarking neuromorphic computing algorithms and systems", Nat. Commun. 2025; the
``neurobench.metrics`` package): ``Footprint``, ``ConnectionSparsity``,
``ActivationSparsity``, ``SynapticOperations`` (``Effective_MACs``, ``Effective_ACs``,
``Dense``) and ``ClassificationAccuracy``. NeuroBench measures them with hooks on a
PyTorch model; here they come straight from the network's projections and the spike
counts a backend recorded, so every backend gets the same figures. docs/neurobench.md
gives the formula of each and the two details where ours differ (the AC/MAC decision per
input event rather than per input tensor; spikes counted when emitted).

Pure functions of numpy values; nothing here simulates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .ir import flatten
from .spikes import SpikeBatch

if TYPE_CHECKING:
    from .network import Network

REFERENCE = (
    "NeuroBench (Yik et al., Nat. Commun. 2025): names and definitions; formulas in "
    "docs/neurobench.md"
)
#: bytes of each state variable the CPU reference kernel keeps per neuron between steps:
#: v, u, i_syn (float64) and the refractory counter (int32)
STATE_BYTES_PER_NEURON = 3 * 8 + 4
RING_BYTES = 8  # one float64 per neuron and slot of the delay ring (max delay + 1 slots)


def check_counts(counts: Any, n_neurons: int) -> np.ndarray:
    """Spike counts ``[samples, bins, neurons]`` as a non-negative integer array."""
    c = np.asarray(counts)
    if c.ndim != 3 or c.shape[2] != n_neurons:
        raise ValueError(
            f"spike counts must have shape [samples, bins, {n_neurons}] (the network's "
            f"neurons), got {c.shape}"
        )
    whole = c.dtype.kind in "iub" or (c.dtype.kind == "f" and np.all(np.mod(c, 1) == 0))
    if c.size and (not whole or c.min() < 0):
        raise ValueError(
            "spike counts must be non-negative whole numbers (Recording.counts), got "
            f"dtype {c.dtype} with minimum {c.min()}"
        )
    return c.astype(np.int64, copy=False)


def activation_sparsity(
    counts: Any, n_steps: int, populations: Iterable[tuple[str, int, int]] = ()
) -> dict[str, Any]:
    """NeuroBench ``ActivationSparsity``: the fraction of neuron outputs that are zero,
    over all neurons, time steps and samples: ``1 - S / (B * T * N)`` with ``S`` the
    spikes (a neuron spikes at most once a step), ``B`` samples, ``T = n_steps`` steps
    per sample, ``N`` neurons. ``populations``: (name, start, stop) rows for the same
    figure per population (``per_population``)."""
    c = np.asarray(counts)
    if int(n_steps) < 1 or c.ndim != 3:
        raise ValueError(f"need counts [samples, bins, neurons] and n_steps >= 1, got {n_steps}")
    per_neuron = c.sum(axis=(0, 1), dtype=np.int64)
    slots = c.shape[0] * int(n_steps)

    def sparsity(spikes: int, neurons: int) -> float:
        total = slots * neurons
        return 1.0 - spikes / total if total else 0.0  # NeuroBench: 0.0 with no outputs

    return {
        "ActivationSparsity": sparsity(int(per_neuron.sum()), c.shape[2]),
        "per_population": {
            name: sparsity(int(per_neuron[a:b].sum()), b - a) for name, a, b in populations
        },
    }


def connection_sparsity(net: Network) -> dict[str, Any]:
    """NeuroBench ``ConnectionSparsity``: zero weights over all weights of the
    connection matrices, ``sum_p (n_src_p * n_tgt_p - nz_p) / sum_p (n_src_p * n_tgt_p)``
    where ``nz_p`` counts the non-zero weights of projection ``p`` (a stored zero is a
    zero); ``per_projection`` gives ``1 - nz_p / (n_src_p * n_tgt_p)``."""
    per, zeros, total = {}, 0, 0
    for pr in net.projections:
        size = int(pr.weights.shape[0]) * int(pr.weights.shape[1])
        nz = int(np.count_nonzero(pr.weights.data))
        per[pr.name] = 1.0 - nz / size
        zeros, total = zeros + size - nz, total + size
    return {"ConnectionSparsity": zeros / total if total else 0.0, "per_projection": per}


def footprint(net: Network, dt: float) -> dict[str, int]:
    """NeuroBench ``Footprint``: bytes of the parameters plus the state buffers, counted
    on the flattened network every backend compiles from (``spikelab.ir``, float64):
    parameters = the two CSR matrices (indptr int64, indices int32, weights float64,
    delays int32) + the packed neuron parameters (8 float64 rows) + the refractory steps
    (int32); state = per neuron ``v, u, i_syn`` (float64) and the refractory counter
    (int32), and the delay ring of ``max delay + 1`` float64 slots per neuron."""
    flat = flatten(net, float(dt))
    params = flat.params.nbytes + flat.n_ref.nbytes
    for csr in (flat.inputs, flat.recurrent):
        params += csr.indptr.nbytes + csr.indices.nbytes + csr.weights.nbytes
        params += csr.delays.nbytes
    n = flat.n_neurons
    state = n * STATE_BYTES_PER_NEURON + flat.ring_len * n * RING_BYTES
    return {"Footprint": int(params + state), "parameters": int(params), "state": int(state)}


def fan_out(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero outgoing weights per input channel ``[n_inputs]`` and per neuron
    ``[n_neurons]``, over all projections (NeuroBench binarises weights: a zero weight
    makes no operation)."""
    sources = {**net.input_slices(), **net.population_slices()}
    inputs = np.zeros(net.n_inputs, np.int64)
    neurons = np.zeros(net.n_neurons, np.int64)
    for pr in net.projections:
        w = pr.weights
        rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        row_nz = np.bincount(rows[w.data != 0], minlength=w.shape[0])
        out = inputs if net.is_input(pr.source) else neurons
        out[sources[pr.source]] += row_nz
    return inputs, neurons


def input_operations(batches: Iterable[SpikeBatch], input_fan_out: np.ndarray) -> dict[str, int]:
    """Synaptic operations caused by input events, summed over ``batches``: an event whose
    value is +1 or -1 (a spike) costs one accumulate (AC) per non-zero outgoing weight of
    its channel, a graded one (any other non-zero value, e.g. 2 events binned into one
    step) one multiply-accumulate (MAC) each. ``samples``: how many samples were seen."""
    fan = np.asarray(input_fan_out, np.int64)
    acs = macs = samples = 0
    for batch in batches:
        ops = fan[batch.channels]
        v = batch.values
        spike = (v == 1) | (v == -1)
        acs += int(ops[spike].sum())
        macs += int(ops[~spike & (v != 0)].sum())
        samples += len(batch)
    return {"acs": acs, "macs": macs, "samples": samples}


def synaptic_operations(
    net: Network, counts: Any, n_steps: int, inputs: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """NeuroBench ``SynapticOperations`` per sample. ``Effective_ACs``: every spike of a
    neuron (binary) costs one AC per non-zero outgoing weight, ``sum_i S_i * k_i / B``, plus
    the ACs of binary input events; ``Effective_MACs``: graded input events times their
    channel's non-zero outgoing weights, over B; ``Dense``: every weight of every
    projection, zero or not, used on every step, ``T * sum_p n_src_p * n_tgt_p``.
    ``inputs``: the totals of ``input_operations`` over the same B samples as ``counts``
    (None: input operations left out, and said so)."""
    c = check_counts(counts, net.n_neurons)
    b = max(c.shape[0], 1)
    in_fan, nrn_fan = fan_out(net)
    spikes = c.sum(axis=(0, 1), dtype=np.int64)
    recurrent = int(spikes @ nrn_fan)
    if inputs is not None and int(inputs["samples"]) != c.shape[0]:
        raise ValueError(
            f"input operations cover {inputs['samples']} samples, the counts {c.shape[0]}; "
            "give both for the same samples"
        )
    in_acs = int(inputs["acs"]) if inputs is not None else 0
    in_macs = int(inputs["macs"]) if inputs is not None else 0
    dense = int(n_steps) * sum(int(p.weights.shape[0]) * int(p.weights.shape[1])
                               for p in net.projections)  # fmt: skip
    return {
        "Effective_MACs": in_macs / b,
        "Effective_ACs": (recurrent + in_acs) / b,
        "Dense": float(dense),
        "recurrent_acs": recurrent / b,
        "input_acs": in_acs / b,
        "input_macs": in_macs / b,
        "inputs_counted": inputs is not None,
    }


def classification_accuracy(y_true: Any, y_pred: Any) -> float:
    """NeuroBench ``ClassificationAccuracy``: the fraction of predictions equal to the label."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1 or not t.size:
        raise ValueError(
            f"need labels and predictions of one equal length, got {t.shape}, {p.shape}"
        )
    return float(np.mean(t == p))


def energy_figures(extras: Mapping[str, Any]) -> dict[str, float]:
    """The backend's energy estimates per sample (the crossbar's ``*energy*_j`` extras)."""
    return {
        k: float(v)
        for k, v in extras.items()
        if "energy" in k and k.endswith("_j") and np.isscalar(v)
    }


def neurobench_metrics(
    net: Network,
    counts: Any,
    *,
    n_steps: int,
    dt: float,
    inputs: Iterable[SpikeBatch] | None = None,
    y_true: Any = None,
    y_pred: Any = None,
    extras: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The NeuroBench block of ``metrics.json``: static metrics of ``net`` (at step ``dt``
    ms), workload metrics of ``counts`` (``[samples, bins, neurons]``, ``n_steps`` steps a
    sample) and of the encoded ``inputs`` of the same samples, the accuracy when labels
    and predictions are given, and the backend's energy figures when it reports some."""
    c = check_counts(counts, net.n_neurons)
    in_fan, _ = fan_out(net)
    ops_in = input_operations(inputs, in_fan) if inputs is not None else None
    act = activation_sparsity(c, n_steps, net.pop_table())
    conn = connection_sparsity(net)
    block: dict[str, Any] = {
        "reference": REFERENCE,
        "samples": int(c.shape[0]),
        "steps_per_sample": int(n_steps),
        "dt_ms": float(dt),
        "Footprint": None,
        "ConnectionSparsity": conn["ConnectionSparsity"],
        "ActivationSparsity": act["ActivationSparsity"],
        "SynapticOperations": synaptic_operations(net, c, n_steps, ops_in),
        "ClassificationAccuracy": None,
        "footprint_bytes": footprint(net, dt),  # parameters and state
        "connection_sparsity_per_projection": conn["per_projection"],
        "activation_sparsity_per_population": act["per_population"],
    }
    block["Footprint"] = block["footprint_bytes"].pop("Footprint")
    if y_true is not None and y_pred is not None:
        block["ClassificationAccuracy"] = classification_accuracy(y_true, y_pred)
    energy = energy_figures(extras or {})
    if energy:
        block["energy"] = energy  # J per sample, the backend's estimates
    return block


def mean_of_blocks(blocks: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The headline figures of several blocks (e.g. one per seed) averaged: Footprint,
    ConnectionSparsity, ActivationSparsity, SynapticOperations (Effective_MACs,
    Effective_ACs, Dense) and the energy figures when every block has them."""
    if not blocks:
        raise ValueError("mean_of_blocks needs at least one NeuroBench block")

    def mean(get: Any) -> float:
        return float(np.mean([get(b) for b in blocks]))

    ops = ("Effective_MACs", "Effective_ACs", "Dense")
    out: dict[str, Any] = {
        "blocks": len(blocks),
        **{k: mean(lambda b, k=k: b[k]) for k in ("Footprint", "ConnectionSparsity")},
        "ActivationSparsity": mean(lambda b: b["ActivationSparsity"]),
        "SynapticOperations": {k: mean(lambda b, k=k: b["SynapticOperations"][k]) for k in ops},
    }
    if all("energy" in b for b in blocks):
        keys = set.intersection(*(set(b["energy"]) for b in blocks))
        out["energy"] = {k: mean(lambda b, k=k: b["energy"][k]) for k in sorted(keys)}
    return out

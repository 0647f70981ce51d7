"""NeuroBench metrics on a hand-built network whose figures are worked out by hand below."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import LIF, InputPort, Network, Population, Projection, RecordSpec
from spikelab.neurobench import (
    activation_sparsity,
    classification_accuracy,
    connection_sparsity,
    energy_figures,
    fan_out,
    footprint,
    input_operations,
    neurobench_metrics,
    synaptic_operations,
)
from spikelab.spikes import SpikeBatch


def hand_net() -> Network:
    """in (2 channels) -> a (2 LIF) -> b (1 LIF) -> a.

    in->a: [[1, 0*], [0.5, 2]] with the 0 STORED (4 stored, 3 non-zero), delay 0
    a->b:  [[1], [0]]  (1 stored), delay 2;  b->a: [[0.3, 0]] (1 stored), delay 1
    """
    w_in = sp.csr_matrix(
        (np.array([1.0, 0.0, 0.5, 2.0]), np.array([0, 1, 0, 1]), np.array([0, 2, 4])), (2, 2)
    )
    return Network(
        populations=(
            Population(name="a", size=2, model=LIF()),
            Population(name="b", size=1, model=LIF()),
        ),
        inputs=(InputPort(name="in", size=2),),
        projections=(
            Projection(source="in", target="a", weights=w_in, delays=0),
            Projection(source="a", target="b", weights=sp.csr_matrix([[1.0], [0.0]]), delays=2),
            Projection(source="b", target="a", weights=sp.csr_matrix([[0.3, 0.0]]), delays=1),
        ),
    )


# 2 samples, 10 steps, 2 bins of 5 steps; neurons a0, a1, b0
COUNTS = np.array(
    [
        [[2, 1, 1], [1, 0, 1]],  # sample 0: a0 3, a1 1, b0 2 spikes
        [[0, 2, 0], [0, 0, 0]],  # sample 1: a1 2 spikes
    ],
    dtype=np.int32,
)
N_STEPS = 10


def hand_inputs() -> SpikeBatch:
    """sample 0: ch0 +1 (spike), ch1 2.0 (graded), ch1 -1 (spike); sample 1: ch0 3.0 (graded)."""
    return SpikeBatch(
        n_steps=N_STEPS,
        n_channels=2,
        offsets=np.array([0, 3, 4]),
        steps=np.array([0, 1, 3, 2]),
        channels=np.array([0, 1, 1, 0]),
        values=np.array([1.0, 2.0, -1.0, 3.0]),
    )


def test_stored_zero_is_kept_as_stored():
    assert hand_net().projections[0].weights.nnz == 4  # the test relies on it


def test_connection_sparsity_by_hand():
    got = connection_sparsity(hand_net())
    # zeros: in->a 4-3=1, a->b 2-1=1, b->a 2-1=1; weights 4+2+2=8
    assert got["ConnectionSparsity"] == pytest.approx(3 / 8)
    assert got["per_projection"] == pytest.approx({"in->a": 0.25, "a->b": 0.5, "b->a": 0.5})


def test_activation_sparsity_by_hand():
    got = activation_sparsity(COUNTS, N_STEPS, hand_net().pop_table())
    # 8 spikes over 2 samples * 10 steps * 3 neurons = 60 outputs
    assert got["ActivationSparsity"] == pytest.approx(1 - 8 / 60)
    # a: 6 spikes of 40 outputs; b: 2 of 20
    assert got["per_population"] == pytest.approx({"a": 1 - 6 / 40, "b": 1 - 2 / 20})


def test_fan_out_counts_non_zero_weights_only():
    inputs, neurons = fan_out(hand_net())
    assert inputs.tolist() == [1, 2]  # ch0: 1 (the stored 0 makes no operation), ch1: 2
    assert neurons.tolist() == [1, 0, 1]  # a0 -> b0, a1's weight is 0, b0 -> a0


def test_synaptic_operations_by_hand():
    net = hand_net()
    ops_in = input_operations([hand_inputs()], fan_out(net)[0])
    # ACs: ch0 +1 -> 1, ch1 -1 -> 2; MACs: ch1 2.0 -> 2, ch0 3.0 -> 1
    assert ops_in == {"acs": 3, "macs": 3, "samples": 2}
    got = synaptic_operations(net, COUNTS, N_STEPS, ops_in)
    # recurrent ACs: a0 3 spikes * 1 + a1 3 * 0 + b0 2 * 1 = 5
    assert got["recurrent_acs"] == pytest.approx(5 / 2)
    assert got["Effective_ACs"] == pytest.approx((5 + 3) / 2)
    assert got["Effective_MACs"] == pytest.approx(3 / 2)
    assert got["Dense"] == pytest.approx(10 * (2 * 2 + 2 * 1 + 1 * 2))


def test_footprint_by_hand():
    got = footprint(hand_net(), dt=1.0)
    params = 8 * 3 * 8 + 3 * 4  # 8 float64 parameter rows, int32 refractory steps
    params += 3 * 8 + 4 * (4 + 8 + 4)  # input CSR: indptr, 4 stored (index, weight, delay)
    params += 4 * 8 + 2 * (4 + 8 + 4)  # recurrent CSR: indptr, 2 stored
    state = 3 * (3 * 8 + 4) + (2 + 1) * 3 * 8  # v, u, i_syn, refractory; ring of 3 slots
    assert got == {"Footprint": params + state, "parameters": params, "state": state}
    assert got["Footprint"] == 512


def test_classification_accuracy_and_errors():
    assert classification_accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError, match="one equal length"):
        classification_accuracy([1, 2], [1])


def test_block_puts_it_together():
    extras = {"energy_per_sample_j": 2e-9, "ops_per_sample": 3.0, "energy_breakdown": {}}
    block = neurobench_metrics(
        hand_net(), COUNTS, n_steps=N_STEPS, dt=1.0, inputs=[hand_inputs()],
        y_true=[0, 1], y_pred=[0, 0], extras=extras,
    )  # fmt: skip
    assert block["Footprint"] == 512
    assert block["ConnectionSparsity"] == pytest.approx(3 / 8)
    assert block["ActivationSparsity"] == pytest.approx(1 - 8 / 60)
    assert block["SynapticOperations"]["Effective_ACs"] == pytest.approx(4.0)
    assert block["ClassificationAccuracy"] == 0.5
    assert block["footprint_bytes"] == {"parameters": 356, "state": 156}
    assert block["energy"] == {"energy_per_sample_j": 2e-9}
    assert energy_figures({"ops_per_sample": 1.0}) == {}


def test_bad_counts_and_mismatched_inputs_are_clear_errors():
    net = hand_net()
    with pytest.raises(ValueError, match=r"\[samples, bins, 3\]"):
        synaptic_operations(net, COUNTS[:, :, :2], N_STEPS)
    with pytest.raises(ValueError, match="non-negative whole numbers"):
        synaptic_operations(net, COUNTS - 1, N_STEPS)
    with pytest.raises(ValueError, match="non-negative whole numbers"):
        synaptic_operations(net, COUNTS + 0.5, N_STEPS)
    as_float = synaptic_operations(net, COUNTS.astype(np.float32), N_STEPS)
    assert as_float["recurrent_acs"] == pytest.approx(5 / 2)
    with pytest.raises(ValueError, match="1 samples, the counts 2"):
        synaptic_operations(net, COUNTS, N_STEPS, {"acs": 0, "macs": 0, "samples": 1})


def test_effective_operations_match_the_numba_counter():
    """Without stored zeros, the effective ops are exactly the synaptic events the CPU
    kernel counts (every input event and spike, fanned out)."""
    rng = np.random.default_rng(3)
    w_in = sp.random(4, 6, density=0.5, random_state=1, format="csr") * 4.0
    w_rec = sp.random(6, 6, density=0.4, random_state=2, format="csr") * 0.5
    net = Network(
        populations=(Population(name="p", size=6, model=LIF(tau_mem=10.0, v_th=0.5)),),
        inputs=(InputPort(name="in", size=4),),
        projections=(
            Projection(source="in", target="p", weights=w_in, delays=0),
            Projection(source="p", target="p", weights=w_rec, delays=1),
        ),
    )
    dense = (rng.random((3, 40, 4)) < 0.2) * rng.integers(1, 3, (3, 40, 4))
    batch = SpikeBatch.from_dense(dense.astype(np.float32))
    rec = net.compile("numba", dt=1.0, record=RecordSpec(bin_steps=10)).run(batch)
    assert rec.n_spikes > 0
    block = neurobench_metrics(net, rec.counts, n_steps=40, dt=1.0, inputs=[batch])
    ops = block["SynapticOperations"]
    assert (ops["Effective_ACs"] + ops["Effective_MACs"]) * 3 == rec.n_synaptic_events
    assert ops["Effective_MACs"] > 0  # some events carried 2


def test_classify_metrics_json_carries_the_block(tmp_path):
    """A tiny classify run on the crossbar: the block is in metrics.json, its accuracy is
    the run's, its activation sparsity that of the saved test counts, energy beside it."""
    import json

    import h5py

    from spikelab.datasets import generate_nmnist_like
    from spikelab.tasks.classify import run_classify

    root = tmp_path / "data"
    generate_nmnist_like(root, per_class=2, test_per_class=1, seed=0, progress=False)
    cfg = {
        "name": "tiny", "dataset": {"root": str(root)}, "backend": {"name": "crossbar"},
        "encoding": {"dt": 1.0, "duration": 40.0}, "record": {"bin_steps": 20},
        "reservoir": {"builder": "lsm_column", "n_neurons": 8, "input_fraction": 1.0},
        "baseline": {"n_time_bins": 0}, "output": {"plots": False, "dir": str(tmp_path / "r")},
    }  # fmt: skip
    out = run_classify(cfg, progress=False, log=lambda s: None)
    metrics = json.loads((out / "metrics.json").read_text())
    nb = metrics["neurobench"]
    with h5py.File(out / "states.h5") as f:
        test_counts = f["test_counts"][()]
    assert nb["ClassificationAccuracy"] == metrics["test_accuracy"]
    assert nb["samples"] == len(test_counts) == metrics["n_test"]
    spikes = int(test_counts.sum())
    assert nb["ActivationSparsity"] == pytest.approx(1 - spikes / (len(test_counts) * 40 * 8))
    assert nb["SynapticOperations"]["inputs_counted"] is True
    assert nb["energy"]["energy_per_sample_j"] == metrics["energy_per_sample_j"] > 0


def test_mean_of_blocks_and_the_zero_shot_summary():
    from spikelab.neurobench import mean_of_blocks
    from spikelab.tasks.zero_shot.run import neurobench_summary

    def block(acs: float, energy: float) -> dict:
        ops = {"Effective_MACs": 0.0, "Effective_ACs": acs, "Dense": 10.0}
        return {"Footprint": 100, "ConnectionSparsity": 0.5, "ActivationSparsity": 0.9,
                "SynapticOperations": ops, "energy": {"energy_per_sample_j": energy}}  # fmt: skip

    got = mean_of_blocks([block(1.0, 1e-9), block(3.0, 3e-9)])
    assert got["SynapticOperations"]["Effective_ACs"] == 2.0
    assert got["energy"] == {"energy_per_sample_j": pytest.approx(2e-9)}
    with pytest.raises(ValueError, match="at least one"):
        mean_of_blocks([])
    per_seed = [{"spikes": {"image": {"neurobench": block(1.0, 0.0)}}}]
    cell = {"contrastive_prototypes": {"mean": 0.75}}
    table = {d: {"zero_shot": cell} for d in ("audio_to_image", "image_to_audio")}
    summary = neurobench_summary(per_seed, table)
    assert summary["ClassificationAccuracy"] == {"audio_to_image": 0.75, "image_to_audio": 0.75}
    assert summary["per_modality"]["image"]["Footprint"] == 100

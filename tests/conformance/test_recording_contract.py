"""The Recording contract, the same on every backend: shapes, dtypes, counts equal to the
raster summed into bins, totals, voltage layout, and samples independent of their batch."""

from __future__ import annotations

import numpy as np
import pytest

from spikelab import RecordSpec, SpikeBatch

from .compare import Config, assert_conforms, reference
from .networks import lif_recurrent_hetero, mixed_lif_izh

N_STEPS = 250  # shorter runs: the contract, not the dynamics, is under test
BIN = 60  # 250 steps -> bins of 60, 60, 60, 60 and a short last one of 10
VOLTAGE = (3, 0, 41)  # unsorted, across both populations


@pytest.fixture(scope="module")
def contract_case() -> tuple:
    """A two-population network and a batch of 4 different samples, the third one empty."""
    case = lif_recurrent_hetero()
    x = np.stack(
        [case.batch.dense(b)[:N_STEPS] for b in range(2)]
        + [np.zeros((N_STEPS, case.batch.n_channels), np.float32)]
        + [case.batch.dense(1)[N_STEPS : 2 * N_STEPS]]
    )
    return case.net, SpikeBatch.from_dense(x, dt=case.dt), case.dt


def test_shapes_dtypes_and_counts(config: Config, contract_case: tuple) -> None:
    net, batch, dt = contract_case
    record = RecordSpec(bin_steps=BIN, raster=True, voltage=VOLTAGE)
    rec = config.compile(net, dt=dt, record=record).run(batch)
    B, N = len(batch), net.n_neurons
    n_bins = -(-N_STEPS // BIN)
    assert len(rec) == B
    assert rec.counts.shape == (B, n_bins, N) and rec.counts.dtype == np.int32
    assert (rec.bin_steps, rec.n_steps, rec.dt) == (BIN, N_STEPS, dt)
    assert rec.populations == net.pop_table()
    # counts == raster summed into bins (the last bin is short)
    assert rec.raster is not None and len(rec.raster) == B
    assert rec.raster.n_steps == N_STEPS and rec.raster.n_neurons == N
    for b in range(B):
        dense = rec.raster.dense(b)
        summed = np.add.reduceat(dense.astype(np.int32), np.arange(0, N_STEPS, BIN), axis=0)
        np.testing.assert_array_equal(rec.counts[b], summed)
    assert rec.n_spikes == int(rec.counts.sum()) == len(rec.raster.steps)
    assert not rec.counts[2].any(), "an empty input sample must stay silent (no bias drive?)"
    # voltage [B, T, k] for the neurons asked for, in that order
    assert rec.voltage is not None
    assert rec.voltage.shape == (B, N_STEPS, len(VOLTAGE))
    assert np.issubdtype(rec.voltage.dtype, np.floating)
    assert tuple(rec.voltage_neurons) == VOLTAGE
    ref = reference(net, batch, dt, record)
    if config.exact:
        assert rec.n_synaptic_events == ref.n_synaptic_events
        np.testing.assert_allclose(rec.voltage, ref.voltage, rtol=0, atol=1e-9)
    assert_conforms(config, ref, rec, f"{config.id} contract")


def test_default_record_is_one_bin(config: Config, contract_case: tuple) -> None:
    net, batch, dt = contract_case
    rec = config.compile(net, dt=dt, record=RecordSpec()).run(batch)
    assert rec.counts.shape == (len(batch), 1, net.n_neurons)
    assert rec.raster is None and rec.voltage is None
    assert rec.n_spikes == int(rec.counts.sum())


def test_samples_are_independent_of_their_batch(config: Config) -> None:
    """Running a sample alone gives what it gives inside a batch of different samples."""
    case = mixed_lif_izh()
    record = RecordSpec(bin_steps=100, raster=True)
    sim = config.compile(case.net, dt=case.dt, record=record)
    both = sim.run(case.batch)
    for b in range(len(case.batch)):
        alone = sim.run(case.batch.subset([b]))
        np.testing.assert_array_equal(alone.counts[0], both.counts[b])
        assert np.array_equal(alone.raster.dense(0), both.raster.dense(b))
    assert not np.array_equal(both.counts[0], both.counts[1]), "the samples should differ"

"""The shared stages, each handed the value its predecessor would give."""

from __future__ import annotations

import numpy as np
import pytest

from spikelab.config import EncodingConfig, ReservoirConfig
from spikelab.datasets import EVENT_DTYPE, generate_nmnist_like
from spikelab.encoding import EventEncoding
from spikelab.spikes import RecordSpec
from spikelab.tasks.stages import (
    ChunkedRun,
    Stopwatch,
    backend_extras,
    build_reservoir,
    cube_shape,
    load_split,
    run_chunked,
    spike_stats,
)


@pytest.mark.parametrize("n, shape", [(1000, (10, 10, 10)), (2000, (10, 10, 20)), (27, (3, 3, 3))])
def test_cube_shape(n, shape):
    assert cube_shape(n) == shape and np.prod(cube_shape(n)) == n


def test_build_reservoir_takes_a_section_or_its_table():
    enc = EncodingConfig(duration=50.0, polarity="merge").make((8, 8, 2))
    table = {"builder": "lsm_column", "n_neurons": 27, "bias_range": [0.0, 0.0]}
    a = build_reservoir(table, enc, 3)
    b = build_reservoir(ReservoirConfig.from_dict(table), enc, 3)
    assert a == b and a.n_neurons == 27 and a.inputs[0].shape == (8, 8, 1)
    izh = build_reservoir({"builder": "izhikevich_network", "n_neurons": 10}, enc, 0)
    assert [p.size for p in izh.populations] == [8, 2]
    lin = build_reservoir({"builder": "lin2025_lsm", "n_neurons": 12}, enc, 0)
    assert lin.n_neurons == 12 and lin.inputs[0].size == enc.n_channels


def test_load_split_limits_and_splits_by_the_seed(tmp_path):
    root = tmp_path / "nmnist-like"
    generate_nmnist_like(root, per_class=3, test_per_class=1, seed=0, progress=False)
    split = load_split({"root": str(root), "max_per_class": 2}, 0, lambda s: None)
    assert len(split.y_train) == 20 and len(split.y_test) == 10  # Train/ and Test/ folders
    assert split.sensor_size == (34, 34, 2) and split.train_events[0].dtype == EVENT_DTYPE
    assert np.bincount(split.y_train).tolist() == [2] * 10


def test_run_chunked_keeps_counts_and_per_sample_extras():
    enc = EventEncoding(sensor_size=(4, 4, 1), duration=20.0, polarity="merge")
    net = build_reservoir({"builder": "lin2025_lsm", "n_neurons": 5, "v_th": 0.1}, enc, 0)
    sim = net.compile("numba", dt=enc.dt, record=RecordSpec(bin_steps=10))
    events = [np.zeros(0, dtype=EVENT_DTYPE)] * 2 + [_burst()] * 3
    run = run_chunked(sim, events, encoding=enc, chunk_size=2)
    assert isinstance(run, ChunkedRun) and run.counts.shape == (5, 2, 5)
    assert run.counts[:2].sum() == 0 and run.n_spikes == run.counts.sum() > 0
    stats = spike_stats(net, run.counts, seconds=0.02)
    assert stats["spikes_per_sample"] == pytest.approx(run.counts.sum() / 5)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        run_chunked(sim, events, encoding=enc, chunk_size=0)
    with pytest.raises(ValueError, match="need an encoding"):
        run_chunked(sim, events)


def _burst() -> np.ndarray:
    ev = np.zeros(16, dtype=EVENT_DTYPE)
    ev["x"], ev["y"] = np.arange(16) % 4, np.arange(16) // 4
    ev["t"], ev["p"] = np.arange(16) * 500, 1
    return ev


def test_backend_extras_are_averaged_over_samples():
    extras = (("energy_per_sample_j", 1.0, 3), ("energy_per_sample_j", 5.0, 1))
    run = ChunkedRun(np.zeros((4, 1, 1)), 0, 0, 0.0, (), None, extras)
    assert backend_extras(run) == {"energy_per_sample_j": 2.0}


def test_stopwatch_times_named_stages():
    clock = Stopwatch()
    with clock("load_s"):
        pass
    clock.total()
    assert set(clock.timings) == {"load_s", "total_s"}
    assert clock.timings["total_s"] >= clock.timings["load_s"] >= 0.0

"""A run streams its counts into states.h5 as the chunks arrive: the simulation holds a
few chunks, not the count matrix (issue 15), and states.h5 is what the in-memory run gives,
bit for bit."""

from __future__ import annotations

import copy
import tracemalloc
import weakref

import h5py
import numpy as np
import pytest

from spikelab.config import ClassifyConfig
from spikelab.datasets import generate_nmnist_like
from spikelab.results import H5Counts
from spikelab.spikes import Recording, SpikeBatch
from spikelab.tasks import run_task, stages
from spikelab.tasks.stages import build_reservoir, compile_simulation, load_split, run_chunked

BINS, NEURONS, CHUNK = 10, 400, 4


class Tracked:
    """Counts arrays handed out and still alive (a weak reference each)."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref] = []
        self.most = 0

    def add(self, counts: np.ndarray) -> None:
        self.refs.append(weakref.ref(counts))
        self.most = max(self.most, sum(r() is not None for r in self.refs))


class FakeSimulation:
    """A simulation returning int32 counts of a fixed shape (numpy only, no kernel)."""

    def __init__(self, tracked: Tracked) -> None:
        self.tracked = tracked

    def run(self, batch: SpikeBatch) -> Recording:
        counts = np.full((len(batch), BINS, NEURONS), 3, dtype=np.int32)
        self.tracked.add(counts)
        return Recording(counts=counts, bin_steps=1, n_steps=BINS, dt=1.0,
                         populations=(("exc", 0, NEURONS),))  # fmt: skip


def batch(n: int) -> SpikeBatch:
    return SpikeBatch.from_dense(np.zeros((n, 1, 2)), dt=1.0)


def peak_bytes(n: int, sink_path=None) -> tuple[int, int]:
    """(tracemalloc peak during run_chunked over ``n`` samples, most chunks alive at once);
    streamed into an HDF5 file at ``sink_path``, else gathered in memory."""
    data, tracked = batch(n), Tracked()
    with h5py.File(sink_path, "w") if sink_path else _nothing() as f:
        sink = H5Counts(f, "train_counts", n, compress=False) if sink_path else None
        tracemalloc.start()
        try:
            run = run_chunked(FakeSimulation(tracked), data, chunk_size=CHUNK, sink=sink)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert run.counts.shape == (n, BINS, NEURONS)
        if sink_path:
            assert int(run.counts[n - 1].sum()) == 3 * BINS * NEURONS
    return peak, tracked.most


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_run_chunked_into_hdf5_holds_a_few_chunks_whatever_the_size(tmp_path):
    chunk_bytes = CHUNK * BINS * NEURONS * 4  # 64 kB
    total = 160 * chunk_bytes  # 10 MB of counts
    small, small_alive = peak_bytes(16 * CHUNK, tmp_path / "small.h5")
    big, big_alive = peak_bytes(160 * CHUNK, tmp_path / "big.h5")
    gathered, gathered_alive = peak_bytes(160 * CHUNK)  # the old way: one array at the end
    assert big_alive <= 3 and small_alive <= 3  # the first chunk's recording + one or two
    assert gathered_alive == 160
    # tracemalloc sees every thread's allocations (a Dask client of another test may be
    # alive): generous bounds, still far below the matrix the old way held (twice, at the end)
    assert big < total / 5, (small, big, gathered)
    assert gathered > total, (small, big, gathered)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream") / "nmnist-like"
    generate_nmnist_like(root, per_class=3, test_per_class=1, seed=0, progress=False)
    return root


def tiny(root, out, **output) -> dict:
    return {
        "name": "tiny",
        "dataset": {"root": str(root)},
        "encoding": {"dt": 1.0, "duration": 60.0},
        "reservoir": {"builder": "lsm_column", "n_neurons": 8, "input_fraction": 1.0},
        "record": {"bin_steps": 30},
        "baseline": {"n_time_bins": 0},
        "output": {"plots": False, "chunk_size": 2, "dir": str(out), **output},
    }


def count_alive(monkeypatch) -> Tracked:
    """Track every chunk's counts that reaches run_chunked."""
    tracked, inner = Tracked(), stages._recordings

    def recordings(*args):
        for rec in inner(*args):
            tracked.add(rec.counts)
            yield rec

    monkeypatch.setattr(stages, "_recordings", recordings)
    return tracked


def test_a_run_streams_its_counts_into_states_h5(data_root, tmp_path, monkeypatch):
    cfg = tiny(data_root, tmp_path / "run")
    tracked = count_alive(monkeypatch)
    out = run_task(copy.deepcopy(cfg), progress=False)
    assert len(tracked.refs) == 15 + 5  # 30 train, 10 test samples in chunks of 2
    # at most: each split's first chunk (ChunkedRun.first), the last one and the next one,
    # never the 15 train chunks (the counts gathered in memory held them all)
    assert tracked.most <= 4
    typed = ClassifyConfig.coerce(cfg)  # the same states as the counts gathered in memory
    split = load_split(typed.dataset, 0, lambda line: None)
    enc = typed.encoding.make(split.sensor_size)
    sim = compile_simulation(build_reservoir(typed.reservoir, enc, 0), typed.backend, enc.dt,
                             __import__("spikelab").RecordSpec(bin_steps=30))  # fmt: skip
    with h5py.File(out / "states.h5", "r") as f:
        for key, events in (
            ("train_counts", split.train_events),
            ("test_counts", split.test_events),
        ):
            expected = run_chunked(sim, events, encoding=enc, chunk_size=5).counts
            assert f[key].dtype == expected.dtype and np.array_equal(f[key][()], expected), key
            assert f[key].compression == "gzip"


def test_without_save_states_the_scratch_counts_are_removed(data_root, tmp_path):
    out = run_task(tiny(data_root, tmp_path / "run", save_states=False), progress=False)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [
        ".spikelab-results.json"
    ]
    with h5py.File(out / "states.h5", "r") as f:
        assert "train_counts" not in f and "y_train" in f


def test_a_failed_run_leaves_no_folder(data_root, tmp_path, monkeypatch):
    from spikelab.tasks import classify

    def broken(*args, **kw):
        raise RuntimeError("readout diverged")

    monkeypatch.setattr(classify, "fit_readout", broken)
    with pytest.raises(RuntimeError, match="diverged"):
        run_task(tiny(data_root, tmp_path / "run"), progress=False)
    assert list(tmp_path.iterdir()) == []  # no results folder, no temporary left

"""A classify run reads a file-backed dataset's events lazily (issue 15): each sample from
its file when a stage uses it, the same events each time, the same states and accuracy as
the events read up front; ``LazyEvents`` pickles as file references, not as events."""

from __future__ import annotations

import copy
import json
import pickle

import h5py
import numpy as np
import pytest

from spikelab.config import ClassifyConfig
from spikelab.datasets import EVENT_DTYPE, generate_nmnist_like, nmnist, write_mnist_file
from spikelab.datasets.lazy import LazyEvents, lazy_events
from spikelab.tasks import run_task, stages
from spikelab.tasks.stages import load_split


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("lazy") / "nmnist-like"
    generate_nmnist_like(root, per_class=3, test_per_class=1, seed=0, progress=False)
    return root


def tiny(root, out) -> dict:
    return {
        "name": "tiny",
        "dataset": {"root": str(root)},
        "encoding": {"dt": 1.0, "duration": 60.0},
        "reservoir": {"builder": "lsm_column", "n_neurons": 8, "input_fraction": 1.0},
        "record": {"bin_steps": 30},
        "baseline": {"n_time_bins": 3},
        "transforms": [{"name": "DropEvent", "p": 0.3}],  # random: drawn again on every read
        "output": {"plots": False, "chunk_size": 4, "dir": str(out)},
    }


def eager(monkeypatch) -> None:
    """Every split read up front, as before lazy events."""
    inner = stages.read_samples
    monkeypatch.setattr(stages, "read_samples", lambda ds, desc, lazy=False: inner(ds, desc))


def test_a_lazy_run_equals_the_eager_run_bit_for_bit(data_root, tmp_path, monkeypatch):
    cfg = tiny(data_root, tmp_path / "lazy")
    split = load_split(ClassifyConfig.coerce(cfg).dataset, 0, lazy=True)
    assert isinstance(split.train_events, LazyEvents)  # the classify run's own events
    with_plots = copy.deepcopy(cfg)
    with_plots["output"]["plots"] = True  # the raster of the first test sample, read lazily
    lazy = run_task(with_plots, progress=False)
    eager(monkeypatch)
    cfg["output"]["dir"] = str(tmp_path / "eager")
    before = run_task(cfg, progress=False)
    with h5py.File(lazy / "states.h5", "r") as a, h5py.File(before / "states.h5", "r") as b:
        for key in ("train_counts", "test_counts", "y_train", "y_test", "test_predictions"):
            assert np.array_equal(a[key][()], b[key][()]), key
    m_lazy, m_eager = (json.loads((d / "metrics.json").read_text()) for d in (lazy, before))
    for key in ("test_accuracy", "train_accuracy", "baseline_test_accuracy", "encoding_events",
                "spikes", "data"):  # fmt: skip
        assert m_lazy[key] == m_eager[key], key
    assert (lazy / "raster.png").is_file()


def test_lazy_events_read_the_same_events_each_time(data_root):
    cfg = ClassifyConfig.coerce(tiny(data_root, "unused"))
    ds = nmnist(data_root, train=True, transform=cfg.event_transform())
    events = lazy_events(ds)
    assert events is not None and len(events) == len(ds)
    for i in (0, 7, len(ds) - 1):
        expected = ds[i][0]
        assert events[i].dtype == EVENT_DTYPE
        assert np.array_equal(events[i], expected) and np.array_equal(events[i], expected)
    view = events[3:9]
    assert isinstance(view, LazyEvents) and len(view) == 6
    assert np.array_equal(view[0], ds[3][0])
    assert np.array_equal(pickle.loads(pickle.dumps(view))[5], ds[8][0])
    assert len(events + view) == len(ds) + 6  # as lists do: every sample, read now


def test_in_memory_datasets_stay_eager():
    from spikelab.datasets import EventDataset

    ds = EventDataset(events=[np.zeros(3, EVENT_DTYPE)], labels=[0], sensor_size=(34, 34, 2),
                      classes=["0"])  # fmt: skip
    assert lazy_events(ds) is None
    from spikelab.datasets.event_cache import EventLookup

    held = EventLookup(["a"], [np.zeros(10**5, EVENT_DTYPE)])  # FSDD's: events in memory
    files = EventDataset(paths=["a"], reader=held, labels=[0], sensor_size=(34, 34, 2),
                         classes=["0"])  # fmt: skip
    assert lazy_events(files) is None  # would pickle its 3.2 MB of events with every chunk
    unpicklable = EventDataset(paths=["a"], reader=lambda p: np.zeros(1, EVENT_DTYPE),
                               labels=[0], sensor_size=(34, 34, 2), classes=["0"])  # fmt: skip
    assert lazy_events(unpicklable) is None


def test_the_pickle_does_not_grow_with_the_events(tmp_path):
    rng = np.random.default_rng(0)

    def folder(name: str, n_events: int) -> LazyEvents:
        for label in range(2):
            for k in range(20):
                ev = np.zeros(n_events, EVENT_DTYPE)
                ev["x"], ev["y"] = rng.integers(0, 34, (2, n_events))
                ev["t"] = np.sort(rng.integers(0, 300_000, n_events))
                ev["p"] = rng.integers(0, 2, n_events)
                write_mnist_file(tmp_path / name / "Train" / str(label) / f"{k:05d}.bin", ev)
        return lazy_events(nmnist(tmp_path / name, train=True))

    few, many = folder("a", 10), folder("b", 20_000)
    event_bytes = sum(many[i].nbytes for i in range(len(many)))  # 40 x 20,000 x 32 B
    size_few, size_many = len(pickle.dumps(few)), len(pickle.dumps(many))
    assert size_few == size_many  # the same paths' lengths: the same pickle, whatever they hold
    assert size_many < event_bytes / 1000, (size_many, event_bytes)
    restored = pickle.loads(pickle.dumps(many))
    assert np.array_equal(restored[39], many[39])

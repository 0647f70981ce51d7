"""N-MNIST reading, writing and folder loading, on the real files in ../shared when present."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import tonic.dataset
import tonic.datasets
import tonic.io
from hypothesis import given, settings
from hypothesis import strategies as st

from spikelab.datasets import (
    EVENT_DTYPE,
    DatasetError,
    EventDataset,
    nmnist,
    read_mnist_file,
    stratified_split,
    write_mnist_file,
)
from spikelab.datasets.nmnist import NMNIST_CLASSES, parse_mnist_bytes


def _events(x, y, t, p) -> np.ndarray:
    ev = np.zeros(len(x), dtype=EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = x, y, t, p
    return ev


GOOD = _events([1, 5, 33, 0], [2, 33, 7, 0], [10, 20, 20, 5_000_000], [1, 0, 1, 0])


def _make_folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _good_bytes(tmp_path: Path) -> bytes:
    return write_mnist_file(tmp_path / "good.bin", GOOD).read_bytes()


# -- real files -----------------------------------------------------------------------------


@pytest.mark.needs_data
def test_real_folder_labels_and_metadata(nmnist_small):
    ds = nmnist(nmnist_small)
    assert len(ds) == 1000
    assert ds.sensor_size == (34, 34, 2)
    assert ds.classes == list(tonic.datasets.NMNIST.classes) == NMNIST_CLASSES
    assert ds.labels.dtype == np.int64
    assert [int(p.parent.name) for p in ds.paths] == ds.labels.tolist()
    for label in range(10):
        n_files = len(list((nmnist_small / "Train" / str(label)).glob("*.bin")))
        assert np.sum(ds.labels == label) == n_files > 0
    events, label = ds[0]
    assert events.dtype == EVENT_DTYPE and label == ds.labels[0]


@pytest.mark.needs_data
def test_every_real_file_validates_and_round_trips_byte_for_byte(nmnist_small, tmp_path):
    ds = nmnist(nmnist_small)
    out = tmp_path / "copy.bin"
    for i, path in enumerate(ds.paths):
        events, _ = ds[i]
        assert 0 <= events["x"].min() and events["x"].max() < 34
        assert np.all(np.diff(events["t"]) >= 0)
        write_mnist_file(out, events)
        assert out.read_bytes() == path.read_bytes(), path
    assert [p.name for p in tmp_path.iterdir()] == ["copy.bin"]  # no temporary left over


@pytest.mark.needs_data
def test_reader_agrees_with_tonic(nmnist_small):
    ds = nmnist(nmnist_small)
    for i in (0, 499, 999):
        ours, _ = ds[i]
        theirs = tonic.io.read_mnist_file(str(ds.paths[i]), dtype=tonic.datasets.NMNIST.dtype)
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.skipif(np.dtype(int) != np.int64, reason="tonic's dtype uses the platform int")
def test_event_dtype_is_tonics():
    assert EVENT_DTYPE == tonic.datasets.NMNIST.dtype


@pytest.mark.needs_data
def test_train_false_without_test_folder_suggests_split(nmnist_small):
    with pytest.raises(FileNotFoundError, match=r"no Test/ folder.*stratified_split"):
        nmnist(nmnist_small, train=False)


def test_missing_root_names_path_and_generator(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        nmnist(missing)
    assert str(missing) in str(info.value)
    assert "spikelab datasets generate nmnist-like OUT" in str(info.value)


def test_root_without_train_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Train/ folder"):
        nmnist(tmp_path)


# -- corrupt and truncated files ------------------------------------------------------------


def _corrupt_set(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    good = _good_bytes(tmp_path)
    bad_x = bytearray(good)
    bad_x[5] = 40  # second event x = 40, outside 34x34
    back = bytearray(good)
    back[-5:] = bytes([0, 0, 0, 0, 1])  # last event at t=1 µs, after 20 µs
    files = {
        "Train/0/a_good.bin": good,
        "Train/1/b_truncated.bin": good[:-2],
        "Train/2/c_empty.bin": b"",
        "Train/3/d_outside.bin": bytes(bad_x),
        "Train/4/e_backwards.bin": bytes(back),
    }
    return _make_folder(tmp_path / "data", files), files


def test_truncated_file_error_names_file(tmp_path):
    root, _ = _corrupt_set(tmp_path)
    with pytest.raises(DatasetError, match=r"b_truncated\.bin: 18 bytes is not a multiple of 5"):
        nmnist(root)
    with pytest.raises(DatasetError, match=r"b_truncated\.bin.*not a multiple of 5"):
        read_mnist_file(root / "Train/1/b_truncated.bin")
    with pytest.raises(DatasetError, match=r"c_empty\.bin: file is empty"):
        read_mnist_file(root / "Train/2/c_empty.bin")


def test_content_errors_name_file_when_read(tmp_path):
    root, _ = _corrupt_set(tmp_path)
    for name in ("b_truncated.bin", "c_empty.bin"):
        next(root.glob(f"Train/*/{name}")).unlink()
    ds = nmnist(root)  # sizes are fine now; contents are checked on access
    assert len(ds) == 3
    assert ds[0][0].size == 4
    with pytest.raises(DatasetError, match=r"d_outside\.bin: event 1 at x=40, y=33 lies outside"):
        ds[1]
    with pytest.raises(DatasetError, match=r"e_backwards\.bin: timestamps go backwards at event 3"):
        ds[2]


def test_skip_mode_warns_with_count_and_names(tmp_path):
    root, _ = _corrupt_set(tmp_path)
    with pytest.warns(UserWarning, match=r"skipped 4 of 5 N-MNIST files: .*b_truncated\.bin"):
        ds = nmnist(root, on_error="skip")
    assert len(ds) == 1 and ds.labels.tolist() == [0]
    np.testing.assert_array_equal(ds[0][0], GOOD)


def test_bad_on_error_value(tmp_path):
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip', got 'ignore'"):
        nmnist(tmp_path, on_error="ignore")


def test_layout_errors(tmp_path):
    good = _good_bytes(tmp_path)
    root = _make_folder(tmp_path / "a", {"Train/7/x.bin": good, "Train/.hidden/y.bin": good})
    assert nmnist(root).labels.tolist() == [7]
    root = _make_folder(tmp_path / "b", {"Train/seven/x.bin": good})
    with pytest.raises(DatasetError, match="unexpected folder .*seven"):
        nmnist(root)
    (tmp_path / "c/Train/3").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no .bin files"):
        nmnist(tmp_path / "c")


def test_test_split_is_read(tmp_path):
    good = _good_bytes(tmp_path)
    root = _make_folder(tmp_path / "d", {"Train/1/a.bin": good, "Test/2/b.bin": good})
    assert nmnist(root, train=False).labels.tolist() == [2]


def test_tonic_download_layout_uses_tonic_without_downloading(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive", no_network)
    _good_bytes(tmp_path)  # writes tmp_path / "good.bin"
    location = tmp_path / "save_to" / "NMNIST"
    (location / "train.zip").parent.mkdir(parents=True)
    (location / "train.zip").write_bytes(b"")
    source = tmp_path / "good.bin"
    for label in range(10):
        folder = location / "Train" / str(label)
        folder.mkdir(parents=True)
        for k in range(1000):
            os.link(source, folder / f"{k:05d}.bin")
    ds = nmnist(tmp_path / "save_to")
    assert len(ds) == 10_000
    assert ds.labels.tolist() == sorted(ds.labels.tolist())
    assert ds.labels[-1] == 9 and ds.paths[-1].parent.name == "9"
    np.testing.assert_array_equal(ds[123][0], GOOD)
    assert len(nmnist(location)) == 10_000  # root may also be tonic's NMNIST folder itself
    shutil.rmtree(location / "Train" / "9")  # incomplete download: read as a plain folder
    assert len(nmnist(tmp_path / "save_to")) == 9000


# -- EventDataset -----------------------------------------------------------------------------


def test_cache_copies_subset_and_pickle(tmp_path):
    good = _good_bytes(tmp_path)
    files = {f"Train/{i % 3}/{i:02d}.bin": good for i in range(9)}
    root = _make_folder(tmp_path / "e", files)
    ds = nmnist(root, cache=True)
    first, _ = ds[0]
    first["x"][:] = 0  # callers get a copy
    for path in ds.paths:
        path.unlink()  # everything must now come from the cache...
    with pytest.raises(DatasetError, match="cannot be read"):
        ds.subset([1])[0]  # ...but only what was read
    np.testing.assert_array_equal(ds[0][0], GOOD)
    np.testing.assert_array_equal(ds[-9][0], GOOD)
    sub = ds[3:6]
    assert isinstance(sub, EventDataset) and sub.labels.tolist() == ds.labels[3:6].tolist()
    assert pickle.loads(pickle.dumps(ds))[0][1] == ds.labels[0]
    with pytest.raises(IndexError, match="out of range"):
        ds[9]
    with pytest.raises(ValueError):
        ds.labels[0] = 5  # read-only


def test_in_memory_dataset():
    ds = EventDataset(
        events=[GOOD, GOOD[:2]], labels=[1, 0], sensor_size=(34, 34, 2), classes=["a", "b"]
    )
    assert len(ds) == 2 and ds.paths is None
    assert ds[1][0].size == 2 and ds[1][1] == 0
    assert [label for _, label in ds] == [1, 0]
    assert ds.subset([1, 1, 0]).labels.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        EventDataset(events=[GOOD], labels=[2], sensor_size=(34, 34, 2), classes=["a", "b"])
    with pytest.raises(TypeError, match="exactly one of"):
        EventDataset(labels=[0], sensor_size=(34, 34, 2), classes=["a"])


# -- stratified_split ---------------------------------------------------------------------------


def test_stratified_split_proportions_and_determinism():
    labels = np.repeat(np.arange(10), [97, 116, 99, 93, 105, 92, 94, 117, 87, 100])
    train, test = stratified_split(labels, test_fraction=0.2, seed=0)
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.union1d(train, test), np.arange(labels.size))
    for c in range(10):
        n_c = np.sum(labels == c)
        assert np.sum(labels[test] == c) == round(0.2 * n_c)
    again = stratified_split(labels, test_fraction=0.2, seed=0)
    assert np.array_equal(test, again[1]) and np.array_equal(train, again[0])
    assert not np.array_equal(test, stratified_split(labels, 0.2, seed=1)[1])
    assert train.dtype == test.dtype == np.int64


def test_stratified_split_errors():
    with pytest.raises(ValueError, match="test_fraction must lie in"):
        stratified_split([0, 1], test_fraction=1.0)
    with pytest.raises(ValueError, match="empty test set"):
        stratified_split([0, 1, 2], test_fraction=0.1)
    with pytest.raises(TypeError, match="integer"):
        stratified_split([0.5, 1.0])


# -- writer -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("x", 34, r"x outside \[0, 34\)"),
        ("y", -1, r"y outside \[0, 34\)"),
        ("p", 2, "p not 0 or 1"),
        ("t", 1 << 23, r"t outside \[0, 8388608\) µs"),
    ],
)
def test_writer_rejects_what_the_format_cannot_hold(tmp_path, field, value, message):
    ev = GOOD.copy()
    ev[field][-1] = value
    with pytest.raises(ValueError, match=message):
        write_mnist_file(tmp_path / "x.bin", ev)
    assert not any(tmp_path.iterdir())


def test_writer_rejects_unsorted_and_unstructured(tmp_path):
    with pytest.raises(ValueError, match="non-decreasing"):
        write_mnist_file(tmp_path / "x.bin", GOOD[::-1])
    with pytest.raises(TypeError, match="structured array"):
        write_mnist_file(tmp_path / "x.bin", np.zeros(3))
    with pytest.raises(ValueError, match="non-empty"):
        write_mnist_file(tmp_path / "x.bin", GOOD[:0])


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=64),
        st.lists(st.binary(min_size=5, max_size=5), max_size=12).map(b"".join),
    )
)
def test_parser_never_crashes(raw):
    try:
        events = parse_mnist_bytes(raw)
    except DatasetError:
        return
    assert events.dtype == EVENT_DTYPE and events.size > 0
    assert events["x"].max() < 34 and events["y"].max() < 34
    assert np.all(np.diff(events["t"]) >= 0)


event_rows = st.lists(
    st.tuples(
        st.integers(0, 33), st.integers(0, 33), st.integers(0, (1 << 23) - 1), st.integers(0, 1)
    ),
    min_size=1,
    max_size=50,
)


@settings(max_examples=100, deadline=None)
@given(event_rows)
def test_write_read_identity(tmp_path_factory, rows):
    x, y, t, p = (np.array(col) for col in zip(*rows, strict=True))
    order = np.argsort(t, kind="stable")
    ev = _events(x[order], y[order], t[order], p[order])
    path = write_mnist_file(tmp_path_factory.mktemp("rt") / "e.bin", ev)
    np.testing.assert_array_equal(read_mnist_file(path), ev)

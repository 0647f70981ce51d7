"""Fuzz both N-TIDIGITS readers: a plain HDF5 file (read with h5py) and tonic's layout
(``<root>/NTIDIGITS18/n-tidigits.hdf5``, read through tonic), holding arbitrary sample
ids, datasets of any dtype and values, missing or mismatched groups; and random bytes as
the .hdf5 file. Opening and reading every sample gives valid events or a ``DatasetError``
(or another ``ValueError``/``TypeError`` of spikelab's) naming the file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spikelab.datasets.cochlea import AUDIO_EVENT_DTYPE
from spikelab.datasets.ntidigits import TONIC_FILENAME, TONIC_FOLDER, ntidigits

from .common import check_ours, fuzz_settings

pytest.importorskip("tonic")

IDS = ["man-ae-a-1", "woman-ar-b-z", "man-ae-o", "boy-x-a-123", "man-ae-a-zz1", "girl-q-b-9"]
DTYPES = ["int8", "uint8", "int16", "int64", "uint64", "float16", "float32", "float64"]
SPECIAL = [0.0, 0.5, 63.0, 64.0, -1.0, float("nan"), float("inf"), 1e13, -1e-9, 2.0**63]


def sample_ids() -> st.SearchStrategy:
    """Mostly valid ids (so that samples get read), sometimes arbitrary text."""
    valid = st.sampled_from(IDS)
    return st.lists(st.one_of(valid, valid, valid, st.text(max_size=10)), min_size=1,
                    max_size=4, unique=True)  # fmt: skip


def columns(n: int) -> st.SearchStrategy:
    """An addresses or timestamps dataset of ``n`` values (any shape, rarely): plausible
    values, edge cases, arbitrary numbers; stored with any dtype."""
    plausible = st.lists(st.floats(0, 63), min_size=n, max_size=n).map(np.array)
    edgy = st.lists(
        st.one_of(st.sampled_from(SPECIAL), st.floats(0, 63)), min_size=n, max_size=n
    ).map(np.array)
    dtype = st.sampled_from(DTYPES).map(np.dtype)
    shape = st.one_of(st.just((n,)), hnp.array_shapes(min_dims=0, max_dims=2, max_side=8))
    raw = shape.flatmap(lambda sh: hnp.arrays(dtype, sh))
    return st.tuples(st.one_of(plausible, edgy, raw), st.sampled_from(DTYPES + ["same"]))


def write_partition(h5: h5py.File, part: str, ids: list[str], data: st.DataObject) -> None:
    as_ints = data.draw(st.integers(0, 9), label=f"{part}_labels as integers") == 0
    h5[f"{part}_labels"] = (
        np.arange(len(ids)) if as_ints else np.array([i.encode("utf-8", "replace") for i in ids])
    )
    sizes = {i: data.draw(st.integers(0, 12), label=f"n events {i}") for i in ids}
    for col in ("addresses", "timestamps"):
        group = h5.create_group(f"{part}_{col}")
        for i in ids:
            if data.draw(st.integers(0, 19), label="drop") == 0 or not i or set(i) & {"/", "\x00"}:
                continue
            values, dtype = data.draw(columns(sizes[i]), label=f"{col}/{i}")
            with np.errstate(all="ignore"):
                arr = values if dtype == "same" else values.astype(dtype)
            group[i] = arr


def read_all(path: Path, reader: str, train: bool, name: str) -> None:
    """Open the split and read every sample; check the events or that the error is ours."""
    try:
        ds = ntidigits(path, train=train, reader=reader, single_digits=False)
        for k in range(len(ds)):
            events, digits = ds[k]
            assert events.dtype == AUDIO_EVENT_DTYPE and events.ndim == 1
            assert np.all((events["x"] >= 0) & (events["x"] < 64)), events
            assert np.all(events["t"] >= 0) and np.all(np.diff(events["t"]) >= 0), events
            assert np.all(events["p"] == 1) and digits.dtype == np.int64
    except (ValueError, TypeError, FileNotFoundError) as exc:
        check_ours(exc, name)


def write_file(path: Path, data: st.DataObject) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        for part in ("train", "test"):
            if data.draw(st.integers(0, 9), label=f"omit {part}") > 0:
                write_partition(h5, part, data.draw(sample_ids(), label=f"{part} ids"), data)


@fuzz_settings(60)
@given(st.data(), st.booleans())
def test_hdf5_layout(data, train):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.hdf5"
        write_file(path, data)
        read_all(path, "hdf5", train, path.name)


def outcome(path: Path, reader: str) -> list | str:
    """Every sample's events (as lists) or the error's type."""
    try:
        ds = ntidigits(path, reader=reader, single_digits=False)
        return [ds[k][0].tolist() for k in range(len(ds))]
    except (ValueError, TypeError, FileNotFoundError) as exc:
        return type(exc).__name__


@fuzz_settings(60)
@given(st.data(), st.booleans())
def test_tonic_layout(data, train):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / TONIC_FOLDER / TONIC_FILENAME
        write_file(path, data)
        read_all(Path(tmp), "tonic", train, TONIC_FILENAME)
        assert outcome(Path(tmp), "tonic") == outcome(path, "hdf5")  # "identical events"


REPRODUCTIONS = {  # name: (addresses, timestamps in s)
    "unsorted": ([0, 0, 0], [0.0, 1.0, 0.0]),
    "negative-t": ([0], [-1.0]),
    "nan-t": ([0], [float("nan")]),
    "t-1e13": ([0], [1e13]),
    "address-64": ([64], [0.0]),
    "fractional-address": ([0.5], [0.0]),
    "float16-t": ([0], np.zeros(1, np.float16)),
}


@pytest.mark.parametrize("reader", ["tonic", "hdf5"])
@pytest.mark.parametrize("case", sorted(REPRODUCTIONS))
def test_minimal_reproductions(tmp_path, case, reader):
    """What the fuzzers found in the readers, as minimal files in tonic's layout."""
    addresses, seconds = REPRODUCTIONS[case]
    path = tmp_path / TONIC_FOLDER / TONIC_FILENAME
    path.parent.mkdir()
    with h5py.File(path, "w") as h5:
        h5["train_labels"] = np.array([b"man-ae-a-1"])
        h5.create_group("train_addresses")["man-ae-a-1"] = np.array(addresses)
        h5.create_group("train_timestamps")["man-ae-a-1"] = np.asarray(seconds)
    read_all(tmp_path if reader == "tonic" else path, reader, True, TONIC_FILENAME)
    assert outcome(tmp_path, "tonic") == outcome(path, "hdf5")


@pytest.mark.parametrize("sample_id", [b"\x000", b"", b"a/b"], ids=["nul-first", "empty", "slash"])
def test_sample_id_h5py_cannot_look_up(tmp_path, sample_id):
    path = tmp_path / "f.hdf5"
    with h5py.File(path, "w") as h5:
        h5["train_labels"] = np.array([sample_id])
        h5.create_group("train_addresses")
        h5.create_group("train_timestamps")
    read_all(path, "hdf5", True, path.name)

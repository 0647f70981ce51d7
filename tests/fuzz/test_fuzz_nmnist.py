"""Fuzz the N-MNIST reader (``read_mnist_file``): arbitrary bytes, truncated files and
valid files with flipped bytes either give valid events or a ``DatasetError`` naming the
file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from spikelab.datasets import DatasetError
from spikelab.datasets.base import EVENT_DTYPE
from spikelab.datasets.nmnist import NMNIST_SENSOR_SIZE, read_mnist_file, write_mnist_file

from .common import check_ours, fuzz_settings


def _valid_events(n: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["x"] = rng.integers(0, 34, n)
    ev["y"] = rng.integers(0, 34, n)
    ev["p"] = rng.integers(0, 2, n)
    ev["t"] = np.sort(rng.integers(0, 300_000, n))
    return ev


def _valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_mnist_file(Path(tmp) / "v.bin", _valid_events()).read_bytes()


VALID = _valid_bytes()


def read_checked(raw: bytes) -> None:
    """Write ``raw`` as a .bin file and read it: valid events or our error naming it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample_00042.bin"
        path.write_bytes(raw)
        try:
            events = read_mnist_file(path)
        except DatasetError as exc:
            check_ours(exc, path.name)
            return
    assert events.dtype == EVENT_DTYPE and events.ndim == 1 and events.size > 0
    width, height, polarities = NMNIST_SENSOR_SIZE
    assert np.all((events["x"] >= 0) & (events["x"] < width))
    assert np.all((events["y"] >= 0) & (events["y"] < height))
    assert np.all((events["p"] >= 0) & (events["p"] < polarities))
    assert np.all(events["t"] >= 0) and np.all(np.diff(events["t"]) >= 0)


@fuzz_settings(150)
@given(st.binary(max_size=400))
@example(b"")
@example(b"\x00" * 5)
@example(b"\x00\xf0\x00\x00\x00" * 3)  # only timestamp-overflow markers
@example(b"\x00\xf0\x00\x00\x00\x01\x01\x80\x00\x01")  # a marker, then one event
def test_arbitrary_bytes(raw):
    read_checked(raw)


@fuzz_settings(100)
@given(st.data())
def test_valid_file_with_flipped_bytes(data):
    raw = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 8), label="n_flips")):
        i = data.draw(st.integers(0, len(raw) - 1), label="at")
        raw[i] = data.draw(st.integers(0, 255), label="byte")
    read_checked(bytes(raw))


@fuzz_settings(50)
@given(st.integers(0, len(VALID)), st.binary(max_size=12))
def test_truncated_or_extended_valid_file(cut, tail):
    read_checked(VALID[:cut] + tail)

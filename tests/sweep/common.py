"""Helpers of the sweep tests: reading and comparing states.h5 files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def h5_datasets(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file (name -> array)."""
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda k, v: out.__setitem__(k, v[()]) if isinstance(v, h5py.Dataset) else None
        )
    return out


def assert_same_states(a: Path, b: Path) -> None:
    """Bit for bit: the same datasets, dtypes and values in two states.h5 files."""
    da, db = h5_datasets(a), h5_datasets(b)
    assert sorted(da) == sorted(db)
    for key in da:
        assert da[key].dtype == db[key].dtype, key
        assert np.array_equal(da[key], db[key]), key

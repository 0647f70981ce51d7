"""spikelab.fileio: whole files or nothing, in the modes open/mkdir would give."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from spikelab.fileio import (
    atomic_folder,
    default_file_mode,
    default_folder_mode,
    json_safe,
    write_bytes_atomic,
    write_json_atomic,
)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_and_folders_get_the_umask_modes_not_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        f = write_json_atomic(tmp_path / "a" / "m.json", {"x": np.float32(1.5)})
        with atomic_folder(tmp_path / "out") as tmp:
            (tmp / "f.txt").write_text("x")
    finally:
        os.umask(old)
    assert json.loads(f.read_text()) == {"x": 1.5}
    assert _mode(f) == 0o644 and _mode(tmp_path / "out") == 0o755
    assert default_file_mode() == 0o666 & ~old and default_folder_mode() == 0o777 & ~old


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path, monkeypatch):
    def boom(self, data):
        raise OSError("disk full")

    monkeypatch.setattr(type(tmp_path), "write_bytes", boom)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(tmp_path / "x.bin", b"abc")
    assert list(tmp_path.iterdir()) == []


def test_an_exception_inside_atomic_folder_keeps_the_old_folder(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "old.txt").write_text("kept")
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "new.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_json_safe_turns_numpy_and_non_finite_values_into_json():
    v = json_safe({1: (np.int64(2), np.array([1.0, np.inf])), "n": float("nan")})
    assert v == {"1": [2, [1.0, None]], "n": None}

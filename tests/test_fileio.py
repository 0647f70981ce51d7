"""spikelab.fileio: whole files or nothing, in the modes open/mkdir would give."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from spikelab.fileio import (
    atomic_folder,
    clean_stale,
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


# ---- what atomic_folder never replaces, and the temporaries a killed writer leaves ------------
def test_atomic_folder_refuses_a_regular_file(tmp_path):
    f = tmp_path / "out"
    f.write_text("precious")
    with pytest.raises(FileExistsError, match="not a folder"), atomic_folder(f) as tmp:
        (tmp / "x").write_text("x")
    assert f.read_text() == "precious" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_empty_current_folder_is_filled_in_place(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    inode = here.stat().st_ino
    monkeypatch.chdir(here)
    with atomic_folder(".") as tmp:
        (tmp / "a.txt").write_text("a")
    assert here.stat().st_ino == inode and os.path.samefile(".", here)
    assert sorted(p.name for p in here.iterdir()) == ["a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]


WRITER = """
import os, sys, time
from pathlib import Path
from spikelab import fileio
out, stage = Path(sys.argv[1]), sys.argv[2]
if stage == "replace":  # stop between moving the old folder aside and the new into place
    real = os.replace
    def slow(src, dst):
        real(src, dst)
        if Path(dst).name == out.name and ".old-" in str(dst):
            print("ready", flush=True)
            time.sleep(600)
    fileio.os.replace = slow
with fileio.atomic_folder(out) as tmp:
    (tmp / "new.txt").write_text("new")
    if stage == "fill":
        print("ready", flush=True)
        time.sleep(600)
"""


def start_writer(tmp_path, out, stage):
    import subprocess
    import sys

    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out), stage], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def kill9(proc):
    import signal

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()


def strays(parent, name):
    return sorted(p.name for p in parent.rglob(f".{name}.*-*"))


@pytest.mark.parametrize("existing", [False, True])
def test_sigkill_while_filling_leaves_nothing_after_the_next_write(tmp_path, existing):
    parent = tmp_path / "runs"
    out = parent / "res"
    if existing:  # an empty folder is filled in place: the temporary sits inside it
        out.mkdir(parents=True)
    proc = start_writer(tmp_path, out, "fill")
    try:
        assert strays(parent, "res")  # the temporary of the running writer
        assert clean_stale(out, min_age_s=0.0) == []  # a live writer's temporary is kept
        assert strays(parent, "res")
    finally:
        kill9(proc)
    assert strays(parent, "res")  # what SIGKILL leaves
    with atomic_folder(out) as tmp:
        (tmp / "again.txt").write_text("again")
    assert strays(parent, "res") == []
    assert sorted(p.name for p in out.iterdir()) == ["again.txt"]


def test_sigkill_while_replacing_restores_the_previous_folder(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "old.txt").write_text("previous results")
    proc = start_writer(tmp_path, out, "replace")
    kill9(proc)
    assert not out.exists() and len(strays(tmp_path, "res")) >= 2
    clean_stale(out)
    assert (out / "old.txt").read_text() == "previous results"
    assert strays(tmp_path, "res") == []


def test_clean_stale_leaves_folders_that_are_not_its_own(tmp_path):
    mine = tmp_path / ".res.tmp-user"  # the naming pattern, but a user's files, no stamp
    mine.mkdir()
    (mine / "notes.txt").write_text("kept")
    other = tmp_path / ".other.tmp-x"  # another folder's temporaries
    other.mkdir()
    assert clean_stale(tmp_path / "res", min_age_s=0.0) == []
    assert (mine / "notes.txt").is_file() and other.is_dir()


def test_an_unstamped_empty_temporary_of_a_dead_process_is_removed(tmp_path):
    """Killed between creating its temporary folder and stamping it: the process id in the
    folder's name tells that its writer is gone."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    dead = tmp_path / f".res.tmp-{int(proc.stdout)}-abc"
    alive = tmp_path / f".res.tmp-{os.getpid()}-abc"
    dead.mkdir()
    alive.mkdir()
    assert clean_stale(tmp_path / "res") == [dead]
    assert alive.is_dir() and not dead.exists()

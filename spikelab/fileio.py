"""JSON values and atomic writes: the one place files are written safely.

* ``json_default`` / ``json_safe``: numpy values and tuples as plain JSON (``json_safe``
  also turns non-finite floats into ``null``, for metrics).
* ``atomic_path``: a temporary sibling to write before ``os.replace``.
* ``write_bytes_atomic`` / ``write_text_atomic`` / ``write_json_atomic``: a whole file or
  nothing.
* ``atomic_folder``: a folder filled under a temporary name, renamed into place at the end;
  ``clean_stale``: the temporary folders a killed writer left, removed on the next write.

What lands in place has the modes ``open`` and ``mkdir`` give under the current umask
(0o644 and 0o755 under 0o022), not the private modes of ``tempfile`` (0o600, 0o700), so
results and generated data can be shared like any other file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def json_default(o: object) -> object:
    """``json.dumps(..., default=json_default)`` for metadata: numpy scalars and arrays,
    tuples, sets."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple | set):
        return list(o)
    raise TypeError(f"metadata value of type {type(o).__name__} is not JSON-serialisable")


def json_safe(o: Any) -> Any:
    """``o`` as plain JSON types, recursively; NaN and inf become None (JSON has neither)."""
    if isinstance(o, dict):
        return {str(k): json_safe(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [json_safe(v) for v in o]
    if isinstance(o, np.generic):
        return json_safe(o.item())
    if isinstance(o, np.ndarray):
        return json_safe(o.tolist())
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file under the current umask."""
    return 0o666 & ~_umask()


def default_folder_mode() -> int:
    """The mode ``mkdir`` gives a new folder under the current umask."""
    return 0o777 & ~_umask()


def atomic_path(path: Path) -> Path:
    """A temporary sibling of ``path`` (mode as ``open`` would give it) to write to before
    ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, default_file_mode())
    return Path(tmp)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all (temporary sibling, then rename);
    parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, value: Any, *, indent: int = 2) -> Path:
    """``value`` (made JSON-safe) written atomically as JSON to ``path``."""
    return write_text_atomic(path, json.dumps(json_safe(value), indent=indent) + "\n")


WRITING = ".spikelab-writing.json"  # first file of every temporary folder: who writes it


def temporary_names(name: str) -> tuple[str, str]:
    """The prefixes of ``atomic_folder``'s temporary folders for a folder called ``name``."""
    return f".{name}.tmp-", f".{name}.old-"


def _stamp(folder: Path) -> None:
    """Mark a temporary folder as ours and alive: process id, host, time."""
    import socket
    import time

    stamp = {"pid": os.getpid(), "host": socket.gethostname(), "created": time.time()}
    (folder / WRITING).write_text(json.dumps(stamp))


def _gone(pid: int) -> bool:
    """No process ``pid`` runs on this host (ours excepted: never gone)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _is_stale(folder: Path, min_age_s: float) -> bool:
    """A temporary folder of ours whose writer is gone: stamped by a process of this host
    that no longer runs; unstamped (killed between creating and stamping it): empty, and
    its process (named in the folder's name) gone or the folder older than ``min_age_s``."""
    import socket
    import time

    stamp = folder / WRITING
    if not stamp.is_file():
        if any(folder.iterdir()):
            return False
        pid = folder.name.rpartition("-")[0].rpartition("-")[2]
        old = time.time() - folder.stat().st_mtime > min_age_s
        return old or (pid.isdigit() and _gone(int(pid)))
    try:
        info = json.loads(stamp.read_text())
        pid, host = int(info["pid"]), str(info["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return host == socket.gethostname() and _gone(pid)


def clean_stale(out: str | Path, *, min_age_s: float = 60.0) -> list[Path]:
    """Remove ``atomic_folder``'s temporary folders for ``out`` that a killed process left
    (beside ``out`` and, for a folder written in place, inside it); a previous folder left
    aside by an interrupted replacement goes back into place when ``out`` is missing.
    Only folders of the exact naming pattern that are stamped by a dead process of this
    host (or are empty and old) are touched. Returns the folders removed."""
    out = Path(os.path.abspath(out))
    removed = []
    for where in (out.parent, out):
        if not where.is_dir():
            continue
        for entry in sorted(where.iterdir()):
            if not (entry.name.startswith(temporary_names(out.name)) and entry.is_dir()):
                continue
            if entry.is_symlink() or not _is_stale(entry, min_age_s):
                continue
            aside = entry / out.name
            if entry.name.startswith(temporary_names(out.name)[1]) and aside.is_dir():
                if not out.exists():
                    os.replace(aside, out)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _new_temporary(where: Path, prefix: str) -> Path:
    """A stamped temporary folder ``PREFIX<pid>-<random>`` in ``where``."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=where))
    tmp.chmod(default_folder_mode())
    _stamp(tmp)
    return tmp


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(
            f"{out} exists and is not a folder; refusing to replace it, choose another path"
        )
    cwd = Path.cwd().resolve()
    if (
        out.exists()
        and any(out.iterdir())
        and (cwd == out.resolve() or out.resolve() in cwd.parents)
    ):
        raise ValueError(
            f"{out} is (or contains) the current folder and is not empty; cannot replace it "
            "while working in it: run from its parent or choose another output folder"
        )


def _move_in(tmp: Path, out: Path) -> None:
    """An empty existing folder receives the entries of ``tmp`` (kept in place: it may be
    the current folder or a mount point)."""
    for entry in sorted(tmp.iterdir()):
        if entry.name != WRITING:
            os.replace(entry, out / entry.name)


def _replace(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    old = _new_temporary(out.parent, temporary_names(out.name)[1])
    os.replace(out, old / out.name)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_folder(out: str | Path) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it replaces ``out`` by renames, so
    ``out`` is never half-written. On an exception the temporary folder is removed.

    ``out`` is made absolute first (``"."`` works). An existing empty folder is filled in
    place (its entries are moved in; the folder itself is never renamed); a regular file
    at ``out`` is refused. Temporary folders (``.NAME.tmp-*``, ``.NAME.old-*``) carry a
    stamp naming their process, so the next write cleans those a killed run left
    (``clean_stale``). What is allowed to be replaced is the caller's decision
    (``spikelab.results.check_output``)."""
    out = Path(os.path.abspath(out))
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    in_place = out.is_dir() and not any(out.iterdir())
    tmp = _new_temporary(out if in_place else out.parent, temporary_names(out.name)[0])
    try:
        yield tmp
        if in_place:
            _move_in(tmp, out)
        else:
            _replace(tmp, out)
            (out / WRITING).unlink(missing_ok=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

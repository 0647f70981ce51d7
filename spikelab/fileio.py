"""JSON values and atomic writes: the one place files are written safely.

* ``json_default`` / ``json_safe``: numpy values and tuples as plain JSON (``json_safe``
  also turns non-finite floats into ``null``, for metrics).
* ``atomic_path``: a temporary sibling to write before ``os.replace``.
* ``write_bytes_atomic`` / ``write_text_atomic`` / ``write_json_atomic``: a whole file or
  nothing.
* ``atomic_folder``: a folder filled under a temporary name, renamed into place at the end.

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


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder to fill; on success it replaces ``out`` by renames,
    so ``out`` is never half-written. On an exception the temporary folder is removed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(default_folder_mode())
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

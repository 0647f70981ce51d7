"""Provenance of a run: what produced a results folder, for ``metrics.json``'s
``provenance`` block.

    {"spikelab_version": "0.1.0", "git_commit": "39f6d71...", "git_dirty": false,
     "packages": {"python": "3.11.9", "numpy": "2.3.5", "numba": "0.68.1", "torch": ...,
                  "norse": ..., "brian2": ..., "lava-nc": null, "tonic": ..., ...},
     "machine": {"host": ..., "platform": ..., "cores": 2, "memory_bytes": ...},
     "config_hash": "sha256 of the resolved config", "started": ..., "ended": ...}

Package versions are read from the installed distributions' metadata
(``importlib.metadata``): nothing heavy (torch, lava, brian2) is imported. A package that
is not installed is ``null``. The git commit is that of the source checkout spikelab is
imported from (an editable install), else ``null``. Times are UTC, ISO 8601.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from .fileio import json_safe

__all__ = [
    "PACKAGES",
    "PROVENANCE_KEYS",
    "config_hash",
    "git_state",
    "hashable_config",
    "machine",
    "package_versions",
    "provenance",
    "utc",
]

#: distributions whose versions are recorded (metadata only: none is imported)
PACKAGES = (
    "numpy",
    "scipy",
    "numba",
    "torch",
    "norse",
    "brian2",
    "lava-nc",
    "tonic",
    "scikit-learn",
    "h5py",
    "dask",
    "distributed",
)
#: the keys of every provenance block (tests check them)
PROVENANCE_KEYS = (
    "spikelab_version",
    "git_commit",
    "git_dirty",
    "packages",
    "machine",
    "config_hash",
    "started",
    "ended",
)
#: output keys that choose where and how an invocation writes, not what it computes
NOT_HASHED = ("dir", "overwrite")
CHECKOUT = Path(__file__).resolve().parents[1]


def utc(t: float) -> str:
    """Seconds since the epoch as UTC ISO 8601 (``2026-12-07T19:30:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def package_versions() -> dict[str, str | None]:
    """Python's version and those of :data:`PACKAGES` (``None``: not installed), read from
    the distributions' metadata without importing them."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(CHECKOUT), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the source checkout spikelab runs from; (None, None) when it is
    not a git checkout (an installed wheel) or git is missing."""
    if not (CHECKOUT / ".git").exists():
        return None, None
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, (bool(status) if status is not None else None)


def machine() -> dict[str, Any]:
    """Host name, platform, logical cores and physical memory (bytes; None if unknown)."""
    try:
        memory = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        memory = None
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "memory_bytes": memory,
    }


def hashable_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The config without what only says where an invocation writes (``output.dir``,
    ``output.overwrite``): two runs of the same experiment into two folders hash alike."""
    out = dict(cfg)
    if isinstance(out.get("output"), Mapping):
        out["output"] = {k: v for k, v in out["output"].items() if k not in NOT_HASHED}
    return out


def config_hash(cfg: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a resolved config as canonical JSON (sorted keys), without
    ``output.dir`` and ``output.overwrite``."""
    text = json.dumps(json_safe(hashable_config(cfg)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def provenance(
    cfg: Mapping[str, Any], *, started: float | None = None, ended: float | None = None
) -> dict[str, Any]:
    """The provenance block of a run of the resolved config ``cfg``; ``started`` and
    ``ended`` are seconds since the epoch (``ended`` defaults to now, ``started`` to
    ``ended``)."""
    from . import __version__

    ended = time.time() if ended is None else float(ended)
    started = ended if started is None else float(started)
    commit, dirty = git_state()
    return {
        "spikelab_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "packages": package_versions(),
        "machine": machine(),
        "config_hash": config_hash(cfg),
        "started": utc(started),
        "ended": utc(ended),
    }

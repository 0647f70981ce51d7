"""One point of a sweep, run where it is sent (a Dask worker or this process), and its
results folder written by the client.

``run_point`` runs the point's config as ``spikelab run`` would, into a private temporary
folder on the worker, and returns the folder's files as bytes (plus status, wall time,
host and process): no shared file system is needed. Its log lines are at the client's
level (``cluster.client_level``: ``-q`` silences them there as here). Any error of the run
is returned as the point's error, so one failing point never stops the others.
``write_point`` (on the client) writes those files atomically into the point's folder,
with ``config.toml`` naming that folder as its ``output.dir``.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import tempfile
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import load_config, set_value, to_toml
from ..fileio import atomic_folder
from ..results import check_output, is_results_folder

__all__ = ["folder_files", "point_state", "run_point", "write_point"]


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative POSIX path -> bytes)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_point(config: Mapping[str, Any], level: int | None = None) -> dict[str, Any]:
    """Run one point's config (its task's runner, no progress bars) in a temporary folder,
    its spikelab log lines at ``level`` (the client's; None: this process's);
    ``{"status": "ok", "files": {...}}`` or ``{"status": "failed", "error": ...}``, with
    ``wall_s``, ``host`` and ``pid``."""
    from ..tasks import run_task
    from .cluster import client_level

    t0 = time.perf_counter()
    info: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    tmp = Path(tempfile.mkdtemp(prefix="spikelab-point-"))
    try:
        cfg = copy.deepcopy(dict(config))
        set_value(cfg, "output.dir", str(tmp / "run"))
        set_value(cfg, "output.overwrite", False)
        try:
            with client_level(level):
                folder = run_task(cfg, progress=False)
            info.update(status="ok", files=folder_files(folder))
        except Exception as e:  # the point's failure is its result, not the sweep's
            info.update(
                status="failed",
                error=f"{type(e).__name__}: {e}",
                traceback=traceback.format_exc(limit=8),
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["wall_s"] = time.perf_counter() - t0
    return info


def write_point(folder: Path, files: Mapping[str, bytes]) -> Path:
    """Write a point's files atomically into ``folder`` (a new folder or an earlier results
    folder of spikelab, never anything else); ``config.toml`` gets ``output.dir = folder``."""
    folder = check_output(folder, overwrite=True)
    with atomic_folder(folder) as tmp:
        for rel, data in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if (tmp / "config.toml").is_file():
            cfg = load_config(tmp / "config.toml")
            set_value(cfg, "output.dir", str(folder))
            (tmp / "config.toml").write_text(to_toml(cfg))
    return folder


def point_state(folder: Path, config_hash: str) -> tuple[str, dict[str, Any] | None]:
    """("missing" | "done" | "different", metrics): a point's folder is "done" when it is a
    results folder whose metrics.json carries the point's config hash; "different" when it
    holds something else (another config, no provenance, not a results folder)."""
    if not folder.exists():
        return "missing", None
    if not is_results_folder(folder):
        return "different", None
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return "different", None
    same = (metrics.get("provenance") or {}).get("config_hash") == config_hash
    return ("done" if same else "different"), metrics

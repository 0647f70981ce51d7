"""Cochlea events computed once per recording and kept on disk, keyed by the cochlea config.

One ``.npz`` file per cochlea config in the cache folder:
``<cache_dir>/cochlea-<key>.npz`` where ``key`` is the first 16 hex digits of the SHA-256
of the config's JSON (every ``CochleaConfig`` field) and of ``FORMAT_VERSION``. Changing
any cochlea parameter therefore selects another file: events made with other parameters
are never returned. Inside, the events of every recording are stored back to back
(``t`` µs int64, ``x`` int16, ``p`` int8) with their offsets, and each recording is named by
its file name and fingerprinted by its size and modification time (ns): a recording whose
file changed is computed again. The file is rewritten atomically (``spikelab.fileio``)
whenever recordings are added, so a killed run leaves the previous cache intact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..fileio import atomic_path
from .cochlea import AUDIO_EVENT_DTYPE, CochleaConfig, cochlea_events

__all__ = ["FORMAT_VERSION", "EventLookup", "cache_file", "cochlea_events_cached", "cochlea_key"]

FORMAT_VERSION = 1


def cochlea_key(config: CochleaConfig) -> str:
    """16 hex digits naming ``config`` (every field) and the cache format."""
    text = json.dumps(
        {"format": FORMAT_VERSION, "cochlea": dataclasses.asdict(config)}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_file(cache_dir: str | os.PathLike[str], config: CochleaConfig) -> Path:
    """The cache file of ``config`` in ``cache_dir``."""
    return Path(cache_dir).expanduser() / f"cochlea-{cochlea_key(config)}.npz"


def _fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def _read(file: Path, config: CochleaConfig) -> dict[str, np.ndarray]:
    """fingerprint -> events of every recording in the cache file (empty when absent or
    made with another config)."""
    if not file.is_file():
        return {}
    with np.load(file, allow_pickle=False) as z:
        if str(z["config"]) != json.dumps(dataclasses.asdict(config), sort_keys=True):
            return {}
        names, offsets = z["names"], z["offsets"]
        t, x, p = z["t"], z["x"], z["p"]
    out = {}
    for k, name in enumerate(names.tolist()):
        sl = slice(int(offsets[k]), int(offsets[k + 1]))
        ev = np.empty(sl.stop - sl.start, dtype=AUDIO_EVENT_DTYPE)
        ev["t"], ev["x"], ev["p"] = t[sl], x[sl], p[sl]
        out[name] = ev
    return out


def _write(file: Path, config: CochleaConfig, store: dict[str, np.ndarray]) -> None:
    names = sorted(store)
    events = [store[n] for n in names]
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in events])]).astype(np.int64)
    cat = np.concatenate(events) if events else np.zeros(0, AUDIO_EVENT_DTYPE)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(file)
    try:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                config=np.array(json.dumps(dataclasses.asdict(config), sort_keys=True)),
                names=np.array(names, dtype=str),
                offsets=offsets,
                t=cat["t"].astype(np.int64),
                x=cat["x"].astype(np.int16),
                p=cat["p"].astype(np.int8),
            )
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)


def cochlea_events_cached(
    paths: Sequence[Path],
    waveforms: Sequence[np.ndarray],
    sample_rates: Sequence[float],
    config: CochleaConfig,
    cache_dir: str | os.PathLike[str] | None,
    *,
    progress: bool = False,
) -> list[np.ndarray]:
    """``cochlea_events`` of every waveform (``paths`` name the recordings), computed only
    for recordings missing from the cache of ``config`` in ``cache_dir`` (None: no cache)."""
    from tqdm.auto import tqdm

    keys = [_fingerprint(Path(p)) for p in paths]
    file = cache_file(cache_dir, config) if cache_dir is not None else None
    store = _read(file, config) if file is not None else {}
    missing = [i for i, k in enumerate(keys) if k not in store]
    for i in tqdm(missing, desc="cochlea", unit="rec", disable=not progress or not missing):
        store[keys[i]] = cochlea_events(waveforms[i], float(sample_rates[i]), config)
    if file is not None and missing:
        _write(file, config, store)
    return [store[k] for k in keys]


class EventLookup:
    """``reader`` for ``EventDataset``: a recording's path -> its precomputed events."""

    def __init__(self, paths: Sequence[Path], events: Sequence[np.ndarray]) -> None:
        self.table = {str(p): e for p, e in zip(paths, events, strict=True)}

    def __call__(self, path: Path) -> np.ndarray:
        return self.table[str(path)]

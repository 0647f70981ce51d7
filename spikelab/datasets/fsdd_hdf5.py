"""FSDD as an N-TIDIGITS file: cochlea events in N-TIDIGITS' HDF5 layout, so that
``tonic.datasets.NTIDIGITS18`` (and every N-TIDIGITS config) reads real speech unchanged.

Layout (``spikelab.datasets.ntidigits``): ``{train,test}_labels`` (sample ids),
``{train,test}_addresses/<id>`` (uint8 channel), ``{train,test}_timestamps/<id>`` (float64
seconds). A recording ``{digit}_{speaker}_{index}.wav`` becomes the id
``man-{speaker}-{index}-{d}`` with ``d`` the N-TIDIGITS digit character (``z`` for 0,
``1``..``9``; FSDD has no "oh"); all FSDD speakers are men (its README). Timestamps are
``(t_us + 0.5) / 1e6`` for the events' ``t`` in µs, so tonic's truncation
``int(seconds * 1e6)`` gives back exactly the in-memory events. Root attributes say what
the file is: ``spikelab_converted = "fsdd"``, the cochlea config (JSON), the split.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_path
from .cochlea import CochleaConfig, fsdd_cochlea
from .fsdd import fsdd_events

__all__ = ["convert_fsdd", "fsdd_sample_id"]

MARK = "fsdd"


def fsdd_sample_id(digit: int, speaker: str, index: int) -> str:
    """The N-TIDIGITS sample id of one recording, e.g. ``man-george-7-z`` for 0_george_7."""
    return f"man-{speaker}-{index}-{'z' if digit == 0 else str(digit)}"


def _ids(ds: Any) -> list[str]:
    """Sample ids of an ``fsdd_events`` dataset (its paths are the WAV files)."""
    out = []
    for p, y in zip(ds.paths, ds.labels, strict=True):
        _, speaker, index = p.stem.split("_")
        out.append(fsdd_sample_id(int(y), speaker, int(index)))
    return out


def _check_target(out: Path, overwrite: bool) -> None:
    """Refuse to replace a file unless asked to, and never one we did not write."""
    import h5py

    if not out.exists():
        return
    if not overwrite:
        raise FileExistsError(f"{out} exists; choose another path or pass --overwrite")
    try:
        with h5py.File(out, "r") as h5:
            ours = h5.attrs.get("spikelab_converted") == MARK
    except OSError:
        ours = False
    if not ours:
        raise FileExistsError(
            f"{out} exists and was not written by `spikelab datasets convert fsdd`; refusing "
            "to overwrite it, choose another path"
        )


def _write_partition(h5: Any, partition: str, ds: Any) -> None:
    addresses = h5.create_group(f"{partition}_addresses")
    timestamps = h5.create_group(f"{partition}_timestamps")
    ids = _ids(ds)
    for i, sample_id in enumerate(ids):
        events = ds[i][0]
        addresses.create_dataset(sample_id, data=events["x"].astype(np.uint8))
        timestamps.create_dataset(sample_id, data=(events["t"] + 0.5) / 1e6)
    h5.create_dataset(f"{partition}_labels", data=np.array([i.encode() for i in ids], dtype="S"))


def convert_fsdd(
    root: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    cochlea: CochleaConfig | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = False,
    **split: Any,
) -> Path:
    """Write the FSDD folder ``root`` as an N-TIDIGITS HDF5 file; returns its path.

    ``out_path`` ending in ``.hdf5``/``.h5`` is the file, anything else a folder that gets
    ``NTIDIGITS18/n-tidigits.hdf5`` (where tonic looks). ``split`` are :func:`fsdd`'s
    split options (default: FSDD's own split when indices 0-4 are present, else stratified
    80/20 by seed 0): they choose the train and test partitions. ``cochlea`` defaults to
    ``fsdd_cochlea()``; ``cache_dir`` reuses cached events. Written under a temporary name
    and renamed into place; an existing file is replaced only with ``overwrite`` and only
    when this function wrote it."""
    import h5py

    from .ntidigits_like import resolve_output_file

    cochlea = fsdd_cochlea() if cochlea is None else cochlea
    if cochlea.n_channels > 256:
        raise ValueError(f"N-TIDIGITS addresses are uint8: n_channels {cochlea.n_channels} > 256")
    out = resolve_output_file(out_path)
    _check_target(out, overwrite)
    kw = dict(cochlea=cochlea, cache_dir=cache_dir, progress=progress, **split)
    parts = {"train": fsdd_events(root, True, **kw), "test": fsdd_events(root, False, **kw)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(out)
    try:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["spikelab_converted"] = MARK
            h5.attrs["cochlea_config"] = json.dumps(dataclasses.asdict(cochlea))
            h5.attrs["split"] = json.dumps({k: list(v) if isinstance(v, tuple) else v
                                            for k, v in split.items()})  # fmt: skip
            for partition, ds in parts.items():
                _write_partition(h5, partition, ds)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out

"""HDF5 persistence of a ``Network`` (bit-identical round trip, versioned format).

Layout (format version 2; version 1 files, which kept dt in metadata, are read too)::

    /                attrs: format="spikelab.network", format_version=2, metadata=<json>,
                     dt (ms, when the network has one)
    /populations/<k> attrs: name, size, type=<neuron kind>; datasets: one per parameter,
                     optional "positions"
    /inputs/<k>      attrs: name, size, shape (json)
    /projections/<k> attrs: name, source, target, shape; datasets: indptr, indices, data,
                     delays (scalar or per synapse)

Neuron models are rebuilt through the registry in ``spikelab.neurons`` from their
``type``; no per-type branching here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import h5py
import numpy as np
import scipy.sparse as sp

from .fileio import atomic_path, json_default
from .neurons import model_from_dict

if TYPE_CHECKING:
    from .network import Network

T = TypeVar("T")

FORMAT = "spikelab.network"
FORMAT_VERSION = 2  # 2: Network.dt is the attribute "dt" (1 kept it in metadata)
READABLE_VERSIONS = (1, 2)


def save_network(net: Network, path: str | Path) -> Path:
    """Write ``net`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    if not path.parent.exists():
        raise FileNotFoundError(f"cannot save network: folder {path.parent} does not exist")
    tmp = atomic_path(path)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["metadata"] = json.dumps(net.metadata, default=json_default)
            if net.dt is not None:
                f.attrs["dt"] = net.dt
            g = f.create_group("populations")
            for k, pop in enumerate(net.populations):
                h = g.create_group(str(k))
                h.attrs.update(name=pop.name, size=pop.size, type=pop.model.kind)
                for pname, value in pop.model.to_dict().items():
                    h.create_dataset(pname, data=value)
                if pop.positions is not None:
                    h.create_dataset("positions", data=pop.positions)
            g = f.create_group("inputs")
            for k, port in enumerate(net.inputs):
                h = g.create_group(str(k))
                h.attrs.update(name=port.name, size=port.size, shape=json.dumps(port.shape))
            g = f.create_group("projections")
            for k, pr in enumerate(net.projections):
                h = g.create_group(str(k))
                h.attrs.update(
                    name=pr.name, source=pr.source, target=pr.target, shape=pr.weights.shape
                )
                h.create_dataset("indptr", data=pr.weights.indptr)
                h.create_dataset("indices", data=pr.weights.indices)
                h.create_dataset("data", data=pr.weights.data)
                h.create_dataset("delays", data=np.asarray(pr.delays))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_network(path: str | Path, build: Callable[[dict[str, Any]], T]) -> T:
    """Read a network file written by ``save_network`` into its parts and hand them to
    ``build`` (``Network.from_parts``); clear errors for other and damaged files.

    The parts are plain values: ``populations`` (dicts of name, size, model, positions),
    ``inputs`` (name, size, shape), ``projections`` (source, target, weights as scipy CSR,
    delays, name), ``metadata`` and ``dt``. This module never imports ``spikelab.network``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no network file at {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path} is not an HDF5 file ({e})") from None
    with f:
        try:
            return build(_read_parts(f, path))
        except (KeyError, TypeError, json.JSONDecodeError) as e:
            raise ValueError(
                f"{path} is a damaged spikelab network file ({type(e).__name__}: {e}); "
                "re-save it with Network.save"
            ) from None


def _check_version(f: h5py.File, path: Path) -> int:
    if f.attrs.get("format") != FORMAT:
        raise ValueError(f"{path} is not a spikelab network file (no format={FORMAT!r})")
    version = int(f.attrs.get("format_version", -1))
    if version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} has network format version {version}; this spikelab reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}. Re-save it with a matching spikelab "
            "version."
        )
    return version


def _groups(f: h5py.File, name: str) -> list[h5py.Group]:
    return [f[name][k] for k in sorted(f[name], key=int)]


def _read_population(h: h5py.Group) -> dict[str, Any]:
    params = {n: _read(h[n]) for n in h if n != "positions"}
    return {
        "name": str(h.attrs["name"]),
        "size": int(h.attrs["size"]),
        "model": model_from_dict(str(h.attrs["type"]), params),
        "positions": h["positions"][()] if "positions" in h else None,
    }


def _read_input(h: h5py.Group) -> dict[str, Any]:
    shape = json.loads(h.attrs["shape"])
    return {
        "name": str(h.attrs["name"]),
        "size": int(h.attrs["size"]),
        "shape": None if shape is None else tuple(shape),
    }


def _read_projection(h: h5py.Group) -> dict[str, Any]:
    w = sp.csr_matrix(
        (h["data"][()], h["indices"][()], h["indptr"][()]),
        shape=tuple(int(s) for s in h.attrs["shape"]),
    )
    return {
        "source": str(h.attrs["source"]),
        "target": str(h.attrs["target"]),
        "weights": w,
        "delays": _read(h["delays"]),
        "name": str(h.attrs["name"]),
    }


def _read_parts(f: h5py.File, path: Path) -> dict[str, Any]:
    version = _check_version(f, path)
    meta = json.loads(f.attrs["metadata"])
    dt = meta.pop("dt", None) if version == 1 else f.attrs.get("dt")  # 1: dt in metadata
    return {
        "populations": [_read_population(h) for h in _groups(f, "populations")],
        "inputs": [_read_input(h) for h in _groups(f, "inputs")],
        "projections": [_read_projection(h) for h in _groups(f, "projections")],
        "metadata": meta,
        "dt": None if dt is None else float(dt),
    }


def _read(ds: h5py.Dataset) -> np.ndarray | float | int:
    v = ds[()]
    return v.item() if np.ndim(v) == 0 else v


def networks_equal(a: Network, b: Network) -> bool:
    """Exact (bitwise) equality of two networks."""
    if len(a.populations) != len(b.populations) or len(a.projections) != len(b.projections):
        return False
    for p, q in zip(a.populations, b.populations, strict=True):
        if (p.name, p.size) != (q.name, q.size) or p.model != q.model:
            return False
        if (p.positions is None) != (q.positions is None):
            return False
        if p.positions is not None and not np.array_equal(p.positions, q.positions):
            return False
    ins_a = [(i.name, i.size, i.shape) for i in a.inputs]
    if ins_a != [(i.name, i.size, i.shape) for i in b.inputs]:
        return False
    for p, q in zip(a.projections, b.projections, strict=True):
        if (p.name, p.source, p.target, p.weights.shape) != (
            q.name,
            q.source,
            q.target,
            q.weights.shape,
        ):
            return False
        for x, y in (
            (p.weights.indptr, q.weights.indptr),
            (p.weights.indices, q.weights.indices),
            (p.weights.data, q.weights.data),
            (p.delay_array(), q.delay_array()),
        ):
            if not np.array_equal(x, y):
                return False
    same_meta = json.dumps(a.metadata, sort_keys=True) == json.dumps(b.metadata, sort_keys=True)
    return same_meta and a.dt == b.dt

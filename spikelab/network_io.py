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
            parts = _read_parts(f, path)
        except (KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(
                f"{path} is a damaged spikelab network file ({type(e).__name__}: {e}); "
                "re-save it with Network.save"
            ) from None
    try:
        return build(parts)
    except (ValueError, TypeError) as e:  # the network's own validation: name the file
        raise ValueError(f"{path}: invalid network ({e}); re-save it with Network.save") from None


def _check_version(f: h5py.File, path: Path) -> int:
    if f.attrs.get("format") != FORMAT:
        raise ValueError(f"{path} is not a spikelab network file (no format={FORMAT!r})")
    raw = f.attrs.get("format_version", -1)
    if isinstance(raw, np.generic):
        raw = raw.item()
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(
            f"{path}: format_version must be an integer, got {raw!r}; this spikelab reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))}. Re-save it with Network.save"
        )
    version = raw
    if version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} has network format version {version}; this spikelab reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}. Re-save it with a matching spikelab "
            "version."
        )
    return version


def _groups(f: h5py.File, name: str) -> list[h5py.Group]:
    return [f[name][k] for k in sorted(f[name], key=int)]


def _numeric(h: h5py.Group, name: str, kinds: str = "iuf", max_ndim: int = 1) -> np.ndarray:
    """Dataset ``name`` of group ``h`` as an array, or ValueError naming the file, the group
    and the field when it is missing, not 0-d/1-d, or not numeric (e.g. bytes, strings)."""
    if name not in h or not isinstance(h[name], h5py.Dataset):
        raise ValueError(f"{h.file.filename}: {h.name} has no dataset {name!r}")
    ds = h[name]
    if ds.dtype.kind not in kinds or ds.ndim > max_ndim:
        want = "integers" if kinds == "iu" else "numbers"
        raise ValueError(
            f"{h.file.filename}: {h.name}/{name} must hold {want} (at most {max_ndim}-D), "
            f"got dtype {ds.dtype} with shape {ds.shape}; re-save the network with Network.save"
        )
    return ds[()]


def _int_attr(h: h5py.Group, name: str) -> int:
    v = h.attrs[name]
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(
            f"{h.file.filename}: {h.name} attribute {name!r} must be an integer, got {v!r}"
        )
    return v


def _read_population(h: h5py.Group) -> dict[str, Any]:
    params = {}
    for n in h:
        if n != "positions":
            v = _numeric(h, n)
            params[n] = v.item() if np.ndim(v) == 0 else v
    return {
        "name": str(h.attrs["name"]),
        "size": _int_attr(h, "size"),
        "model": model_from_dict(str(h.attrs["type"]), params),
        "positions": _numeric(h, "positions", max_ndim=2) if "positions" in h else None,
    }


def _read_input(h: h5py.Group) -> dict[str, Any]:
    shape = json.loads(h.attrs["shape"])
    return {
        "name": str(h.attrs["name"]),
        "size": _int_attr(h, "size"),
        "shape": None if shape is None else tuple(shape),
    }


def _read_csr(h: h5py.Group) -> sp.csr_matrix:
    """The weights of a projection group, their CSR arrays checked before scipy sees them
    (index bounds and monotonic indptr are ``Projection``'s checks)."""
    data, indices, indptr = (
        _numeric(h, "data"),
        _numeric(h, "indices", "iu"),
        _numeric(h, "indptr", "iu"),
    )
    shape = np.asarray(h.attrs["shape"])
    where = f"{h.file.filename}: {h.name}"
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or shape.min() < 0:
        raise ValueError(f"{where}: shape must be two sizes >= 0, got {shape.tolist()}")
    n_rows = int(shape[0])
    if data.ndim != 1 or indices.shape != data.shape or indptr.shape != (n_rows + 1,):
        raise ValueError(
            f"{where}: damaged CSR weights: need data and indices of one length and "
            f"{n_rows + 1} indptr entries, got {data.shape}, {indices.shape}, {indptr.shape}"
        )
    if indptr[0] != 0 or indptr[-1] != len(indices):
        raise ValueError(
            f"{where}: damaged CSR weights: indptr must run from 0 to nnz={len(indices)}, "
            f"got {int(indptr[0])} to {int(indptr[-1])}"
        )
    return sp.csr_matrix(
        (data, _as_int64(indices, where), _as_int64(indptr, where)),
        shape=(n_rows, int(shape[1])),
    )


def _as_int64(a: np.ndarray, where: str) -> np.ndarray:
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{where}: damaged CSR weights: index {a.max()} out of range")
    return a.astype(np.int64)


def _read_projection(h: h5py.Group) -> dict[str, Any]:
    delays = _numeric(h, "delays")
    return {
        "source": str(h.attrs["source"]),
        "target": str(h.attrs["target"]),
        "weights": _read_csr(h),
        "delays": delays.item() if np.ndim(delays) == 0 else delays,
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

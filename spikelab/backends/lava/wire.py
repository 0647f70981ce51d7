"""The Lava worker's wire format: length-prefixed messages of JSON plus npz, never pickle.

A message is ``u32 header length | header (UTF-8 JSON) | blobs``; the header's ``"blobs"``
lists the byte length of each blob that follows. Values travel as a JSON tree in which
numpy arrays are references into one npz blob (read with ``allow_pickle=False``), numpy
scalars and tuples are tagged, and the value types of ``spikelab.spikes`` (``SpikeBatch``,
``SpikeTrains``, ``RecordSpec``, ``Recording``) are rebuilt field by field. Python floats
are written with ``repr`` (JSON), so every number crosses bit for bit. A network crosses as
its HDF5 file (``spikelab.network_io``), a blob of its own.

Numpy only (runs in both interpreters: the client's and the worker's).
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
from typing import IO, Any

import numpy as np

from ...spikes import Recording, RecordSpec, SpikeBatch, SpikeTrains

PROTOCOL = 1  # bumped when a message changes; client and worker must agree
_LEN = struct.Struct("!I")
_TYPES = {cls.__name__: cls for cls in (Recording, RecordSpec, SpikeBatch, SpikeTrains)}
MAX_HEADER = 1 << 30  # 1 GiB: a larger header is a damaged stream, not a message


class WireError(RuntimeError):
    """The message stream between the client and the Lava worker is broken."""


# ---- values <-> (JSON tree, arrays) ---------------------------------------------------------
def encode(value: Any, arrays: list[np.ndarray]) -> Any:
    """``value`` as a JSON-able tree; arrays are appended to ``arrays`` and referenced."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("object arrays cannot cross to the Lava worker (no pickle)")
        arrays.append(value)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, np.generic):  # before float: np.float64 is a float
        return {"__scalar__": value.dtype.str, "v": value.item()}
    if isinstance(value, int | float):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"dict keys must be str to cross to the Lava worker: {list(value)}")
        if any(k.startswith("__") for k in value):
            return {"__dict__": [[k, encode(v, arrays)] for k, v in value.items()]}
        return {k: encode(v, arrays) for k, v in value.items()}
    if _TYPES.get(type(value).__name__) is type(value):
        fields = {f.name: encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, "fields": fields}
    raise TypeError(f"{type(value).__name__} cannot cross to the Lava worker")


def decode(tree: Any, arrays: list[np.ndarray]) -> Any:
    """The value ``encode`` turned into ``tree`` (arrays from the npz blob)."""
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__array__" in tree:
        return arrays[tree["__array__"]]
    if "__scalar__" in tree:
        return np.dtype(tree["__scalar__"]).type(tree["v"])
    if "__tuple__" in tree:
        return tuple(decode(v, arrays) for v in tree["__tuple__"])
    if "__dict__" in tree:
        return {k: decode(v, arrays) for k, v in tree["__dict__"]}
    if "__type__" in tree:
        cls = _TYPES[tree["__type__"]]
        return cls(**{k: decode(v, arrays) for k, v in tree["fields"].items()})
    return {k: decode(v, arrays) for k, v in tree.items()}


def npz_bytes(arrays: list[np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, *arrays)
    return buf.getvalue()


def npz_arrays(blob: bytes) -> list[np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


# ---- messages -------------------------------------------------------------------------------
def write_message(
    stream: IO[bytes], header: dict[str, Any], value: Any = None, blobs: tuple[bytes, ...] = ()
) -> None:
    """Send ``header`` with ``value`` (encoded, arrays in an npz blob) and extra ``blobs``."""
    arrays: list[np.ndarray] = []
    head = dict(header, value=encode(value, arrays))
    payload = (npz_bytes(arrays), *blobs)
    head["blobs"] = [len(b) for b in payload]
    text = json.dumps(head, allow_nan=True).encode("utf-8")
    _write_all(stream, _LEN.pack(len(text)) + text)
    for b in payload:
        _write_all(stream, b)
    stream.flush()


def _write_all(stream: IO[bytes], data: bytes) -> None:
    """Write every byte (a raw pipe may take part of a large write at a time)."""
    view = memoryview(data)
    while len(view):
        n = stream.write(view)
        if n is None:  # a non-blocking stream that is full: never the case for our pipes
            raise WireError("the pipe to the Lava worker would block")
        view = view[n:]


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            raise EOFError(f"stream closed after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_message(stream: IO[bytes]) -> tuple[dict[str, Any], Any, list[bytes]]:
    """(header, value, extra blobs) of the next message; EOFError at a clean end."""
    first = stream.read(_LEN.size)
    if not first:
        raise EOFError("no more messages")
    size = _LEN.unpack(first + _read_exactly(stream, _LEN.size - len(first)))[0]
    if size > MAX_HEADER:
        raise WireError(f"message header of {size} bytes: the stream is damaged")
    head = json.loads(_read_exactly(stream, size).decode("utf-8"))
    blobs = [_read_exactly(stream, int(n)) for n in head.pop("blobs")]
    value = decode(head.pop("value"), npz_arrays(blobs[0]))
    return head, value, blobs[1:]

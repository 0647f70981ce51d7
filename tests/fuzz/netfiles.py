"""Valid network files and the mutations the network fuzzers apply to them.

A mutation is plain data (a tuple), so hypothesis prints it as the failing example:

* ``("item", dataset, index, value)``: one element set to ``value`` (widening the dtype if
  it does not fit);
* ``("dtype", dataset, dtype)``: the dataset stored with another dtype;
* ``("shape", dataset, how)``: cut, extended, made 2-D, scalar or empty;
* ``("add", dataset, delta)``: ``delta`` added to every element;
* ``("array", dataset, array)``: replaced by an arbitrary array;
* ``("attr", object, name, value)``: an attribute set to an arbitrary value;
* ``("delete", object, name)``: an attribute, dataset or group removed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spikelab import LIF, InputPort, Izhikevich, Network, Population, Projection

INTS = [-(2**63), -(2**31), -1, 0, 1, 2, 3, 4, 7, 8, 9, 255, 2**15, 2**31 - 1, 2**31, 2**32]
INTS += [10**9, 2**62]
FLOATS = [float("nan"), float("inf"), -float("inf"), 1e39, -1e300, 1e-300, 0.5, -0.0, 2.5]
DTYPES = ["int8", "uint8", "int32", "uint32", "int64", "uint64", "float16", "float32"]
DTYPES += ["float64", "bool", "complex64", "S8"]


def sample_network() -> Network:
    """Two LIF populations and an Izhikevich one, two input ports, scalar and per-synapse
    delays, positions and metadata: every part a network file holds."""
    rng = np.random.default_rng(3)

    def w(shape, density, seed):
        m = sp.random(*shape, density=density, format="csr", random_state=seed)
        m.data += 0.5
        return m

    ee = w((6, 6), 0.5, 1)
    return Network(
        populations=(
            Population(
                name="exc",
                size=6,
                model=LIF(tau_mem=rng.uniform(10, 30, 6), t_ref=1.0),
                positions=rng.random((6, 3)),
            ),  # fmt: skip
            Population(name="inh", size=3, model=LIF(tau_mem=10.0, tau_syn=2.0)),
            Population(name="izh", size=2, model=Izhikevich()),
        ),
        inputs=(InputPort(name="in", size=5, shape=(5, 1)), InputPort(name="aux", size=2)),
        projections=(
            Projection(source="in", target="exc", weights=w((5, 6), 0.6, 2) * 9.0, delays=0),
            Projection(source="exc", target="exc", weights=ee, delays=rng.integers(1, 6, ee.nnz)),
            Projection(source="exc", target="inh", weights=w((6, 3), 0.5, 3), delays=2),
            Projection(source="inh", target="izh", weights=w((3, 2), 0.9, 4) * 20, delays=1),
            Projection(source="aux", target="izh", weights=w((2, 2), 1.0, 5) * 30, delays=0),
        ),
        metadata={"builder": "fuzz", "seed": 3},
        dt=0.5,
    )


def leaves(path: Path) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """(datasets, (object, attribute) pairs, groups) of an HDF5 file."""
    datasets, attrs, groups = [], [("/", a) for a in h5py.File(path, "r").attrs], []
    with h5py.File(path, "r") as f:

        def visit(name: str, obj) -> None:
            (datasets if isinstance(obj, h5py.Dataset) else groups).append(name)
            attrs.extend((name, a) for a in obj.attrs)

        f.visititems(visit)
    return datasets, attrs, groups


def values() -> st.SearchStrategy:
    """Scalars a damaged file may hold: edge-case and arbitrary numbers, text and bytes."""
    return st.one_of(
        st.sampled_from(INTS),
        st.integers(-20, 20),
        st.sampled_from(FLOATS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.binary(max_size=8),
        st.booleans(),
    )


def arrays() -> st.SearchStrategy:
    dtype = st.sampled_from(DTYPES[:-1]).map(np.dtype)
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=2, max_side=12))


def mutations(path: Path) -> st.SearchStrategy:
    """A strategy of one mutation of the (valid) file at ``path``."""
    datasets, attrs, groups = leaves(path)
    ds = st.sampled_from(datasets)
    how = st.sampled_from(["cut", "extend", "2d", "scalar", "empty", "reverse"])
    attr = st.tuples(st.just("attr"), st.sampled_from(attrs), values()) if attrs else st.nothing()
    return st.one_of(
        st.tuples(st.just("item"), ds, st.integers(0, 40), values()),
        st.tuples(st.just("dtype"), ds, st.sampled_from(DTYPES)),
        st.tuples(st.just("shape"), ds, how),
        st.tuples(st.just("add"), ds, st.sampled_from([-1, 1, 2, 6, 2**31, -(2**31), 10**9])),
        st.tuples(st.just("array"), ds, arrays()),
        attr,
        st.tuples(st.just("delete"), st.sampled_from([*datasets, *groups, *attrs])),
    )


def _as_array(value) -> np.ndarray:
    if isinstance(value, str):
        return np.array(value.encode("utf-8", "surrogatepass"))
    return np.asarray(value)


def _reshaped(arr: np.ndarray, how: str) -> np.ndarray:
    flat = arr.reshape(-1)
    return {
        "cut": flat[: max(len(flat) - 1, 0)],
        "extend": np.concatenate([flat, flat[-1:] if len(flat) else flat]),
        "2d": flat.reshape(1, -1),
        "scalar": flat[0] if len(flat) else np.zeros((), arr.dtype),
        "empty": flat[:0],
        "reverse": flat[::-1],
    }[how]


def _with_item(arr: np.ndarray, index: int, value) -> np.ndarray:
    flat = arr.reshape(-1)
    if not len(flat):
        return flat
    v = _as_array(value)
    with np.errstate(all="ignore"):
        text = v.dtype.kind == "S" or flat.dtype.kind in "OSU"
        out = flat.astype("S16" if text else np.result_type(flat.dtype, v.dtype))
    out[index % len(out)] = v
    return out.reshape(arr.shape)


def _new_data(arr: np.ndarray, mutation: tuple) -> np.ndarray:
    kind = mutation[0]
    if kind == "item":
        return _with_item(arr, mutation[2], mutation[3])
    if kind == "dtype":
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # complex to real
            try:
                return arr.astype(mutation[2])
            except (ValueError, TypeError, OverflowError):  # text that is not a number
                return arr  # (or one out of the new type's range: the mutation is moot)
    if kind == "shape":
        return _reshaped(arr, mutation[2])
    if kind == "add":
        with np.errstate(all="ignore"):
            return (arr.astype(np.int64) + mutation[2]) if arr.dtype.kind in "iub" else arr
    return mutation[2]  # "array"


def _storable(data: np.ndarray) -> np.ndarray:
    """Object arrays (HDF5 strings read back) as fixed-length bytes, which HDF5 stores."""
    if data.dtype.kind != "O":
        return data
    items = [x if isinstance(x, bytes) else str(x).encode() for x in data.ravel()]
    return np.array(items, dtype=f"S{max([len(x) for x in items] + [1])}").reshape(data.shape)


def apply(path: Path, mutation: tuple) -> None:
    """Apply one mutation to the HDF5 file at ``path`` in place."""
    with h5py.File(path, "r+") as f:
        kind = mutation[0]
        if kind == "delete":
            target = mutation[1]
            if isinstance(target, tuple):
                if target[0] in f and target[1] in f[target[0]].attrs:
                    del f[target[0]].attrs[target[1]]
            elif target in f:
                del f[target]
        elif kind == "attr":
            (obj, name), value = mutation[1], mutation[2]
            if obj in f:
                f[obj].attrs[name] = _as_array(value)
        elif mutation[1] in f:
            ds = f[mutation[1]]
            data = _storable(np.asarray(_new_data(np.asarray(ds[()]), mutation)))
            del f[mutation[1]]
            f.create_dataset(mutation[1], data=data)

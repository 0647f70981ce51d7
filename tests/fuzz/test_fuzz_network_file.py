"""Fuzz ``Network.load``: arbitrary bytes and valid network files with damaged datasets
(indices, indptr, data, delays, parameters), dtypes, shapes and attributes
(format_version, shape, size, names, dt, metadata) either load as a valid ``Network`` or
raise spikelab's error."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from spikelab import Network

from .common import check_ours, fuzz_settings
from .netfiles import apply, mutations, sample_network

_TMP = Path(tempfile.mkdtemp(prefix="spikelab-fuzz-net-"))
atexit.register(shutil.rmtree, _TMP, True)
VALID = sample_network().save(_TMP / "valid.h5")
LOAD_ERRORS = (ValueError, TypeError)


def load_checked(path: Path) -> Network | None:
    """``Network.load(path)``: a consistent network, or None after our error."""
    try:
        net = Network.load(path)
    except LOAD_ERRORS as exc:
        check_ours(exc)
        return None
    assert isinstance(net, Network)
    sizes = {p.name: p.size for p in (*net.populations, *net.inputs)}
    for pr in net.projections:  # the CSR structure a kernel indexes with
        w = pr.weights
        assert w.shape == (sizes[pr.source], sizes[pr.target])
        assert w.indptr[0] == 0 and w.indptr[-1] == w.nnz and np.all(np.diff(w.indptr) >= 0)
        assert np.all((w.indices >= 0) & (w.indices < sizes[pr.target]))
        assert np.all(np.isfinite(w.data))
        d = pr.delay_array()
        assert d.shape == (w.nnz,) and np.all(d >= 0)
    return net


def mutant(name: str, muts: list[tuple]) -> Path:
    path = _TMP / name
    shutil.copyfile(VALID, path)
    for m in muts:
        apply(path, m)
    return path


@fuzz_settings(100)
@given(st.binary(max_size=3000))
@example(b"")
@example(b"\x89HDF\r\n\x1a\n" + b"\x00" * 200)
def test_arbitrary_bytes(raw):
    path = _TMP / "bytes.h5"
    path.write_bytes(raw)
    load_checked(path)


@fuzz_settings(100)
@given(st.lists(mutations(VALID), min_size=1, max_size=3))
@example([("item", "projections/1/indices", 0, 6)])  # a target index past the population
@example([("item", "projections/1/indices", 0, -1)])
@example([("item", "projections/1/indptr", 2, 0)])  # indptr not monotonic
@example([("item", "projections/1/delays", 0, 10**9)])
@example([("dtype", "populations/0/tau_mem", "S8")])  # parameters stored as bytes
@example([("attr", ("/", "format_version"), "one")])
@example([("attr", ("/", "metadata"), b"\x8e")])  # not UTF-8: UnicodeDecodeError from json
@example([("attr", ("inputs/0", "shape"), b"\x8e")])
@example([("array", "projections/1/delays", np.array([0.0], dtype=np.float16))])  # overflow
def test_mutated_file(muts):
    load_checked(mutant("mutant.h5", muts))


@pytest.mark.parametrize(
    "muts",
    [[("attr", ("/", "metadata"), b"\x8e")], [("attr", ("inputs/0", "shape"), b"\x8e")]],
    ids=["metadata-not-utf8", "input-shape-not-utf8"],
)
def test_minimal_reproductions(muts):
    """What the fuzzers found in the network reader: a JSON attribute that is not UTF-8
    gave a UnicodeDecodeError from json."""
    load_checked(mutant("repro.h5", muts))

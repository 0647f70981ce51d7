"""Fuzz the NIR import (``import_nir``): arbitrary bytes as a .nir file and files written
by ``export_nir`` with damaged datasets, dtypes, shapes and attributes (node parameters,
weights, delays, edges, spikelab's metadata) either give a valid ``Network`` or raise
spikelab's error (``ValueError``, ``TypeError``, ``UnsupportedFeature``)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given
from hypothesis import strategies as st

from spikelab import LIF, InputPort, Network, Population, Projection, UnsupportedFeature

from .common import check_ours, fuzz_settings
from .netfiles import apply, mutations

pytest.importorskip("nir")

from spikelab.export import export_nir, import_nir  # noqa: E402

ERRORS = (ValueError, TypeError, UnsupportedFeature, FileNotFoundError)


def nir_network() -> Network:
    """Two LIF populations, an input, scalar and per-synapse delays: every node kind."""
    rng = np.random.default_rng(1)
    rec = sp.random(4, 4, density=0.5, format="csr", random_state=2)
    return Network(
        populations=(
            Population(name="a", size=4, model=LIF(tau_mem=20.0, tau_syn=5.0, bias=0.3)),
            Population(name="b", size=2, model=LIF(tau_mem=10.0, tau_syn=0.0)),
        ),
        inputs=(InputPort(name="in", size=3),),
        projections=(
            Projection(
                source="in",
                target="a",
                weights=sp.random(3, 4, density=0.7, format="csr", random_state=1),
                delays=1,
            ),  # fmt: skip
            Projection(source="a", target="a", weights=rec, delays=rng.integers(1, 4, rec.nnz)),
            Projection(source="a", target="b", weights=sp.csr_matrix(np.ones((4, 2))), delays=2),
        ),
        dt=1.0,
    )


_TMP = Path(tempfile.mkdtemp(prefix="spikelab-fuzz-nir-"))
atexit.register(shutil.rmtree, _TMP, True)
VALID = export_nir(nir_network(), _TMP / "valid.nir")


def import_checked(path: Path) -> None:
    try:
        net = import_nir(path)
    except ERRORS as exc:
        check_ours(exc)
        return
    assert isinstance(net, Network)
    for pr in net.projections:
        assert np.all(np.isfinite(pr.weights.data))


@fuzz_settings(60)
@given(st.binary(max_size=2000))
@example(b"")
@example(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
def test_arbitrary_bytes(raw):
    path = _TMP / "bytes.nir"
    path.write_bytes(raw)
    import_checked(path)


@fuzz_settings(100)
@given(st.lists(mutations(VALID), min_size=1, max_size=3))
@example([("delete", "node/nodes/proj0/metadata/synapse_index")])  # was a KeyError
@example([("delete", "node/nodes/proj0/metadata/indptr")])  # was a StopIteration
@example([("item", "node/nodes/proj0/metadata/indptr", 1, 99)])  # indptr past the weights
@example([("delete", "node/nodes/proj0/weight")])
@example([("delete", "node/edges")])
@example([("dtype", "node/nodes/a/tau_mem", "complex64")])  # was a ComplexWarning
@example([("item", "node/edges", 0, -(2**63)), ("dtype", "node/edges", "int8")])  # harness
@example([("item", "node/metadata/dt_ms", 0, -(2**63))])  # was an overflow in exp
@example([("item", "node/metadata/dt_ms", 0, 0)])  # was a divide warning
@example([("item", "node/nodes/a/tau_mem", 0, float("inf"))])
@example([("dtype", "node/nodes/b/metadata/param_tau_mem", "int8")])
@example([("shape", "node/nodes/proj1_d3/metadata/spikelab_projection", "2d")])
def test_mutated_file(muts):
    path = _TMP / "mutant.nir"
    shutil.copyfile(VALID, path)
    for m in muts:
        apply(path, m)
    import_checked(path)

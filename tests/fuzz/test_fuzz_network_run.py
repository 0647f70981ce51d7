"""Memory safety: mutated network files that ``Network.load`` accepts are compiled on
numba and run for 30 steps in a subprocess (one per batch of mutants), which must never
die from a signal and may fail only with spikelab's own errors."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spikelab import Network

from .common import SPIKELAB_DIR, check_ours, fuzz_settings
from .netfiles import apply, mutations, sample_network

pytest.importorskip("numba")

_TMP = Path(tempfile.mkdtemp(prefix="spikelab-fuzz-run-"))
atexit.register(shutil.rmtree, _TMP, True)
VALID = sample_network().save(_TMP / "valid.h5")
SCRIPT = Path(__file__).with_name("run_networks.py")
BATCH = 12
TIMEOUT_S = 300
#: mutations that keep a file loadable and reach the kernel with unusual CSR data
KERNEL_MUTS = [
    ("item", "projections/1/indices", 0, 5),
    ("item", "projections/1/data", 0, 1e39),
    ("item", "projections/1/delays", 0, 1),
    ("shape", "projections/1/delays", "reverse"),
    ("dtype", "projections/1/data", "float32"),
    ("dtype", "projections/1/indices", "int64"),
]


def accepted(muts_per_file: list[list[tuple]], folder: Path) -> list[Path]:
    """Write the mutants; keep those ``Network.load`` accepts (the others must raise ours)."""
    keep = []
    for k, muts in enumerate(muts_per_file):
        path = folder / f"mutant{k}.h5"
        shutil.copyfile(VALID, path)
        for m in muts:
            apply(path, m)
        try:
            Network.load(path)
        except (ValueError, TypeError) as exc:
            check_ours(exc)
            continue
        keep.append(path)
    return keep


def run_batch(paths: list[Path]) -> list[dict]:
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, paths)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert proc.returncode >= 0, (
        f"the run died from signal {-proc.returncode}; files: {paths}\n{proc.stderr[-2000:]}"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


@fuzz_settings(4)
@given(
    st.lists(
        st.lists(
            st.one_of(st.sampled_from(KERNEL_MUTS), mutations(VALID)), min_size=1, max_size=3
        ),  # fmt: skip
        min_size=BATCH,
        max_size=BATCH,
    )
)
def test_mutants_run_without_a_signal(muts_per_file):
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        paths = accepted(muts_per_file, Path(tmp))
        if not paths:
            return
        results = run_batch(paths)
    assert len(results) == len(paths)
    for r in results:
        if not r["ok"]:
            assert r["allowed"], f"{r['file']}: {r['type']} (not ours) raised: {r['message']}"
            where = Path(r["where"]).resolve()
            assert SPIKELAB_DIR in where.parents, (
                f"{r['file']}: foreign {r['type']} raised in {where}: {r['message']}"
            )


#: what crashed or misbehaved before the CSR checks on load (each found on a clean clone):
#: SIGSEGV (a column index past the target), silently rerouted synapses (a negative one),
#: a SystemError from numba (delays of 1e9 steps), parameters stored as bytes
KNOWN = [
    [("item", "projections/2/indices", 0, 10**9)],
    [("item", "projections/2/indices", 0, 2**31 - 1)],
    [("item", "projections/1/indices", 0, -1)],
    [("item", "projections/1/delays", 0, 10**9)],
    [("item", "projections/1/indptr", 2, 0)],
    [("dtype", "populations/0/tau_mem", "S8")],
]


def test_known_crashers_are_refused_or_run_safely():
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        paths = accepted(KNOWN, Path(tmp))
        results = run_batch(paths) if paths else []
    assert all(r["ok"] or r["allowed"] for r in results), results

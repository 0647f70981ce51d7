"""Lava through its worker process (spikelab.backends.lava.remote, worker, wire).

Runs in both environments. In .venv (no Lava) the worker is .venv-lava/bin/python (skipped
when there is none); in .venv-lava it is this very interpreter (``python=sys.executable``),
which also lets a test compare the worker's Recording with the in-process one bit for bit.
One worker is shared by the module; the networks are tiny and the runs short (Lava starts
OS processes per run).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import (
    LIF,
    BackendUnavailable,
    InputPort,
    Izhikevich,
    Network,
    Population,
    Projection,
    Recording,
    RecordSpec,
    SpikeBatch,
    SpikeTrains,
    UnsupportedFeature,
    get_backend,
)
from spikelab.backends import base
from spikelab.backends.lava import remote
from spikelab.backends.lava.wire import decode, encode, npz_arrays, npz_bytes

LAVA_HERE = importlib.util.find_spec("lava") is not None
RECORD = RecordSpec(bin_steps=20, raster=True, voltage=(0, 7))
TIMING = ("setup_s", "seconds_per_sample", "worker")  # extras that are clocks, not results

pytestmark = [
    pytest.mark.needs_lava,
    pytest.mark.filterwarnings("ignore:pandas not found:ImportWarning"),
]


def lava_python() -> str:
    """The worker's interpreter here, or a skip saying how to get one."""
    if LAVA_HERE:
        return sys.executable
    try:
        return str(remote.find_lava_python())
    except BackendUnavailable as e:
        pytest.skip(f"no Lava interpreter for the worker (make venv-lava): {e}")


@pytest.fixture(scope="module")
def worker():
    with remote.LavaWorker(lava_python()) as w:
        yield w


def tiny_net() -> Network:
    """10 LIF neurons (refractory, synaptic current), 6 inputs, recurrent delays 1..2."""
    w_in = sp.random(6, 10, density=0.5, random_state=1, format="csr") * 0.8
    w_rc = sp.random(10, 10, density=0.3, random_state=2, format="csr") * 0.3
    lif = LIF(tau_mem=20.0, tau_syn=5.0, v_th=1.0, t_ref=2.0)
    delays = np.random.default_rng(3).integers(1, 3, w_rc.nnz).astype(np.int32)
    return Network(
        populations=(Population(name="a", size=10, model=lif),),
        inputs=(InputPort(name="in", size=6),),
        projections=(
            Projection(source="in", target="a", weights=w_in, delays=0),
            Projection(source="a", target="a", weights=w_rc, delays=delays),
        ),
    )


def tiny_batch(n_samples: int = 3, n_steps: int = 60, seed: int = 0) -> SpikeBatch:
    rng = np.random.default_rng(seed)
    x = (rng.random((n_samples, n_steps, 6)) < 0.2).astype(np.float32)
    return SpikeBatch.from_dense(x * rng.integers(1, 3, size=x.shape))


def assert_same_recording(a: Recording, b: Recording) -> None:
    """Bit for bit, clocks aside."""
    assert a.counts.dtype == b.counts.dtype and a.counts.tobytes() == b.counts.tobytes()
    for f in ("offsets", "steps", "neurons"):
        assert getattr(a.raster, f).tobytes() == getattr(b.raster, f).tobytes(), f
    assert a.voltage.dtype == b.voltage.dtype and a.voltage.tobytes() == b.voltage.tobytes()
    same = ("bin_steps", "n_steps", "dt", "populations", "voltage_neurons", "n_spikes",
            "n_synaptic_events")  # fmt: skip
    assert all(getattr(a, k) == getattr(b, k) for k in same)
    strip = lambda e: {k: v for k, v in e.items() if k not in TIMING}  # noqa: E731
    assert strip(a.extras) == strip(b.extras)


# ---- the wire (no worker) -------------------------------------------------------------------
def test_wire_round_trip_keeps_types_and_bits():
    raster = SpikeTrains.from_dense(np.eye(4, dtype=np.uint8)[None])
    rec = Recording(
        counts=np.arange(8, dtype=np.int32).reshape(1, 2, 4), bin_steps=2, n_steps=4,
        dt=0.1 + 0.2, populations=(("a", 0, 4),), raster=raster,
        voltage=np.random.default_rng(0).normal(size=(1, 4, 2)), voltage_neurons=(3, 1),
        extras={"groups": [("a", "lif", 4)], "e": np.int64(-3), "x": np.float32(0.1),
                "nan": float("nan"), "__odd": {"nested": (1, [2.5, None, True])}},
    )  # fmt: skip
    arrays: list[np.ndarray] = []
    tree = encode(rec, arrays)
    back = decode(tree, npz_arrays(npz_bytes(arrays)))
    assert isinstance(back, Recording) and back.dt == 0.1 + 0.2
    assert back.counts.tobytes() == rec.counts.tobytes() and back.counts.dtype == np.int32
    assert back.voltage.tobytes() == rec.voltage.tobytes()
    assert back.populations == (("a", 0, 4),) and back.voltage_neurons == (3, 1)
    assert back.extras["groups"] == [("a", "lif", 4)]
    assert type(back.extras["e"]) is np.int64 and type(back.extras["x"]) is np.float32
    assert back.extras["x"] == np.float32(0.1) and np.isnan(back.extras["nan"])
    assert back.extras["__odd"] == {"nested": (1, [2.5, None, True])}
    with pytest.raises(TypeError, match="object arrays"):
        encode(np.array([object()]), [])
    with pytest.raises(TypeError, match="cannot cross"):
        encode({1, 2}, [])


def test_client_modules_import_neither_lava_nor_numba():
    code = (
        "import sys; import spikelab.backends.lava.remote, spikelab.backends.lava.wire; "
        "print(sorted(m for m in ('numba', 'torch', 'brian2', 'lava') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_interpreter_names_both_fixes(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-python"
    monkeypatch.setattr(remote, "candidate_pythons", lambda: [tmp_path / ".venv-lava/bin/python"])
    monkeypatch.setenv(remote.ENV, str(missing))
    with pytest.raises(BackendUnavailable) as e:
        remote.find_lava_python()
    text = str(e.value)
    assert f"SPIKELAB_LAVA_PYTHON={str(missing)!r} is not an executable file" in text
    assert "make venv-lava" in text and ".venv-lava/bin/spikelab" in text
    monkeypatch.delenv(remote.ENV)
    with pytest.raises(BackendUnavailable, match="is not set and there is no Lava interpreter"):
        remote.find_lava_python()
    assert remote.worker_status() is None
    with pytest.raises(BackendUnavailable, match=r"python='/nope/python'.*make venv-lava"):
        get_backend("lava", python="/nope/python")  # in .venv-lava too: the option asks for it
    if not LAVA_HERE:  # the registry tells the truth: lava is not available here now
        assert "lava" not in base.available_backends()
        row = next(r for r in base.backend_versions() if r["backend"] == "lava")
        assert row["available"] == "no" and "make venv-lava" in row["install"]
        with pytest.raises(BackendUnavailable, match="make venv-lava"):
            tiny_net().compile("lava")


# ---- through the worker ---------------------------------------------------------------------
def test_worker_is_found_and_reported():
    python = lava_python()
    if LAVA_HERE:
        assert get_backend("lava").remote is False  # in .venv-lava: in-process, as before
        return
    assert get_backend("lava").python == python
    assert "lava" in base.available_backends()
    row = next(r for r in base.backend_versions() if r["backend"] == "lava")
    assert row["available"] == "yes" and f"through a worker: {python}" in row["versions"]


def test_floating_pt_through_the_worker_is_spike_for_spike_numba(worker):
    net, batch = tiny_net(), tiny_batch()
    ref = net.compile("numba", dt=1.0, record=RECORD).run(batch)
    sim = net.compile("lava", dt=1.0, record=RECORD, worker=worker)
    assert isinstance(sim, remote.RemoteLavaSimulation)
    out = sim.run(batch)
    assert ref.n_spikes > 50
    np.testing.assert_array_equal(out.counts, ref.counts)
    assert all(np.array_equal(out.raster.dense(b), ref.raster.dense(b)) for b in range(3))
    np.testing.assert_allclose(out.voltage, ref.voltage, rtol=0, atol=1e-12)
    assert out.n_synaptic_events == ref.n_synaptic_events
    info = out.extras["worker"]
    assert info["pid"] == worker.pid and info["run_s"] > 0 and info["overhead_s"] >= 0
    assert out.wall_time_s >= info["run_s"]
    assert repr(sim).startswith("RemoteLavaSimulation(10 neurons, 6 inputs")
    used = sim.effective_options()  # what a run's metrics.json records
    assert used["python"] == str(worker.python) and used["precision"] == "floating_pt"
    assert used["worker_lava_nc"] == worker.info["lava"]
    # the same compiled network serves more batches (another length: Lava recompiles)
    again = sim.run(tiny_batch(2, 40, seed=5))
    ref2 = net.compile("numba", dt=1.0, record=RECORD).run(tiny_batch(2, 40, seed=5))
    np.testing.assert_array_equal(again.counts, ref2.counts)
    sim.close()
    assert worker.alive  # shared: closing a simulation frees its network, not the worker
    assert worker.request("close", {"ids": []})["open"] == 0


def test_fixed_pt_report_and_errors_cross(worker):
    net, batch = tiny_net(), tiny_batch(2, 40)
    with net.compile("lava", record=RECORD, precision="fixed_pt", worker=worker) as sim:
        out = sim.run(batch)
        rep = sim.quantization_report
        assert set(rep) == {"summary", "groups", "blocks"}
        assert out.extras["quantization"] == rep and out.extras["precision"] == "fixed_pt"
        assert isinstance(rep["summary"]["weight_rel_err_of_peak_max"], float)
        with pytest.raises(ValueError, match="the batch has 5 channels"):  # checked here
            sim.run(SpikeBatch.empty(1, 10, n_channels=5))
    izh = Network(
        populations=(Population(name="izh", size=3, model=Izhikevich()),),
        inputs=(InputPort(name="in", size=6),),
        projections=(Projection(source="in", target="izh", weights=sp.csr_matrix((6, 3))),),
    )
    with pytest.raises(UnsupportedFeature, match=r"Izhikevich population\(s\) \['izh'\]"):
        izh.compile("lava", precision="fixed_pt", worker=worker)  # raised in the worker
    assert worker.alive


@pytest.mark.skipif(not LAVA_HERE, reason="compares with Lava in this process (.venv-lava)")
def test_worker_recording_is_bit_for_bit_the_in_process_one(worker):
    net, batch = tiny_net(), tiny_batch()
    for precision in ("fixed_pt", "floating_pt"):
        with net.compile("lava", record=RECORD, precision=precision, chunk=2) as here:
            a = here.run(batch)
        with net.compile("lava", record=RECORD, precision=precision, chunk=2, worker=worker) as w:
            b = w.run(batch)
        assert_same_recording(a, b)
        assert "worker" in b.extras and "worker" not in a.extras


def _group(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def test_owned_worker_stops_with_its_simulation_and_pickling_starts_one():
    net, batch = tiny_net(), tiny_batch(1, 30)
    sim = net.compile("lava", record=RECORD, python=lava_python())
    first = sim.run(batch)
    copy = pickle.loads(pickle.dumps(sim))  # a new worker of its own (e.g. on a Dask worker)
    assert copy.worker.pid != sim.worker.pid
    assert copy.run(batch).counts.tobytes() == first.counts.tobytes()
    owned = sim.worker
    sim.close()
    assert not owned.alive and owned.exit_code == 0
    other = copy.worker
    del copy
    gc.collect()
    assert not other.alive and other.exit_code == 0


PARENT = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from test_worker import tiny_net
from spikelab import SpikeBatch
sim = tiny_net().compile("lava", python=sys.argv[1])
print(sim.worker.pid, flush=True)
x = (np.random.default_rng(0).random((64, 2000, 6)) < 0.2).astype(np.float32)
sim.run(SpikeBatch.from_dense(x))  # minutes of Lava: killed long before it ends
"""


def test_worker_and_lava_stop_when_the_parent_dies_mid_batch():
    here = str(Path(__file__).parent)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, lava_python(), here],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    pid = None
    try:
        pid = int(parent.stdout.readline())  # the worker leads its own process group
        time.sleep(3)  # the batch is on its way into Lava
        assert pid in _group(pid)
        parent.send_signal(signal.SIGKILL)  # no finaliser runs in the parent
        parent.wait()
        deadline = time.monotonic() + 30
        while _group(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _group(pid), f"worker {pid} or its Lava processes outlived the parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()
        for p in _group(pid) if pid is not None else ():  # a failed test cleans up
            os.kill(p, signal.SIGKILL)


def test_worker_stops_at_interpreter_exit():
    code = (
        "import sys; from spikelab.backends.lava import LavaWorker; "
        "w = LavaWorker(sys.argv[1]); print(w.pid)"  # no close(): exit stops it
    )
    done = subprocess.run([sys.executable, "-c", code, lava_python()], capture_output=True,
                          text=True, check=True, timeout=300)  # fmt: skip
    pid = int(done.stdout)
    assert not _group(pid), f"worker {pid} outlived the interpreter that started it"


def test_a_dead_worker_is_an_error_not_a_hang():
    w = remote.LavaWorker(lava_python())
    os.kill(w.pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"Lava worker .* is gone \(.*exited with code -9"):
        w.request("close", {"ids": []})
    assert not w.alive
    with pytest.raises(RuntimeError, match="is closed"):
        w.request("close", {"ids": []})

"""The Lava deployment artifact loads and runs with Lava and numpy alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("lava", reason="lava-nc is installed only in .venv-lava (Python 3.10)")

import spikelab as sl  # noqa: E402
from spikelab import (  # noqa: E402
    LIF,
    InputPort,
    Network,
    Population,
    Projection,
    RecordSpec,
    SpikeBatch,
    UnsupportedFeature,
)
from spikelab.export import export_lava  # noqa: E402
from spikelab.readout import LinearReadout  # noqa: E402

pytestmark = [
    pytest.mark.needs_lava,
    pytest.mark.filterwarnings("ignore:pandas not found:ImportWarning"),
]

N_STEPS = 80

# Runs in a fresh interpreter: Lava and numpy only, never spikelab.
RUN = """
import json, sys
import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.lif.process import LIFRefractory
from lava.utils.serialization import load
import importlib.util

out = sys.argv[1]
manifest = json.load(open(out + "/manifest.json"))
spec = importlib.util.spec_from_file_location("artifact_models", out + "/lava_models.py")
models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(models)
procs, _ = load(out + "/" + manifest["processes_file"])
byname = {p.name: p for p in procs}
source = byname[manifest["source"]]
data = np.zeros(source.data.shape, dtype=manifest["input_dtype"])
data[:, : manifest["n_steps"]] = np.load(out + "/inputs.npy")
source.data.init = data
cfg = Loihi2SimCfg(select_tag=manifest["precision"], exception_proc_model_map={
    LIFRefractory: getattr(models, manifest["refractory_model"])})
source.run(condition=RunSteps(num_steps=manifest["n_steps"] + 1), run_cfg=cfg)
spikes = {g["name"]: byname[g["sink"]].data.get()[:, 1:] != 0 for g in manifest["groups"]}
source.stop()
np.savez(out + "/spikes.npz", **spikes)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "spikelab")))
"""


def small_net() -> Network:
    rng = np.random.default_rng(0)
    n_in, n = 10, 24
    w_in = sp.random(
        n_in, n, density=0.4, random_state=rng, data_rvs=lambda k: rng.uniform(0.3, 0.7, k)
    )
    w_rec = sp.random(
        n, n, density=0.15, random_state=rng, data_rvs=lambda k: rng.uniform(-0.3, 0.3, k)
    ).tocsr()
    w_rec.sort_indices()
    model = LIF(tau_mem=20.0, tau_syn=4.0, v_rest=0.0, v_reset=-0.2, v_th=1.0, t_ref=2.0, bias=0.4)
    return Network(
        populations=(Population(name="res", size=n, model=model),),
        inputs=(InputPort(name="in", size=n_in),),
        projections=(
            Projection(source="in", target="res", weights=w_in, delays=0),
            Projection(
                source="res",
                target="res",
                weights=w_rec,
                delays=rng.integers(1, 3, w_rec.nnz).astype(np.int32),
            ),
        ),
    )
    # fmt: skip


def test_fixed_pt_artifact_runs_without_spikelab(tmp_path: Path) -> None:
    net = small_net()
    out = export_lava(net, tmp_path / "artifact", dt=1.0, precision="fixed_pt", n_steps=N_STEPS)
    assert {p.name for p in out.iterdir()} >= {
        "manifest.json",
        "network.pickle",
        "params.npz",
        "lava_models.py",
        "run_artifact.py",
    }
    rng = np.random.default_rng(1)
    x = (rng.random((1, N_STEPS, net.n_inputs)) < 0.08).astype(np.float32)
    np.save(out / "inputs.npy", x[0].T)
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::ImportWarning", "-c", RUN, str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []  # spikelab never imported
    got = np.load(out / "spikes.npz")["res"].T  # [T, n]
    rs = RecordSpec(raster=True)
    with net.compile("lava", dt=1.0, record=rs, precision="fixed_pt", merge=False) as sim:
        rec = sim.run(SpikeBatch.from_dense(x))
    assert rec.n_spikes > 10
    assert np.array_equal(got, rec.raster.dense(0))  # the very same bit-accurate computation
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "spikelab.lava-artifact" and manifest["format_version"] == 2
    assert manifest["n_steps"] == N_STEPS and manifest["n_steps_source"] == "option"
    assert manifest["readout"] is None
    assert manifest["quantization"]["summary"]["threshold_abs_err_mV_max"] == 0.0
    params = np.load(out / "params.npz")
    assert params["block/res->res/data"].dtype.kind == "i"


def test_artifact_refuses_izhikevich_and_a_used_folder(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFeature, match="Izhikevich"):
        export_lava(sl.reservoirs.izhikevich_network(4, 2, seed=0), tmp_path / "izh")
    used = tmp_path / "used"
    used.mkdir()
    (used / "file").write_text("x")
    with pytest.raises(FileExistsError):
        export_lava(small_net(), used)


# Runs in a fresh interpreter: the artifact's own run code (Lava and numpy only).
PREDICT = """
import importlib.util, json, sys
import numpy as np

out = sys.argv[1]
spec = importlib.util.spec_from_file_location("run_artifact", out + "/run_artifact.py")
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)
samples = np.load(out + "/samples.npy")
errors = []
for bad in (samples[0][:, :1].repeat(samples.shape[2] + 1, axis=1), samples[0][:-1]):
    try:
        runner.run(bad)
    except ValueError as e:
        errors.append(str(e))
counts = [runner.counts(runner.run(s)).tolist() for s in samples[:2]]
labels = runner.predict(samples).tolist()
mods = sorted(m for m in sys.modules if m.split(".")[0] == "spikelab")
print(json.dumps({"labels": labels, "counts": counts, "errors": errors, "spikelab": mods}))
"""


# The artifact's own code on raw event arrays (events_<i>.npy): Lava and numpy only.
PREDICT_EVENTS = """
import importlib.util, json, pathlib, sys
import numpy as np

out = pathlib.Path(sys.argv[1])
spec = importlib.util.spec_from_file_location("run_artifact", out / "run_artifact.py")
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)
files = sorted(out.glob("events_*.npy"), key=lambda p: int(p.stem.split("_")[1]))
events = [np.load(f) for f in files]
labels = runner.predict(events).tolist()
bad = events[0].copy()
bad["x"][0] = 40  # outside the 34x34 sensor
try:
    runner.run(bad)
    error = None
except ValueError as e:
    error = str(e)
mods = sorted(m for m in sys.modules if m.split(".")[0] == "spikelab")
print(json.dumps({"labels": labels, "error": error, "spikelab": mods}))
"""


def class_inputs(n: int, n_steps: int, n_inputs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """[n, n_steps, n_inputs] spikes: class c drives inputs 3c..3c+2 harder."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    rate = np.full((n, 1, n_inputs), 0.03)
    for i, c in enumerate(y):
        rate[i, 0, 3 * c : 3 * c + 3] = 0.3
    return (rng.random((n, n_steps, n_inputs)) < rate).astype(np.float32), y


def test_artifact_with_readout_predicts_as_numba(tmp_path: Path) -> None:
    """floating_pt artifact vs the numba backend: same spike counts, same labels."""
    net, n_steps, bin_steps = small_net(), 60, 20
    x, y = class_inputs(66, n_steps, net.n_inputs, seed=3)
    sim = net.compile("numba", dt=1.0, record=RecordSpec(bin_steps=bin_steps))
    counts = sim.run(SpikeBatch.from_dense(x)).counts
    readout = LinearReadout(alpha=[0.1, 1.0, 10.0]).fit(counts[:60], y[:60])
    expected = readout.predict(counts[60:])
    assert len(set(expected.tolist())) > 1
    out = export_lava(net, tmp_path / "art", dt=1.0, precision="floating_pt",
                      n_steps=n_steps, readout=readout, bin_steps=bin_steps)  # fmt: skip
    np.save(out / "samples.npy", np.transpose(x[60:], (0, 2, 1)))  # [samples, inputs, T]
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::ImportWarning", "-c", PREDICT, str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["spikelab"] == []  # spikelab never imported
    assert np.array_equal(np.asarray(got["counts"]), counts[60:62])
    assert got["labels"] == expected.tolist()  # 6 samples
    assert "runs 60" in got["errors"][0] and "--n-steps" in got["errors"][0]
    assert "n_inputs=10" in got["errors"][1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["readout"]["bin_steps"] == bin_steps
    assert manifest["readout"]["classes"] == [0, 1, 2]


def test_artifact_steps_default_and_readout_checks(tmp_path: Path) -> None:
    net = small_net()
    out = export_lava(net, tmp_path / "default", precision="floating_pt")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_steps"] == 100 and manifest["n_steps_source"].startswith("default")
    x, y = class_inputs(30, 40, net.n_inputs, seed=0)
    counts = (
        net.compile("numba", dt=1.0, record=RecordSpec(bin_steps=20))
        .run(SpikeBatch.from_dense(x))
        .counts
    )
    readout = LinearReadout().fit(counts, y)
    with pytest.raises(ValueError, match="takes 48 features, but 40 steps in bins of 10 steps"):
        export_lava(net, tmp_path / "a", n_steps=40, readout=readout, bin_steps=10)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        export_lava(net, tmp_path / "b", n_steps=0)


def test_cli_exports_a_results_folder_with_its_readout(shared_data_dir: Path, tmp_path: Path):
    """`spikelab export RESULTS_DIR --to lava OUT`: the run's steps, bins and readout; the
    artifact's labels equal the run's test predictions (floating_pt vs numba)."""
    import h5py

    from spikelab.cli import main
    from spikelab.config import load_config, set_value
    from spikelab.tasks.classify import run_classify
    from spikelab.tasks.predict import open_results, read_events

    cfg = load_config(Path(__file__).resolve().parents[2] / "examples" / "nmnist_lsm.toml")
    for key, value in {
        "dataset.root": str(shared_data_dir), "dataset.max_per_class": 3,
        "reservoir.n_neurons": 48, "encoding.duration": 60.0, "record.bin_steps": 30,
        "baseline.n_time_bins": 0, "output.plots": False, "output.dir": str(tmp_path / "run"),
    }.items():  # fmt: skip
        set_value(cfg, key, value)
    results = run_classify(cfg, progress=False, log=lambda _: None)
    out = tmp_path / "art"
    argv = ["export", str(results), "--to", "lava", str(out), "--precision", "floating_pt"]
    assert main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_steps"] == 60 and "config.toml" in manifest["n_steps_source"]
    assert manifest["readout"]["bin_steps"] == 30
    assert main([*argv[:4], str(tmp_path / "short"), "--n-steps", "30"]) == 2  # readout: 2 bins
    run = open_results(results)
    enc = run.cfg.encoding.make(run.sensor_size)
    batch = enc.encode([read_events(shared_data_dir / i) for i in run.test_ids[:5]])
    np.save(out / "samples.npy", np.stack([batch.dense(i).T for i in range(5)]))
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::ImportWarning", "-c", PREDICT, str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    with h5py.File(results / "states.h5", "r") as f:
        expected = f["test_predictions"][:5].tolist()
    assert json.loads(proc.stdout.strip().splitlines()[-1])["labels"] == expected
    # raw events: the artifact bins them itself (event_encoding.py, numpy only)
    assert manifest["encoding"]["sensor_size"] == [34, 34, 2]
    for i, sample in enumerate(run.test_ids[:5]):
        np.save(out / f"events_{i}.npy", read_events(shared_data_dir / sample))
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::ImportWarning", "-c", PREDICT_EVENTS, str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["labels"] == expected and got["spikelab"] == []
    assert "1 of" in got["error"] and "out of range" in got["error"]


def test_artifact_encoding_must_fit_the_network(tmp_path: Path) -> None:
    from spikelab.encoding import EventEncoding

    net = small_net()  # 10 inputs
    with pytest.raises(ValueError, match="gives 2312 channels .* the network has 10 inputs"):
        export_lava(net, tmp_path / "a", encoding=EventEncoding(sensor_size=(34, 34, 2)))
    enc = EventEncoding(sensor_size=(5, 1, 2), duration=150.0)
    with pytest.raises(ValueError, match="150 steps per sample, more than the artifact's n_st"):
        export_lava(net, tmp_path / "b", encoding=enc, n_steps=100)
    out = export_lava(net, tmp_path / "c", encoding=enc, n_steps=150, precision="floating_pt")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["encoding"]["duration"] == 150.0 and (out / "event_encoding.py").is_file()

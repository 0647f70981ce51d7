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
    assert manifest["format"] == "spikelab.lava-artifact" and manifest["format_version"] == 1
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

"""`spikelab demo`: the classify run, the same reservoir on a second backend, the exports
(NIR, Lava artifact, Loihi 2 fit), the figure and the summary, on a small version of the
packaged demo config."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest

from spikelab.backends.base import BackendUnavailable
from spikelab.cli import main
from spikelab.export import import_nir
from spikelab.network import Network
from spikelab.tasks import demo
from spikelab.tasks.predict import open_results, run_test_split

HAS_TORCH = importlib.util.find_spec("torch") is not None
SMALL = {
    "dataset.per_class": 6,  # 60 train + 10 test recordings, generated
    "reservoir.n_neurons": 96,
    "encoding.duration": 100.0,
    "record.bin_steps": 50,
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo command on the small config: (results folder, what it printed)."""
    tmp = tmp_path_factory.mktemp("demo")
    values = {**SMALL, "dataset.root": str(tmp / "data")}
    argv = ["-q", "demo", "--output", str(tmp / "demo")]
    for key, value in values.items():
        argv += ["--set", f"{key}={value}"]
    out = io.StringIO()  # capsys is function-scoped; the module's one run is captured here
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return tmp / "demo", out.getvalue()


def test_demo_writes_every_step(run: tuple[Path, str]) -> None:
    folder, printed = run
    report = json.loads((folder / demo.REPORT).read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    assert report["test_accuracy"] == metrics["test_accuracy"]
    assert report["baseline_test_accuracy"] == metrics["baseline_test_accuracy"]
    png = folder / demo.FIGURE
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    nir = report["exports"]["nir"]
    assert not nir["strict"] and "refractory" in nir["note"]  # NIR's CubaLIF has no t_ref
    back, net = import_nir(nir["path"]), Network.load(folder / "network.h5")
    assert (back.n_neurons, back.n_synapses) == (net.n_neurons, net.n_synapses)
    loihi = report["exports"]["loihi2"]
    assert loihi["fits"] and loihi["cores"] >= 1
    assert "fits" in Path(loihi["path"]).read_text()


def test_second_backend_gives_identical_counts(run: tuple[Path, str]) -> None:
    folder, _ = run
    check = json.loads((folder / demo.REPORT).read_text())["second_backend"]
    if not HAS_TORCH:  # .venv-lava: the step says why it was skipped
        assert "torch" in check["skipped"]
        return
    assert check["backend"] == "torch" and check["reference_backend"] == "numba"
    assert check["identical"] and check["values_differing"] == 0
    assert check["samples"] == 10 and check["predictions_identical"] == 10
    assert check["spikes"] == check["spikes_reference"] > 0


def test_lava_artifact_when_a_lava_python_exists(run: tuple[Path, str]) -> None:
    folder, _ = run
    lava = json.loads((folder / demo.REPORT).read_text())["exports"]["lava"]
    python, why = demo.lava_python()
    if python is None:
        assert lava["skipped"] == why and lava["path"] is None
        return
    manifest = json.loads((Path(lava["path"]) / "manifest.json").read_text())
    assert manifest["n_steps"] == lava["n_steps"] == 100
    assert manifest["readout"]["bin_steps"] == 50 and lava["readout"]
    assert (Path(lava["path"]) / "network.pickle").stat().st_size > 0


def test_summary_says_where_and_what_next(run: tuple[Path, str]) -> None:
    folder, printed = run
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "spikelab demo: summary" in printed
    assert f"{100 * metrics['test_accuracy']:.2f} %" in printed
    assert f"{100 * metrics['baseline_test_accuracy']:.2f} %" in printed
    verdict = "beats" if metrics["test_accuracy"] > metrics["baseline_test_accuracy"] else "NOT"
    assert verdict in printed
    assert str(folder) in printed and "next:" in printed and "make docs" in printed


def test_a_missing_backend_is_skipped_with_its_reason(run, monkeypatch) -> None:
    folder, _ = run
    saved = open_results(folder)
    _, samples, sensor = run_test_split(saved)

    def unavailable(*args, **kwargs):
        raise BackendUnavailable("backend 'torch' needs torch: pip install -e '.[torch]'")

    monkeypatch.setattr(demo, "compile_simulation", unavailable)
    check = demo.backend_check(saved, samples, sensor, "torch", progress=False)
    assert check["skipped"].startswith("backend 'torch' needs torch")
    assert demo.backend_line(check).startswith("torch: skipped (backend 'torch' needs torch")


def test_no_lava_python_skips_the_artifact(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(demo, "lava_python", lambda: (None, "no Lava interpreter: make venv-lava"))
    out = demo.lava_step(tmp_path, tmp_path / "lava")
    assert out == {"path": None, "skipped": "no Lava interpreter: make venv-lava"}
    assert not (tmp_path / "lava").exists()
    lines = demo.export_lines({"lava": out})
    assert lines == ["  Lava       not written: no Lava interpreter: make venv-lava"]


def test_compare_counts_counts_differences() -> None:
    a = np.zeros((3, 2, 4), np.int32)
    b = a.copy()
    b[1, 0, 2] = 2
    b[2, 1, 3] = 1
    got = demo.compare_counts(a, b)
    assert got == {
        "identical": False,
        "values": 24,
        "values_differing": 2,
        "samples_differing": 2,
        "spikes": 0,
        "spikes_reference": 3,
    }
    assert demo.compare_counts(b, b)["identical"]
    with pytest.raises(ValueError, match="count shapes differ"):
        demo.compare_counts(a, b[:2])

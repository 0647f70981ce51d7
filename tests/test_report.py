"""``spikelab report``: the metrics table of several results folders, the comparison plot,
each run's figures redrawn from its files, and clear errors for what is not a results folder."""

from __future__ import annotations

import csv
import io
import json

import h5py
import numpy as np
import pytest

from spikelab.cli import build_parser, main
from spikelab.report import flatten_metrics, load_runs, metrics_table, unique_labels
from spikelab.results import write_config_and_metrics, write_marker, write_raster
from spikelab.spikes import Recording, SpikeTrains


def fake_run(folder, name, metrics, *, raster=True):
    """A classify results folder as a run leaves it (marker, config, metrics, states.h5)."""
    folder.mkdir(parents=True)
    write_marker(folder, name=name, task="classify")
    write_config_and_metrics(folder, {"name": name}, {"provenance": {}, **metrics})
    with h5py.File(folder / "states.h5", "w") as f:
        f["y_test"] = np.array([0, 0, 1, 1, 2])
        f["test_predictions"] = np.array([0, 1, 1, 1, 2])
        if raster:
            r = np.zeros((1, 30, 4), np.uint8)
            r[0, [3, 7, 7, 20], [0, 1, 3, 2]] = 1
            rec = Recording(counts=r.sum(1, keepdims=True).astype(np.int32), bin_steps=30,
                            n_steps=30, dt=1.0, populations=(("exc", 0, 3), ("inh", 3, 4)),
                            raster=SpikeTrains.from_dense(r))  # fmt: skip
            write_raster(f.create_group("raster"), rec)
    return folder


A = {"test_accuracy": 0.8, "backend": "numba", "neurobench": {"Footprint": 100,
     "ActivationSparsity": 0.9, "SynapticOperations": {"Effective_ACs": 12.5}}}  # fmt: skip
B = {"test_accuracy": 0.6, "backend": "crossbar", "neurobench": {"Footprint": 100,
     "ActivationSparsity": 0.95, "SynapticOperations": {"Effective_ACs": 10.0},
     "energy": {"energy_per_sample_j": 2e-8}},
     "readout_history": [{"epoch": 1, "train_accuracy": 0.5, "updated_fraction": 0.4},
                         {"epoch": 2, "train_accuracy": 0.7, "updated_fraction": 0.2}]}  # fmt: skip


def test_flatten_and_table(tmp_path):
    assert flatten_metrics({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": 1, "d": None}
    runs = load_runs([fake_run(tmp_path / "a", "lsm", A), fake_run(tmp_path / "b", "xbar", B)])
    table = metrics_table(runs)
    assert table["runs"] == ["lsm", "xbar"]
    rows = dict(table["rows"])
    assert rows["test_accuracy"] == [0.8, 0.6]
    assert rows["neurobench.energy.energy_per_sample_j"] == [None, 2e-8]
    assert list(rows)[:2] == ["test_accuracy", "neurobench.ActivationSparsity"]
    only = metrics_table(runs, ["neurobench.*Sparsity", "backend"])
    assert [k for k, _ in only["rows"]] == ["neurobench.ActivationSparsity", "backend"]
    with pytest.raises(ValueError, match="no metric matches"):
        metrics_table(runs, ["nothing.here"])


def test_labels_are_unique():
    assert unique_labels(["a", "a", "b"], ["r/1", "r/2", "r/3"]) == ["r/1", "r/2", "b"]
    assert unique_labels(["a", "a"], ["x", "x"]) == ["x #1", "x #2"]


def test_cli_prints_the_table_and_writes_the_report(tmp_path, capsys):
    a = fake_run(tmp_path / "a", "lsm", A)
    b = fake_run(tmp_path / "b", "xbar", B)
    out = tmp_path / "report"
    assert main(["report", str(a), str(b), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test_accuracy" in printed and "lsm" in printed and "2e-08" in printed
    assert printed.splitlines()[-1] == f"wrote 8 files to {out}"
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text())))
    assert [r["run"] for r in rows] == ["lsm", "xbar"]
    assert rows[0]["neurobench.energy.energy_per_sample_j"] == ""
    assert float(rows[1]["neurobench.SynapticOperations.Effective_ACs"]) == 10.0
    assert (out / "report.md").read_text().startswith("| metric | lsm | xbar |")
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"
    figs = {p.relative_to(out).as_posix() for p in (out / "figures").rglob("*.png")}
    assert figs == {
        "figures/lsm/confusion.png", "figures/lsm/raster.png", "figures/xbar/confusion.png",
        "figures/xbar/raster.png", "figures/xbar/readout_curve.png",
    }  # fmt: skip
    assert main(["report", str(a), "--out", str(out), "--no-figures"]) == 0  # an earlier report
    assert sorted(json.loads((a / "metrics.json").read_text())) == sorted(["provenance", *A])


def test_a_run_without_a_saved_raster_gets_no_raster(tmp_path):
    a = fake_run(tmp_path / "a", "lsm", A, raster=False)
    assert main(["report", str(a), "--out", str(tmp_path / "r")]) == 0
    assert sorted(p.name for p in (tmp_path / "r" / "figures" / "lsm").iterdir()) == [
        "confusion.png"
    ]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.write_text("x"), p)[1], "is a file, not a results folder"),
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("x"), p)[2],
         "is not a spikelab results folder: it has no .spikelab-results.json"),
    ],
)  # fmt: skip
def test_what_is_not_a_results_folder_is_a_clear_error(tmp_path, capsys, make, message):
    good = fake_run(tmp_path / "good", "lsm", A)
    bad = make(tmp_path / "bad")
    assert main(["report", str(good), str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and str(bad) in err
    assert not (tmp_path / "r").exists()  # checked before anything is written


def test_out_never_goes_into_a_results_folder_or_a_users_folder(tmp_path, capsys):
    a = fake_run(tmp_path / "a", "lsm", A)
    assert main(["report", str(a), "--out", str(a / "report")]) == 2
    assert "never changes a run's folder" in capsys.readouterr().err
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "ch1.tex").write_text("x")
    assert main(["report", str(a), "--out", str(user)]) == 2
    assert "not an earlier report" in capsys.readouterr().err
    assert [p.name for p in user.iterdir()] == ["ch1.tex"]


def test_every_argument_has_help():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    report = sub.choices["report"]
    assert all(a.help for a in report._actions), [a.dest for a in report._actions if not a.help]


def test_a_zero_shot_run_gets_its_retrieval_figure_redrawn(tmp_path):
    from spikelab.tasks.zero_shot.config import ZeroShotConfig
    from spikelab.tasks.zero_shot.report import DIRECTIONS, METHODS, SPLITS, retrieval_table

    folder = tmp_path / "zs"
    folder.mkdir()
    write_marker(folder, name="zs", task="zero_shot")
    acc = {d: {p: {m: 0.5 for m in METHODS} for p in SPLITS} for d in DIRECTIONS}
    labels = {p: {"image": np.array([1, 2, 2]), "audio": np.array([1, 2])} for p in SPLITS}
    table = retrieval_table([{"seed": 0, "accuracy": acc}, {"seed": 1, "accuracy": acc}], labels)
    nb = {"per_modality": {"image": {"Footprint": 10, "ActivationSparsity": 0.9}},
          "ClassificationAccuracy": {d: 0.5 for d in DIRECTIONS}}  # fmt: skip
    cfg = ZeroShotConfig.from_dict({"name": "zs"}).to_dict()
    write_config_and_metrics(folder, cfg, {"provenance": {}, "retrieval": table, "neurobench": nb})
    out = tmp_path / "r"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    assert [p.name for p in (out / "figures" / "zs").iterdir()] == ["retrieval.png"]
    rows = dict(metrics_table(load_runs([folder]))["rows"])
    assert rows["retrieval.audio_to_image.zero_shot.contrastive.mean"] == [0.5]
    assert rows["neurobench.ClassificationAccuracy.image_to_audio"] == [0.5]

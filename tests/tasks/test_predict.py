"""`spikelab predict`: a classify results folder classifies events again, with the saved
network, readout and split, and reproduces the run's test predictions exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from spikelab.cli import main
from spikelab.config import load_config, set_value
from spikelab.datasets import read_mnist_file
from spikelab.readout import LinearReadout, OnlineReadout, load_readout
from spikelab.tasks.classify import run_classify
from spikelab.tasks.predict import open_results, predict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nmnist_lsm.toml"


def small_run(
    root: Path, out: Path, readout: dict | None = None, features: dict | None = None
) -> Path:
    cfg = load_config(EXAMPLE)
    if readout is not None:
        cfg["readout"] = readout
    if features is not None:
        cfg["features"] = features
    values = {
        "dataset.root": str(root),
        "dataset.max_per_class": 5,
        "reservoir.n_neurons": 96,
        "encoding.duration": 120.0,
        "record.bin_steps": 40,
        "baseline.n_time_bins": 0,
        "output.plots": False,
        "output.dir": str(out),
    }
    for key, value in values.items():
        set_value(cfg, key, value)
    return run_classify(cfg, progress=False, log=lambda _: None)


@pytest.fixture(scope="module")
def results(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_run(shared_data_dir, tmp_path_factory.mktemp("predict") / "run")


def test_predict_reproduces_the_runs_test_predictions(results: Path, shared_data_dir: Path):
    with h5py.File(results / "states.h5", "r") as f:
        expected = f["test_predictions"][()]
        ids = [i.decode() for i in f["split/test_ids"][()]]
        train_ids = {i.decode() for i in f["split/train_ids"][()]}
        assert tuple(f["split/sensor_size"][()]) == (34, 34, 2)
    assert len(ids) == len(expected) == 10 and not train_ids & set(ids)
    assert all((shared_data_dir / i).is_file() for i in ids)
    assert isinstance(load_readout(results / "readout.h5"), LinearReadout)
    got = predict(results, log=lambda _: None)
    assert got.samples == tuple(ids)
    assert np.array_equal(got.labels, expected)
    assert got.to_dict()["identical_to_run"] == 10
    assert len(set(expected.tolist())) > 2  # a readout that predicts more than one class


def test_cli_predicts_files_and_arrays(results: Path, shared_data_dir: Path, tmp_path, capsys):
    run = open_results(results)
    files = [str(shared_data_dir / i) for i in run.test_ids[:4]]
    np.save(tmp_path / "sample.npy", read_mnist_file(files[0]))
    out = tmp_path / "pred.json"
    argv = ["predict", str(results), *files, str(tmp_path / "sample.npy"), "--json", str(out)]
    assert main([*argv, "--quiet"]) == 0
    rows = json.loads(out.read_text())["predictions"]
    assert [r["sample"] for r in rows[:4]] == files
    labels = [r["label"] for r in rows]
    assert labels == [*run.test_predictions[:4].tolist(), run.test_predictions[0].item()]
    arrays = predict(results, [read_mnist_file(f) for f in files[:2]], log=lambda _: None)
    assert arrays.samples == ("array 0", "array 1")
    assert np.array_equal(arrays.labels, run.test_predictions[:2])
    assert main(["predict", str(results), "--quiet"]) == 0
    assert "identical to the run's test predictions: 10 of 10" in capsys.readouterr().out


def test_predict_with_an_online_readout(shared_data_dir: Path, tmp_path: Path):
    results = small_run(shared_data_dir, tmp_path / "online", {"kind": "online", "epochs": 3})
    assert isinstance(load_readout(results / "readout.h5"), OnlineReadout)
    got = predict(results, log=lambda _: None)
    with h5py.File(results / "states.h5", "r") as f:
        assert np.array_equal(got.labels, f["test_predictions"][()])


def test_predict_applies_the_runs_feast_model(shared_data_dir: Path, tmp_path: Path):
    feast = {"kind": "feast", "n_neurons": 8, "radius": 2, "fit_samples": 10}
    results = small_run(shared_data_dir, tmp_path / "feast", features=feast)
    run = open_results(results)
    assert run.features is not None and run.sensor_size == (34, 34, 2)
    got = predict(results, log=lambda _: None)
    assert np.array_equal(got.labels, run.test_predictions)


def test_predict_errors_name_the_file(results: Path, tmp_path: Path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(results, broken)
    (broken / "readout.h5").unlink()
    with pytest.raises(FileNotFoundError, match="no readout.h5"):
        predict(broken)
    assert main(["predict", str(broken)]) == 2
    assert "no readout.h5" in capsys.readouterr().err
    (tmp_path / "events.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match=r"events\.txt: events must be an N-MNIST \.bin"):
        predict(results, [tmp_path / "events.txt"])
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ValueError, match="fields x, y, t, p"):
        predict(results, [tmp_path / "plain.npy"])

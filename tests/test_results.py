"""spikelab.results: the results folder is marked, and the writer never replaces a path that
is not a spikelab results folder (a file, a user's folder, the input data); an earlier
results folder only with --overwrite. Every check runs before any data is loaded. And the
seeds and backend options a run used are recorded in metrics.json."""

from __future__ import annotations

import json
import os

import pytest

from spikelab.cli import main
from spikelab.config import ClassifyConfig, load_config
from spikelab.datasets import generate_nmnist_like
from spikelab.results import MARKER, OutputError, check_output, is_results_folder, read_marker
from spikelab.tasks import classify
from spikelab.tasks.classify import run_classify

TINY = {
    "name": "tiny",
    "encoding": {"dt": 1.0, "duration": 60.0},
    "reservoir": {"builder": "lsm_column", "n_neurons": 8, "input_fraction": 1.0},
    "record": {"bin_steps": 30},
    "baseline": {"n_time_bins": 0},
    "output": {"plots": False},
}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "nmnist-like"
    generate_nmnist_like(root, per_class=3, test_per_class=1, seed=0, progress=False)
    return root


def tiny(root, out, **sections):
    cfg = json.loads(json.dumps(TINY))
    cfg["dataset"] = {"root": str(root)}
    cfg["output"]["dir"] = str(out)
    for key, value in sections.items():
        if isinstance(value, dict):
            cfg.setdefault(key, {}).update(value)
        else:
            cfg[key] = value
    return cfg


@pytest.fixture
def no_data(monkeypatch):
    """The data loader raises: a refusal must come before it."""

    def loader(*args, **kwargs):
        raise AssertionError("data was loaded before the output path was checked")

    monkeypatch.setattr(classify, "load_split", loader)


# ---- refusals, before any data is loaded ------------------------------------------------------
def test_a_regular_file_is_refused_and_kept(tmp_path, no_data):
    target = tmp_path / "notes.txt"
    target.write_text("precious")
    with pytest.raises(OutputError, match="is an existing file"):
        run_classify(tiny(tmp_path / "data", target), progress=False, log=lambda s: None)
    assert target.read_text() == "precious"


def test_a_users_folder_is_refused_and_kept(tmp_path, no_data):
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "chapter1.tex").write_text("precious")
    with pytest.raises(OutputError, match="spikelab did not write"):
        run_classify(tiny(tmp_path / "data", user), progress=False, log=lambda s: None)
    assert [p.name for p in user.iterdir()] == ["chapter1.tex"]


@pytest.mark.parametrize("where", ["root", "inside", "around"])
def test_the_data_folder_is_refused(tmp_path, no_data, where):
    root = tmp_path / "data" / "nmnist"
    (root / "Train" / "0").mkdir(parents=True)
    out = {"root": root, "inside": root / "results", "around": tmp_path / "data"}[where]
    with pytest.raises(OutputError, match=r"input data folder .*\(dataset.root\)"):
        run_classify(tiny(root, out), progress=False, log=lambda s: None)
    assert (root / "Train" / "0").is_dir()


def test_an_earlier_results_folder_needs_overwrite(tmp_path, no_data):
    out = tmp_path / "res"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"format": "spikelab.results-folder", "created": "x"}))
    (out / "metrics.json").write_text("{}")
    with pytest.raises(OutputError, match="--overwrite"):
        run_classify(tiny(tmp_path / "d", out), progress=False, log=lambda s: None)
    cfg = tiny(tmp_path / "d", out, output={"overwrite": True})
    with pytest.raises(AssertionError, match="data was loaded"):  # allowed: goes on to load
        run_classify(cfg, progress=False, log=lambda s: None)


def test_the_zero_shot_task_checks_both_data_folders_before_loading(tmp_path, monkeypatch):
    from spikelab.tasks.zero_shot import run as zrun

    def loader(*args, **kwargs):
        raise AssertionError("data was loaded before the output path was checked")

    monkeypatch.setattr(zrun, "load_modalities", loader)
    audio = tmp_path / "audio"
    cfg = {"task": "zero_shot", "audio": {"dataset": {"root": str(audio)}}}
    cfg["output"] = {"dir": str(audio / "out")}
    with pytest.raises(OutputError, match=r"audio\.dataset\.root"):
        zrun.run_zero_shot(cfg, progress=False, log=lambda s: None)
    cfg["output"] = {"dir": str(tmp_path / "file")}
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="existing file"):
        zrun.run_zero_shot(cfg, progress=False, log=lambda s: None)


def test_check_output_accepts_new_and_empty_folders_and_old_results(tmp_path):
    assert check_output(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty") == tmp_path / "empty"
    legacy = tmp_path / "legacy"  # written before the marker existed
    legacy.mkdir()
    for name in ("config.toml", "metrics.json", "states.h5"):
        (legacy / name).write_text("")
    assert is_results_folder(legacy)
    with pytest.raises(OutputError, match="--overwrite"):
        check_output(legacy)
    assert check_output(legacy, overwrite=True) == legacy


def test_a_symlink_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OutputError, match="symbolic link"):
        check_output(tmp_path / "link")


# ---- the command line ---------------------------------------------------------------------------
def write_cfg(tmp_path, root, out):
    from spikelab.config import to_toml

    path = tmp_path / "tiny.toml"
    path.write_text(to_toml(tiny(root, out)))
    return path


def test_cli_rerun_needs_overwrite_and_marks_the_folder(tiny_data, tmp_path, capsys):
    out = tmp_path / "my results 'x' \\ y"  # spaces, a quote and a backslash
    cfg = write_cfg(tmp_path, tiny_data, out)
    assert main(["run", str(cfg), "--quiet"]) == 0
    marker = read_marker(out)
    assert marker and marker["name"] == "tiny" and marker["task"] == "classify"
    assert main(["run", str(cfg), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    (out / "stale.txt").write_text("from the first run")
    assert main(["run", str(cfg), "--quiet", "--overwrite"]) == 0
    assert not (out / "stale.txt").exists() and read_marker(out)
    assert "overwrite" not in load_config(out / "config.toml")["output"]  # not the experiment's
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, "tiny.toml"])


def test_cli_refuses_a_file_and_a_user_folder(tiny_data, tmp_path, capsys):
    cfg = write_cfg(tmp_path, tiny_data, tmp_path / "unused")
    f = tmp_path / "f.txt"
    f.write_text("kept")
    assert main(["run", str(cfg), "--quiet", "--output", str(f), "--overwrite"]) == 2
    assert f.read_text() == "kept" and "existing file" in capsys.readouterr().err
    assert main(["run", str(cfg), "--quiet", "--output", str(tiny_data)]) == 2
    assert "input data folder" in capsys.readouterr().err
    assert (tiny_data / "Train").is_dir() and (tiny_data / "Test").is_dir()


def test_cli_output_dot(tiny_data, tmp_path, monkeypatch, capsys):
    """`--output .`: a non-empty folder that is not ours is refused; an empty current folder
    is filled in place (the folder itself is never renamed)."""
    cfg = write_cfg(tmp_path, tiny_data, tmp_path / "unused")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("kept")
    monkeypatch.chdir(busy)
    assert main(["run", str(cfg), "--quiet", "--output", "."]) == 2
    assert "spikelab did not write" in capsys.readouterr().err
    assert [p.name for p in busy.iterdir()] == ["mine.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    inode = empty.stat().st_ino
    monkeypatch.chdir(empty)
    assert main(["run", str(cfg), "--quiet", "--output", "."]) == 0
    assert empty.stat().st_ino == inode and os.path.samefile(".", empty)
    assert read_marker(empty) and (empty / "metrics.json").is_file()
    assert not [p for p in empty.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    # a rerun with --overwrite cannot rename the folder it runs in: a clear refusal
    assert main(["run", str(cfg), "--quiet", "--output", ".", "--overwrite"]) == 2
    assert "current folder" in capsys.readouterr().err


def test_demo_replaces_only_its_own_results_folder(monkeypatch):
    """`spikelab demo` passes overwrite for its own results/demo; `run` and a demo with
    --output another folder do not."""
    import spikelab.tasks.demo

    class Done:
        def summary(self) -> str:
            return "done"

    seen = []

    def fake_demo(cfg, progress=None):
        seen.append(cfg)
        return Done()

    monkeypatch.setattr(spikelab.tasks.demo, "run_demo", fake_demo)
    assert main(["demo", "--quiet"]) == 0
    assert seen[-1]["output"] == {"dir": "results/demo", "overwrite": True}
    assert main(["demo", "--quiet", "--output", "elsewhere"]) == 0
    assert "overwrite" not in seen[-1]["output"]
    assert main(["demo", "--quiet", "--output", "elsewhere", "--overwrite"]) == 0
    assert seen[-1]["output"]["overwrite"] is True


# ---- seeds and options recorded as used -------------------------------------------------------
def test_dataset_seed_drives_the_data_alone(tiny_data):
    from spikelab.tasks.stages import load_split

    def labels(run_seed, **ds):
        split = load_split({"root": str(tiny_data), "max_per_class": 1, **ds}, run_seed, print)
        return [e.tobytes() for e in split.train_events]

    assert labels(0, seed=5) == labels(5) != labels(0)


def test_metrics_record_the_seeds_in_force(tiny_data, tmp_path):
    cfg = tiny(tiny_data, tmp_path / "a", dataset={"seed": 5}, reservoir={"seed": 7})
    out = run_classify(cfg, progress=False, log=lambda s: None)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seeds"] == {"seed": 0, "dataset": 5, "reservoir": 7}
    assert ClassifyConfig.coerce(cfg).dataset.seed == 5
    with pytest.raises(ValueError, match=r"dataset\.seed.*1\.5"):
        ClassifyConfig.coerce(tiny(tiny_data, tmp_path, dataset={"seed": 1.5}))


def test_crossbar_metrics_record_the_device_in_force(tiny_data, tmp_path):
    """Only the backend's name in the config: metrics still record the preset and every
    device parameter the compiled simulation used (it recorded {} before)."""
    cfg = tiny(tiny_data, tmp_path / "x", backend={"name": "crossbar", "read_noise": 0.01})
    out = run_classify(cfg, progress=False, log=lambda s: None)
    opts = json.loads((out / "metrics.json").read_text())["backend_options"]
    assert opts["preset"] == "wan2022" and opts["seed"] == 0 and opts["kernel"] == "numba"
    assert opts["device_params"]["read_noise"] == 0.01
    assert opts["device_params"]["g_max_us"] > opts["device_params"]["g_min_us"] > 0


def test_metrics_record_the_defaults_in_force(tiny_data, tmp_path):
    """A backend without effective_options(): its constructor's defaults, the config's
    options over them (a config naming only the backend recorded {} before)."""
    cfg = tiny(tiny_data, tmp_path / "n", backend={"name": "numba", "threads": 1})
    out = run_classify(cfg, progress=False, log=lambda s: None)
    opts = json.loads((out / "metrics.json").read_text())["backend_options"]
    assert opts == {"dtype": "float64", "threads": 1}


def test_zero_shot_folder_is_marked_and_records_its_seeds(tmp_path):
    from spikelab.tasks.zero_shot import run as zrun
    from spikelab.tasks.zero_shot.config import ZeroShotConfig

    output = {"dir": str(tmp_path / "zs"), "plots": False}
    output.update(save_features=False, save_networks=False)
    raw = {"task": "zero_shot", "seed": 4, "image": {"dataset": {"seed": 9}}, "output": output}
    cfg = ZeroShotConfig.coerce(raw)
    seeds = zrun.seeds_used(cfg)
    assert seeds["data"] == {"image": 9, "audio": 4} and seeds["runs"] == [0, 1, 2]
    assert seeds["per_run"]["1"]["image"] == zrun.subseed(1, 0)
    out = zrun.write_folder(cfg, {"seeds": seeds}, {}, {}, {})
    assert read_marker(out)["task"] == "zero_shot"
    with pytest.raises(OutputError, match="--overwrite"):
        zrun.write_folder(cfg, {}, {}, {}, {})
    raw["output"]["overwrite"] = True
    assert zrun.write_folder(ZeroShotConfig.coerce(raw), {}, {}, {}, {}) == out

"""The command line end to end on a tiny generated dataset, and config handling."""

import json

import h5py
import pytest

from spikelab import Network
from spikelab.cli import main
from spikelab.config import apply_overrides, load_config, parse_value, to_toml
from spikelab.datasets import generate_nmnist_like

TINY = """
name = "tiny"
seed = 0
[dataset]
root = "{root}"
[encoding]
dt = 1.0
duration = 100.0
[reservoir]
builder = "lsm_column"
n_neurons = 64
input_fraction = 1.0
input_fan_in = 16
input_weight = 60.0
bias_range = [0.0, 0.0]
weight_scale = 0.2
[record]
bin_steps = 50
[output]
dir = "{out}"
"""


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "nmnist-like"
    generate_nmnist_like(root, per_class=3, test_per_class=1, seed=0, progress=False)
    return root


def test_run_writes_a_complete_results_folder(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    out = tmp_path / "results"
    cfg.write_text(TINY.format(root=tiny_data, out=out))
    code = main(
        [
            "run",
            str(cfg),
            "--backend",
            "numba",
            "--set",
            "reservoir.n_neurons=27",
            "--set",
            "readout.alpha=10.0",
        ]
    )
    assert code == 0
    assert "test accuracy" in capsys.readouterr().err  # log lines: stderr (stdout: data)
    names = {p.name for p in out.iterdir()}
    assert {
        "config.toml",
        "metrics.json",
        "states.h5",
        "network.h5",
        "confusion.png",
        "raster.png",
    } <= names
    m = json.loads((out / "metrics.json").read_text())
    for key in (
        "test_accuracy",
        "train_accuracy",
        "baseline_test_accuracy",
        "timings",
        "spikes",
        "samples_per_s",
    ):
        assert key in m
    assert m["n_neurons"] == 27 and m["n_train"] == 30 and m["n_test"] == 10
    assert 0.0 <= m["test_accuracy"] <= 1.0
    with h5py.File(out / "states.h5") as f:
        assert f["train_counts"].shape == (30, 2, 27)
    assert Network.load(out / "network.h5").n_neurons == 27
    assert "n_neurons = 27" in (out / "config.toml").read_text()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # written atomically, no temporary folders left


def test_run_with_an_online_readout(tiny_data, tmp_path):
    cfg = tmp_path / "tiny.toml"
    out = tmp_path / "online"
    cfg.write_text(TINY.format(root=tiny_data, out=out))
    sets = ["reservoir.n_neurons=27", "readout.kind=online", "readout.epochs=3"]
    assert main(["run", str(cfg), "--quiet", *sum((["--set", s] for s in sets), [])]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in m["readout_history"]] == [1, 2, 3]
    assert "readout_alpha" not in m and 0.0 <= m["baseline_same_readout_test_accuracy"] <= 1.0
    assert (out / "readout_curve.png").exists()
    text = (out / "config.toml").read_text()
    assert 'rule = "three_factor"' in text and "seed = 0" in text  # online defaults, run seed


@pytest.mark.parametrize(
    "sets, message",
    [
        (["readout.rule=force", "readout.max_features=50"], "FORCE keeps a 129 x 129 matrix"),
        (["readout.lr=-1"], "lr must be a number in (0, 2), got -1"),
        (["readout.epochs=0"], "epochs must be an integer in [1, inf), got 0"),
        (["readout.normalize=False"], "normalize must be true or false, got 'False'"),
    ],
)
def test_bad_online_readout_options_fail_before_simulating(
    tiny_data, tmp_path, capsys, monkeypatch, sets, message
):
    import spikelab.tasks.classify as ex

    def no_simulation(*args, **kwargs):
        raise AssertionError("the reservoir was simulated before the readout was checked")

    monkeypatch.setattr(ex, "run_chunked", no_simulation)
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.format(root=tiny_data, out=tmp_path / "f"))
    sets = ["readout.kind=online", *sets]
    assert main(["run", str(cfg), "--quiet", *sum((["--set", s] for s in sets), [])]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "f").exists()


def test_a_diverging_online_readout_is_a_clear_error(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.format(root=tiny_data, out=tmp_path / "d"))
    sets = ["readout.kind=online", "readout.normalize=false", "readout.lr=1000"]
    assert main(["run", str(cfg), "--quiet", *sum((["--set", s] for s in sets), [])]) == 2
    err = capsys.readouterr().err
    assert "diverged" in err and "lower lr" in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_run_errors_are_clear(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "no config file" in capsys.readouterr().err
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[reservior]\nbuilder = 'lsm_column'\n")
    assert main(["run", str(cfg)]) == 2
    assert "unknown config section" in capsys.readouterr().err
    cfg.write_text(f"[dataset]\nroot = '{tmp_path / 'nowhere'}'\n")
    assert main(["run", str(cfg), "--quiet"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_unknown_backend_lists_known_ones(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.format(root=tiny_data, out=tmp_path / "r"))
    assert main(["run", str(cfg), "--quiet", "--backend", "nosuch"]) == 2
    assert "known backends" in capsys.readouterr().err


def test_info_lists_numba(capsys):
    assert main(["info"]) == 0
    assert "numba" in capsys.readouterr().out


def test_overrides_and_values():
    cfg = apply_overrides(
        {"reservoir": {"builder": "x"}},
        ["reservoir.n_neurons=2000", "backend.name=torch", "encoding.crop=[16, 16]", "a.b.c=true"],
    )
    assert cfg["reservoir"] == {"builder": "x", "n_neurons": 2000}
    assert cfg["backend"]["name"] == "torch" and cfg["encoding"]["crop"] == [16, 16]
    assert cfg["a"]["b"]["c"] is True
    assert parse_value("1e-3") == 0.001 and parse_value("lsm") == "lsm"
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides({}, ["noequals"])


def test_resolve_fills_defaults_and_round_trips_to_toml():
    from spikelab.config import tomllib
    from spikelab.tasks import parse, resolve

    cfg = resolve({"seed": 3, "reservoir": {"n_neurons": 10}})
    assert cfg["seed"] == 3 and cfg["reservoir"]["builder"] == "lsm_column"
    assert tomllib.loads(to_toml(cfg)) == cfg
    assert parse(tomllib.loads(to_toml(cfg))) == parse({"seed": 3, "reservoir": {"n_neurons": 10}})


def test_output_and_backend_are_set_as_values_not_toml_text(tiny_data, tmp_path, capsys):
    """--output with a quote and a backslash, and --backend, reach the config as they are;
    the written config.toml runs again with `spikelab run` (round trip)."""
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.format(root=tiny_data, out=tmp_path / "unused"))
    out = tmp_path / 'we"ird\\dir'
    sets = ["--set", "reservoir.n_neurons=8", "--set", "output.plots=false"]
    assert (
        main(["run", str(cfg), "--quiet", "--backend", "numba", "--output", str(out), *sets]) == 0
    )
    assert out.is_dir() and not (tmp_path / "unused").exists()
    written = load_config(out / "config.toml")
    assert written["output"]["dir"] == str(out) and written["backend"] == {"name": "numba"}
    again = tmp_path / "again"
    assert main(["run", str(out / "config.toml"), "--quiet", "--output", str(again)]) == 0
    first = json.loads((out / "metrics.json").read_text())
    second = json.loads((again / "metrics.json").read_text())
    assert second["test_accuracy"] == first["test_accuracy"]
    assert load_config(again / "config.toml") == {
        **written,
        "output": {**written["output"], "dir": str(again)},
    }


def test_backend_option_of_another_backend_is_dropped_by_dash_dash_backend(tmp_path, capsys):
    """--backend NAME keeps the file's [backend] options only for the same backend."""
    from spikelab.cli import build_parser
    from spikelab.cli.run import load_run_config

    cfg = tmp_path / "x.toml"
    cfg.write_text('[backend]\nname = "crossbar"\npreset = "ideal"\n')
    args = build_parser().parse_args(["run", str(cfg), "--backend", "numba"])
    assert load_run_config(args.config, args)["backend"] == {"name": "numba"}
    args = build_parser().parse_args(["run", str(cfg), "--backend", "crossbar"])
    assert load_run_config(args.config, args)["backend"] == {"name": "crossbar", "preset": "ideal"}
    args = build_parser().parse_args(
        ["run", str(cfg), "--backend", "numba", "--set", 'backend.name="crossbar"']
    )
    assert load_run_config(args.config, args)["backend"]["name"] == "crossbar"  # --set wins


def test_unknown_keys_fail_before_any_data_is_loaded(tmp_path, capsys, monkeypatch):
    import spikelab.tasks.stages as stages

    def no_loading(*args, **kwargs):
        raise AssertionError("data were loaded before the config was checked")

    monkeypatch.setattr(stages, "load_split", no_loading)
    cfg = tmp_path / "c.toml"
    cfg.write_text(TINY.format(root=tmp_path / "nowhere", out=tmp_path / "o"))
    assert main(["run", str(cfg), "--quiet", "--set", "dataset.max_per_clas=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'max_per_clas' in [dataset]; did you mean 'max_per_class'?" in err
    cfg.write_text(TINY.format(root=tmp_path / "nowhere", out=tmp_path / "o") + "plot = true\n")
    assert main(["run", str(cfg), "--quiet"]) == 2
    assert "unknown key 'plot' in [output]; did you mean 'plots'?" in capsys.readouterr().err
    assert main(["run", str(cfg), "--quiet", "--set", "task=clasify"]) == 2
    assert "known tasks: classify, zero_shot" in capsys.readouterr().err


def test_demo_runs_from_any_folder(tmp_path, monkeypatch, capsys):
    """The demo config ships inside the package: `spikelab demo` from a folder outside the
    checkout generates its data and writes its results relative to that folder."""
    monkeypatch.chdir(tmp_path)
    small = [
        "dataset.per_class=2",
        "reservoir.n_neurons=27",
        "encoding.duration=100.0",
        "output.plots=false",
    ]
    assert main(["demo", *sum((["--set", s] for s in small), [])]) == 0
    assert "test accuracy" in capsys.readouterr().err
    assert (tmp_path / "results" / "data" / "nmnist-like" / "Train").is_dir()
    m = json.loads((tmp_path / "results" / "demo" / "metrics.json").read_text())
    assert m["n_neurons"] == 27 and m["n_train"] + m["n_test"] > 20


def test_feast_feature_stage_saves_a_reloadable_model(tiny_data, tmp_path):
    from spikelab.features import load_feast

    cfg = tmp_path / "feast.toml"
    out = tmp_path / "results"
    cfg.write_text(
        TINY.format(root=tiny_data, out=out)
        + '\n[features]\nkind = "feast"\nn_neurons = 4\nradius = 2\nfit_samples = 5\n'
    )
    assert main(["run", str(cfg), "--quiet", "--set", "reservoir.n_neurons=27"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert "FEAST 4 features" in m["data"]
    with h5py.File(out / "states.h5") as f:
        model = load_feast(f["features"])
    assert model.weights_.shape[0] == 4
    net = Network.load(out / "network.h5")
    assert net.inputs[0].shape == (34, 34, 4)  # the sensor became (W, H, features)


def test_debug_flag_shows_the_traceback(tmp_path, capsys):
    missing = str(tmp_path / "missing.toml")
    assert main(["run", missing]) == 2
    assert "--debug" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError):
        main(["--debug", "run", missing])

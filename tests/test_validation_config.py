"""Issue 17, config strictness: values were truncated or wrapped without a word
(``n_neurons=64.7`` -> 64, ``true`` -> 1, ``seed=1.5`` -> 1, ``bin_steps=2.5`` -> 2),
NaN built an empty reservoir, ``max_per_class=-1`` dropped a sample per class, and
``duration=inf``, ``readout.alpha=[]``, ``n_neurons=1e9`` or a folder as the config ended in
tracebacks or unbounded memory. Every case is now a ConfigError naming the key and the
value, raised before any data is loaded."""

from __future__ import annotations

import pytest

import spikelab.tasks.classify as classify
from spikelab.cli import main
from spikelab.config import ConfigError, apply_overrides, load_config
from spikelab.config.limits import LIMIT_ENV, check_reservoir_size
from spikelab.tasks import parse
from spikelab.tasks.zero_shot.config import ZeroShotConfig


def cfg_with(*sets: str) -> dict:
    return apply_overrides({"task": "classify"}, sets)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("reservoir.n_neurons=64.7", "reservoir.n_neurons must be an integer, got 64.7"),
        ("reservoir.n_neurons=true", "reservoir.n_neurons must be an integer, got True"),
        ('reservoir.n_neurons="abc"', "reservoir.n_neurons must be an integer, got 'abc'"),
        ("seed=1.5", "seed must be an integer, got 1.5"),
        ("seed=-1", "seed must be >= 0, got -1"),
        ("record.bin_steps=2.5", "record.bin_steps must be an integer, got 2.5"),
        ("record.bin_steps=-5", "record.bin_steps must be >= 0"),
        ("encoding.dt=1.O", "encoding.dt must be a number, got '1.O'"),
        ("encoding.duration=inf", "encoding.duration must be a finite number, got inf"),
        ("encoding.duration=nan", "encoding.duration must be a finite number, got nan"),
        ("encoding.duration=1e9", "encoding: duration=1e\\+09 ms at dt=1 ms .* more than"),
        ("encoding.duration=-3", "encoding: duration must be a finite number of ms > 0"),
        ("encoding.n_steps=0", "encoding: n_steps must be a whole number in"),
        ("encoding.crop=[16.5, 16]", r"encoding.crop\[0\] must be an integer"),
        ("encoding.binarize=1", "encoding.binarize must be true or false, got 1"),
        ('encoding.on_out_of_range="ignore"', "on_out_of_range must be 'raise' or 'drop'"),
        ("dataset.max_per_class=-1", "dataset.max_per_class must be >= 0, got -1"),
        ("dataset.test_fraction=1.5", "dataset.test_fraction must be in \\(0, 1\\)"),
        ("dataset.name=3", "dataset.name must be a string, got 3"),
        ("readout.alpha=[]", r"readout.alpha must be a number > 0 or a non-empty list"),
        ("readout.alpha=[1.0, -2.0]", r"readout.alpha must be a number > 0"),
        ("reservoir.lam=nan", "reservoir.lam must be a finite number, got nan"),
        ("reservoir.weight_scale=inf", "reservoir.weight_scale must be a finite number"),
        ('reservoir.input_weight="big"', "reservoir.input_weight must be a number, got 'big'"),
        ("reservoir.input_fan_in=2.5", "reservoir.input_fan_in must be an integer"),
        ("reservoir.n_neurons=0", "reservoir.n_neurons must be >= 1, got 0"),
        ("backend.threads=1.5", "backend.threads must be an integer, got 1.5"),
        ("baseline.n_time_bins=-1", "baseline.n_time_bins must be >= 0, got -1"),
        ("baseline.C=0", "baseline.C must be > 0, got 0"),
        ('readout.log1p="yes"', "readout.log1p must be true or false, got 'yes'"),
        ("readout.max_iter=2.5", "readout.max_iter must be an integer, got 2.5"),
    ],
)
def test_bad_values_name_the_key_and_the_value(override, message):
    with pytest.raises(ConfigError, match=message):
        parse(cfg_with(override))


def test_whole_floats_are_integers_and_defaults_still_parse():
    cfg = parse(cfg_with("reservoir.n_neurons=64.0", "seed=3.0"))
    assert cfg.reservoir.n_neurons == 64 and isinstance(cfg.reservoir.n_neurons, int)
    assert cfg.seed == 3 and isinstance(cfg.seed, int)
    parse({"task": "classify"})
    ZeroShotConfig.from_dict({"task": "zero_shot"})


def test_size_guard_names_the_estimate_and_how_to_raise_it(monkeypatch):
    monkeypatch.delenv(LIMIT_ENV, raising=False)
    with pytest.raises(ConfigError, match=rf"needs about 4e\+10 GB .* {LIMIT_ENV}=<GB>"):
        parse(cfg_with("reservoir.n_neurons=1e9"))
    with pytest.raises(ConfigError, match="reservoir.n_neurons = 20000 needs about 16 GB"):
        parse(cfg_with("reservoir.n_neurons=20000"))
    monkeypatch.setenv(LIMIT_ENV, "32")
    assert parse(cfg_with("reservoir.n_neurons=20000")).reservoir.n_neurons == 20000
    monkeypatch.setenv(LIMIT_ENV, "lots")
    with pytest.raises(ConfigError, match=f"{LIMIT_ENV} must be a positive number"):
        check_reservoir_size("lsm_column", 10, {})


def test_size_guard_counts_a_shape_and_other_builders(monkeypatch):
    monkeypatch.delenv(LIMIT_ENV, raising=False)
    with pytest.raises(ConfigError, match="reservoir.n_neurons = 27000000"):
        parse(cfg_with("reservoir.shape=[300, 300, 300]"))
    with pytest.raises(ConfigError, match="lin2025_lsm"):
        parse(cfg_with('reservoir.builder="lin2025_lsm"', "reservoir.n_neurons=100000"))


def test_zero_shot_sections_are_checked_too():
    with pytest.raises(ConfigError, match="image.reservoir.n_neurons must be an integer"):
        ZeroShotConfig.from_dict({"task": "zero_shot", "image": {"reservoir": {"n_neurons": 2.5}}})
    with pytest.raises(ConfigError, match=r"seeds\[1\] must be an integer, got 1.5"):
        ZeroShotConfig.from_dict({"task": "zero_shot", "seeds": [0, 1.5]})
    with pytest.raises(ConfigError, match="contrastive.epochs must be an integer"):
        ZeroShotConfig.from_dict({"task": "zero_shot", "contrastive": {"epochs": 1.5}})


def test_checks_run_before_any_data_is_loaded(monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("data were loaded before the config was checked")

    monkeypatch.setattr(classify, "load_split", no_loading)
    for bad in ("reservoir.n_neurons=64.7", "readout.alpha=[]", "encoding.duration=inf"):
        with pytest.raises(ConfigError):
            classify.run_classify(cfg_with(bad), progress=False, log=lambda s: None)


def test_a_folder_as_the_config_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "exp.toml").write_text('task = "classify"\n')
    with pytest.raises(ValueError, match=r"is a folder, not a config file \(it holds exp.toml\)"):
        load_config(tmp_path)
    assert main(["run", str(tmp_path)]) == 2
    assert "is a folder, not a config file" in capsys.readouterr().err


def test_nir_refractory_error_names_the_cli_flag():
    pytest.importorskip("nir", reason="NIR export needs the nir package")
    from spikelab.backends.base import UnsupportedFeature
    from spikelab.export.nir import to_nir
    from spikelab.reservoirs import lsm_column

    with pytest.raises(
        UnsupportedFeature, match=r"strict=False \(on the command line: .*--lenient"
    ):
        to_nir(lsm_column((3, 3, 3), n_inputs=8, seed=0))


def test_zero_shot_seed_must_be_non_negative():
    with pytest.raises(ConfigError, match="seed must be >= 0, got -2"):
        ZeroShotConfig.from_dict({"task": "zero_shot", "seed": -2})


def test_classify_records_the_encoding_counts():
    """metrics.json's ``encoding_events``: the counts over both splits; out-of-range events
    raise before any simulation unless ``on_out_of_range = "drop"``."""
    import numpy as np

    from spikelab.encoding import EventEncoding
    from spikelab.tasks.stages import Split

    dt = [("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")]
    good = np.array([(1, 1, 0, 1), (2, 2, 5000, 0), (3, 3, 400000, 1)], dtype=dt)
    bad = np.array([(40, 1, 0, 1), (2, 2, 5000, 0)], dtype=dt)
    split = Split([good, bad], np.array([0, 1]), [good], np.array([0]), (34, 34, 2), "test")
    with pytest.raises(ValueError, match="1 of 5 events are out of range"):
        classify.encoding_events(EventEncoding(duration=300.0), split)
    drop = EventEncoding(duration=300.0, on_out_of_range="drop")
    assert classify.encoding_events(drop, split) == dict(
        events=8, outside_sensor=1, bad_time=0, out_of_order=0, dropped=1, past_duration=2
    )

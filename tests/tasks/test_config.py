"""Typed configs: every section of both tasks rejects an unknown key, naming the key, the
section and the closest valid key; ``--set`` goes through the same check; defaults, the
round trip through TOML and the example configs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from spikelab.config import (
    ClassifyConfig,
    ConfigError,
    EncodingConfig,
    ReadoutConfig,
    apply_overrides,
    load_config,
    loads_config,
    packaged_config,
    to_toml,
)
from spikelab.tasks import TASKS, get_task, parse, resolve
from spikelab.tasks.zero_shot import ZeroShotConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PACKAGED = Path(__file__).resolve().parents[2] / "spikelab" / "config" / "packaged"
ZS = {"task": "zero_shot"}

# (config, dotted section, misspelt key, the valid key it should suggest)
UNKNOWN_KEYS = [
    ({}, "dataset", "max_per_clas", "max_per_class"),
    ({}, "encoding", "duratoin", "duration"),
    ({}, "features", "kindd", "kind"),
    ({"features": {"kind": "feast"}}, "features", "n_neuron", "n_neurons"),
    ({}, "reservoir", "n_neuron", "n_neurons"),
    ({}, "reservoir", "input_wieght", "input_weight"),
    ({"reservoir": {"builder": "izhikevich_network"}}, "reservoir", "p_conect", "p_connect"),
    ({"reservoir": {"builder": "lin2025_lsm"}}, "reservoir", "v_thr", "v_th"),
    ({}, "backend", "dtyp", "dtype"),
    ({"backend": {"name": "crossbar"}}, "backend", "adc_bit", "adc_bits"),
    ({"backend": {"name": "crossbar"}}, "backend", "read_nois", "read_noise"),  # a device field
    ({}, "record", "bin_step", "bin_steps"),
    ({}, "readout", "alpah", "alpha"),
    ({"readout": {"kind": "online"}}, "readout", "gate_treshold", "gate_threshold"),
    ({}, "baseline", "n_time_bin", "n_time_bins"),
    ({}, "output", "plot", "plots"),
    (ZS, "image", "bin_step", "bin_steps"),
    (ZS, "image.dataset", "max_per_clas", "max_per_class"),
    (ZS, "image.encoding", "n_step", "n_steps"),
    (ZS, "image.reservoir", "weight_scal", "weight_scale"),
    (ZS, "audio", "ohh", "oh"),
    (ZS, "audio.dataset", "label_mapp", "label_map"),
    (ZS, "audio.encoding", "binarise", "binarize"),
    (ZS, "audio.reservoir", "dekay", "decay"),
    (ZS, "backend", "thread", "threads"),
    (ZS, "contrastive", "epoch", "epochs"),
    (ZS, "split", "train_class", "train_classes"),
    (ZS, "evaluation", "trace_epoch", "trace_epochs"),
    (ZS, "output", "save_feature", "save_features"),
]


def _nest(dotted: str, value: dict) -> dict:
    for part in reversed(dotted.split(".")):
        value = {part: value}
    return value


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.mark.parametrize("base, section, key, near", UNKNOWN_KEYS)
def test_an_unknown_key_names_the_key_the_section_and_the_closest(base, section, key, near):
    raw = _merge(base, _nest(section, {key: 1}))
    with pytest.raises(ConfigError) as err:
        parse(raw)
    text = str(err.value)
    assert f"unknown key {key!r} in [{section}]" in text
    assert f"did you mean {near!r}?" in text and "valid keys:" in text and near in text


@pytest.mark.parametrize("base, section, key, near", UNKNOWN_KEYS)
def test_set_goes_through_the_same_check(base, section, key, near):
    raw = apply_overrides(base, [f"{section}.{key}=1"])
    with pytest.raises(ConfigError, match=rf"unknown key '{key}' in \[{section}\]"):
        parse(raw)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"reservior": {}}, "unknown config section [reservior] in a classify config; "
         "did you mean [reservoir]?"),
        ({"sed": 1}, "unknown key 'sed' in [top level] of a classify config; did you mean 'seed'?"),
        ({**ZS, "seedss": [1]}, "unknown key 'seedss' in [top level] of a zero_shot config; "
         "did you mean 'seeds'?"),
        ({**ZS, "imag": {}}, "unknown config section [imag] in a zero_shot config; "
         "did you mean [image]?"),
    ],
)  # fmt: skip
def test_unknown_top_level_keys_and_sections(raw, message):
    with pytest.raises(ConfigError) as err:
        parse(raw)
    assert message in str(err.value)


def test_unknown_choices_list_the_known_ones():
    with pytest.raises(ConfigError, match="unknown task 'clasify'.*known tasks: classify"):
        parse({"task": "clasify"})
    with pytest.raises(ConfigError, match=r"'lsm_colum' is unknown \(did you mean 'lsm_column'"):
        parse({"reservoir": {"builder": "lsm_colum"}})
    with pytest.raises(ConfigError, match="unknown backend 'nosuch'; known backends: .*numba"):
        parse({"backend": {"name": "nosuch"}})
    with pytest.raises(ConfigError, match="features.kind 'pca' is unknown"):
        parse({"features": {"kind": "pca"}})
    with pytest.raises(ValueError, match="readout kind must be one of"):
        parse({"readout": {"kind": "svm"}})
    assert (
        set(TASKS) == {"classify", "zero_shot"} and get_task("zero_shot").config is ZeroShotConfig
    )


def test_reference_is_free_form_and_auto_backend_takes_any_option():
    cfg = parse({"reference": {"paper_anything": 0.5, "note": "x"}, "backend": {"name": "auto"}})
    assert cfg.reference == {"paper_anything": 0.5, "note": "x"}
    assert parse({"backend": {"name": "auto", "device": "cuda"}}).backend.params == {
        "device": "cuda"
    }


def test_options_of_another_readout_kind_are_passed_on_to_its_warning():
    """--set readout.kind=online on a ridge config: make_readout warns it ignores alpha."""
    cfg = parse(apply_overrides({"readout": {"alpha": [1.0, 10.0]}}, ["readout.kind=online"]))
    assert cfg.readout.params["alpha"] == [1.0, 10.0]
    with pytest.warns(UserWarning, match=r"ignores \['alpha'\]"):
        cfg.readout.make()


def test_defaults_live_in_the_dataclasses():
    cfg = ClassifyConfig()
    assert cfg.dataset.max_per_class == 0 and cfg.encoding.duration == 300.0
    assert cfg.readout == ReadoutConfig() and cfg.readout.params["alpha"][0] == 1.0
    online = parse({"readout": {"kind": "online"}}).readout
    assert online.params == {"rule": "three_factor", "log1p": True, "standardize": True}
    zs = ZeroShotConfig()
    assert zs.seeds == (0, 1, 2) and zs.audio.oh == "drop" and zs.image.encoding.crop == (16, 16)
    # a section changed to another builder starts from that builder's defaults
    other = parse({**ZS, "image": {"reservoir": {"builder": "lsm_column"}}}).image.reservoir
    assert other.params == {} and other.n_neurons is None


def test_encoding_section_mirrors_event_encoding():
    from spikelab.encoding import EventEncoding

    mine = {f.name: f.default for f in dataclasses.fields(EncodingConfig)}
    theirs = {
        f.name: f.default for f in dataclasses.fields(EventEncoding) if f.name != "sensor_size"
    }
    assert mine == theirs


@pytest.mark.parametrize("raw", [{}, {"seed": 3, "reservoir": {"n_neurons": 10}}, ZS])
def test_the_resolved_config_round_trips_through_toml(raw):
    cfg = parse(raw)
    assert parse(loads_config(to_toml(cfg.to_dict()))) == cfg
    assert resolve(resolve(raw)) == resolve(raw)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_config_passes_the_strict_check(path):
    cfg = parse(load_config(path))
    assert parse(loads_config(to_toml(cfg.to_dict()))) == cfg


@pytest.mark.parametrize("name", sorted(p.name for p in PACKAGED.glob("*.toml")))
def test_every_packaged_config_passes_the_strict_check(name):
    cfg = parse(packaged_config(name))
    assert parse(loads_config(to_toml(cfg.to_dict()))) == cfg


def test_the_demo_config_is_package_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # found without a checkout's examples/ folder
    cfg = parse(packaged_config("demo.toml"))
    assert cfg.name == "demo" and cfg.reservoir.n_neurons == 2000
    assert cfg.dataset.root == "results/data/nmnist-like" and cfg.output.dir == "results/demo"
    with pytest.raises(FileNotFoundError, match="packaged: .*demo.toml"):
        packaged_config("nosuch.toml")


def test_a_section_must_be_a_table():
    with pytest.raises(ConfigError, match=r"config section \[dataset\] must be a table, got 3"):
        parse({"dataset": 3})
    with pytest.raises(ConfigError, match=r"config section \[reference\] must be a table"):
        parse({"reference": [1]})

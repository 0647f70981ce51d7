"""The zero-shot pipeline: a tiny end-to-end run writing a complete results folder (real
N-MNIST images from ../shared/data/nmnist-small, generated audio), and clear config errors."""

from __future__ import annotations

import json
import sys

import h5py
import numpy as np
import pytest

from spikelab.config import load_config, to_toml
from spikelab.tasks.zero_shot import ModalityData, ZeroShotConfig, check_coverage
from spikelab.tasks.zero_shot.report import chance_levels, format_table


@pytest.fixture(scope="module")
def audio_file(tmp_path_factory):
    from spikelab.datasets import generate_ntidigits_like

    # 1 speaker per split saying each of the 11 digits twice: 22 train + 22 test utterances
    return generate_ntidigits_like(
        tmp_path_factory.mktemp("audio") / "ntidigits-like", per_class=2, seed=0, progress=False
    )


def tiny_config(images, audio, out):
    return {
        "task": "zero_shot",
        "name": "tiny",
        "seeds": [0, 1],
        "image": {
            "dataset": {"root": str(images), "max_per_class": 6, "test_fraction": 0.34},
        },
        "audio": {"dataset": {"root": str(audio), "generate": ""}},
        "contrastive": {"epochs": 3, "batch_size": 8},
        "reference": {"paper_audio_to_image_zero_shot_software": 0.88},
        "output": {"dir": str(out)},
    }


def test_tiny_run_writes_a_complete_results_folder(shared_data_dir, audio_file, tmp_path):
    pytest.importorskip("torch", reason="the zero-shot heads need PyTorch (absent in .venv-lava)")
    from spikelab.tasks import run_task

    out = tmp_path / "zs"
    cfg = tiny_config(shared_data_dir, audio_file, out)
    lines: list[str] = []
    assert run_task(cfg, progress=False, log=lines.append) == out  # the task dispatch
    names = {p.name for p in out.iterdir()}
    assert {
        "config.toml", "metrics.json", "retrieval.png", "epoch_trace.png", "features.h5", "networks"
    } <= names  # fmt: skip
    assert sorted(p.name for p in (out / "networks").iterdir()) == [
        f"{m}_seed{s}.h5" for m in ("audio", "image") for s in (0, 1)
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["zs"]  # no temporary folder left behind
    assert ZeroShotConfig.from_dict(load_config(out / "config.toml")) == ZeroShotConfig.from_dict(
        cfg
    )

    m = json.loads((out / "metrics.json").read_text())
    table = m["retrieval"]
    assert table["seeds"] == [0, 1]
    for d in ("audio_to_image", "image_to_audio"):
        for part, digits in (("in_class", list(range(1, 8))), ("zero_shot", [8, 9])):
            row = table[d][part]
            assert row["digits"] == digits
            for method in ("contrastive", "prototypical", "contrastive_prototypes"):
                cell = row[method]
                assert len(cell["per_seed"]) == 2 and all(0 <= v <= 1 for v in cell["per_seed"])
                assert cell["mean"] == pytest.approx(np.mean(cell["per_seed"]))
                assert cell["std"] == pytest.approx(np.std(cell["per_seed"], ddof=1))
    # unseen digits, balanced: 6 + 6 images (train and test), 4 + 4 utterances
    assert table["audio_to_image"]["zero_shot"]["chance"] == pytest.approx(0.5)
    assert table["audio_to_image"]["zero_shot"]["n_queries"] == 8
    assert table["image_to_audio"]["zero_shot"]["n_queries"] == 12
    assert table["audio_to_image"]["in_class"]["n_queries"] == 7 * 2  # test speaker only
    assert m["reference"] == {"paper_audio_to_image_zero_shot_software": 0.88}
    # the epoch trace: 3 epochs per seed, its last epoch is the table's figure
    for i, seed_row in enumerate(m["per_seed"]):
        for d in ("audio_to_image", "image_to_audio"):
            for part in ("in_class", "zero_shot"):
                curve = seed_row["epoch_trace"][d][part]
                assert len(curve) == 3
                assert curve[-1] == table[d][part]["contrastive"]["per_seed"][i]
    sel = m["epoch_selection"]["audio_to_image"]
    assert sel["max_over_epochs"]["mean"] >= sel["final"]["mean"]
    assert any("epoch selection on the test sets" in line for line in lines)
    assert m["per_seed"][0]["spikes"]["image"]["spikes_per_sample"] > 0
    for modality in ("image", "audio"):  # the encoding's counts, as classify runs record
        ev = m["encoding_events"][modality]
        assert ev["events"] > 0 and ev["dropped"] == 0 and set(ev) >= {"outside_sensor"}
    assert any("top-1 accuracy" in line for line in lines)
    with h5py.File(out / "features.h5") as f:
        n_img = len(f["image/labels"])
        assert f["seed_1/image_counts"].shape == (n_img, 1, 200)
        assert set(np.unique(f["audio/labels"][()])) == set(range(1, 10))  # "oh" and zero dropped


def test_a_silent_reservoir_is_warned_about_in_zero_shot_runs(
    shared_data_dir, audio_file, tmp_path
):
    pytest.importorskip("torch", reason="the zero-shot heads need PyTorch (absent in .venv-lava)")
    import json

    from spikelab.tasks import run_task

    cfg = tiny_config(shared_data_dir, audio_file, tmp_path / "zs")
    cfg["seeds"] = [0]
    cfg["image"]["reservoir"] = {"v_th": 1e6}  # nothing reaches threshold: silent
    lines: list[str] = []
    run_task(cfg, progress=False, log=lines.append)
    warned = [line for line in lines if line.startswith("WARNING: image reservoir, seed 0")]
    assert len(warned) == 1 and "nearly silent" in warned[0] and "reservoir.v_th" in warned[0]
    assert not any(line.startswith("WARNING: audio") for line in lines)
    spikes = json.loads((tmp_path / "zs" / "metrics.json").read_text())["per_seed"][0]["spikes"]
    assert spikes["image"]["activity_warning"] and spikes["audio"]["activity_warning"] is None


def test_defaults_are_the_paper_preset():
    cfg = ZeroShotConfig.from_dict({"task": "zero_shot"})
    assert cfg.image.reservoir.params["weight_scale"] == 0.3
    assert cfg.audio.reservoir.params["decay"] == 0.97
    assert cfg.audio.encoding.n_steps == 129
    assert cfg.contrastive.embed_dim == 64
    assert cfg.split.zero_shot_classes == (8, 9)
    assert "[image.reservoir]" in to_toml(cfg.to_dict())


@pytest.mark.parametrize(
    "change, message",
    [
        ({"readout": {}}, r"unknown config section \[readout\] in a zero_shot config"),
        ({"image": {"datset": {}}}, r"unknown key 'datset' in \[image\]; did you mean 'dataset'"),
        ({"image": {"oh": "drop"}}, r"unknown key 'oh' in \[image\]"),
        ({"contrastive": {"epoch": 3}}, r"unknown key 'epoch' in \[contrastive\]"),
        ({"image": {"dataset": 3}}, r"\[image.dataset\] must be a table"),
        ({"split": {"zero_shot_classes": [7, 8]}}, r"digits \[7\] are in both"),
        ({"split": {"train_classes": [1, 12]}}, "list of digits 0-9"),
        ({"split": {"zero_shot_classes": [8]}}, "at least two different digits"),
        ({"split": {"zero_shot_samples": "some"}}, "'all' or 'test'"),
        ({"seeds": []}, "seeds must be a list of distinct"),
        ({"seeds": [1, 1, 2]}, "seeds must be a list of distinct"),
        ({"audio": {"oh": "ten"}}, "audio.oh must be 'drop' or 'zero'"),
        ({"evaluation": {"trace_epochs": "yes"}}, "evaluation.trace_epochs must be true"),
        ({"evaluation": {"trace": True}}, r"unknown key 'trace' in \[evaluation\]"),
        ({"task": "classify"}, "needs task = 'zero_shot'"),
    ],
)
def test_config_errors_are_clear(change, message):
    with pytest.raises(ValueError, match=message):
        ZeroShotConfig.from_dict({"task": "zero_shot", **change})


def test_missing_digits_are_named():
    data = ModalityData(
        name="audio",
        batch=None,
        labels=np.array([1, 1, 2, 2, 8, 8]),
        is_test=np.array([False, True, False, False, True, False]),
        encoding=None,
        description="tiny.hdf5",
    )
    split = ZeroShotConfig.from_dict({"split": {"train_classes": [1, 2]}}).split
    with pytest.raises(ValueError, match=r"audio data \(tiny.hdf5\) has no in-class samples of "):
        check_coverage(data, split)
    data = ModalityData(
        **{**data.__dict__, "is_test": np.array([False, True, False, True] + [True] * 2)}
    )
    with pytest.raises(ValueError, match=r"no zero-shot samples of digit\(s\) \[9\]"):
        check_coverage(data, split)


def test_chance_levels():
    assert chance_levels(np.array([8, 9]), np.array([8, 8, 9, 9])) == (0.5, 0.5)
    retrieval, proto = chance_levels(np.array([8, 8, 9]), np.array([8, 9, 9, 9]))
    assert retrieval == pytest.approx((0.25 + 0.25 + 0.75) / 3) and proto == 0.5


def test_zero_shot_module_does_not_import_torch():
    # `import spikelab.tasks.zero_shot` (config, data, table) must work without torch
    code = "import sys, spikelab.tasks.zero_shot; assert 'torch' not in sys.modules"
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True)


def test_format_table_has_every_row():
    row = {"chance": 0.5, "n_queries": 2, "n_gallery": 2, "digits": [8, 9]}
    cell = {"mean": 0.5, "std": 0.1}
    methods = {m: cell for m in ("contrastive", "prototypical", "contrastive_prototypes")}
    table = {
        d: {p: {**row, **methods} for p in ("in_class", "zero_shot")}
        for d in ("audio_to_image", "image_to_audio")
    }
    text = format_table(table)
    assert text.count("\n") == 4 and "50.0 ±" in text


def test_epoch_selection_rules_on_a_hand_made_trace():
    from spikelab.tasks.zero_shot.trace import selection_summary, selections

    trace = {
        "audio_to_image": {
            "in_class": [0.50, 0.70, 0.80, 0.66, 0.60],
            "zero_shot": [0.40, 0.90, 0.55, 0.86, 0.95],
        },
        "image_to_audio": {
            "in_class": [0.70, 0.72, 0.71, 0.69, 0.68],
            "zero_shot": [0.50, 0.45, 0.60, 0.52, 0.48],
        },
    }
    s = selections(trace)
    a = s["audio_to_image"]
    assert a["final"] == 0.95 and a["max_over_epochs"] == 0.95 and a["min_over_epochs"] == 0.40
    assert a["at_best_in_class"] == 0.55  # epoch 3 has the best in-class accuracy
    # the reference rule: in-class >= 0.65 and zero-shot >= 0.85 (epochs 2 and 4), best
    # in-class among them is epoch 2
    assert a["reference_rule"] == 0.90
    assert s["image_to_audio"]["reference_rule"] is None  # no epoch reaches 0.85
    assert s["image_to_audio"]["at_best_in_class"] == 0.45
    other = {d: {k: v[::-1] for k, v in t.items()} for d, t in trace.items()}
    summary = selection_summary([trace, other], {"audio_to_image": 0.5, "image_to_audio": 0.5})
    row = summary["audio_to_image"]
    assert row["final"]["per_seed"] == [0.95, 0.40]
    assert row["final"]["mean"] == pytest.approx(0.675)
    assert row["best_run_and_epoch"] == 0.95
    assert row["reference_rule"]["seeds_passing"] == 2
    with pytest.raises(ValueError, match="equal, non-empty"):
        selections({d: {"in_class": [0.5], "zero_shot": []} for d in trace})


def test_selection_audit_example_runs(shared_data_dir, audio_file, tmp_path, load_example):
    pytest.importorskip("torch", reason="the zero-shot heads need PyTorch (absent in .venv-lava)")
    mod = load_example("zero_shot_selection")
    out = tmp_path / "audit"
    mod.main([
        "--images", str(shared_data_dir), "--audio", str(audio_file), "--epochs", "2",
        "--max-per-class", "6", "--image-scales", "0.3", "--audio-scales", "0.1", "0.2",
        "--out", str(out),
    ])  # fmt: skip
    s = json.loads((out / "selection.json").read_text())
    z = s["audio_to_image_zero_shot"]
    assert len(s["runs"]) == 2 and (out / "selection.png").exists()
    finals = [r["zero_shot_final"] for r in s["runs"]]
    assert z["best_final_over_grid"] == max(finals)
    assert z["best_epoch_and_config"] >= z["best_final_over_grid"]

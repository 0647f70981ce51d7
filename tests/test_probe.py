"""Activity before training (spikelab.probe, spikelab.tasks.probe, `spikelab probe`) and the
activity warning of every classify run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import LIF, InputPort, Izhikevich, Network, Population, Projection, SpikeBatch
from spikelab.cli import main
from spikelab.config import ClassifyConfig, ConfigError, load_config, set_value, to_toml
from spikelab.probe import (
    SATURATED_WARN,
    SILENT_BELOW,
    FixHints,
    PopulationActivity,
    activity_warning,
    measure_activity,
    refractory_steps,
    synchrony_chi,
)
from spikelab.tasks.probe import check_classify, default_output, probe_config, reservoir_hints

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nmnist_lsm.toml"


def two_populations() -> Network:
    """4 LIF neurons (t_ref 2 ms: 2 refractory steps at dt 1) and 4 Izhikevich neurons."""
    return Network(
        populations=(
            Population(name="lif", size=4, model=LIF(t_ref=2.0)),
            Population(name="izh", size=4, model=Izhikevich()),
        ),
        dt=1.0,
    )


# ---- statistics ---------------------------------------------------------------------------
def test_refractory_steps_follow_each_model():
    assert refractory_steps(two_populations(), 1.0).tolist() == [2, 2, 2, 2, 0, 0, 0, 0]
    assert refractory_steps(two_populations(), 0.5).tolist() == [4, 4, 4, 4, 0, 0, 0, 0]


def test_rates_silent_and_saturated_fractions():
    net = two_populations()
    # 100 steps: a LIF neuron can fire 100 / 3 times, saturated above 16.7 spikes; an
    # Izhikevich neuron 100 times, saturated above 50. Two samples, two bins each.
    per_sample = np.array([0, 16, 17, 30, 0, 50, 51, 10])
    counts = np.zeros((2, 2, 8), dtype=np.int32)
    counts[:, 0, :] = per_sample // 2
    counts[:, 1, :] = per_sample - per_sample // 2
    pops, total = measure_activity(net, counts, 100, 1.0)
    lif, izh = pops
    assert (lif.name, lif.size, izh.name, izh.size) == ("lif", 4, "izh", 4)
    assert lif.spikes_per_neuron == pytest.approx((0 + 16 + 17 + 30) / 4)
    assert lif.rate_hz == pytest.approx(lif.spikes_per_neuron / 0.1)  # 100 steps of 1 ms
    assert lif.silent_fraction == 0.25 and izh.silent_fraction == 0.25
    assert lif.saturated_fraction == 0.5  # 17 and 30; not 16
    assert izh.saturated_fraction == 0.25  # 51; not 50
    assert total.name == "all" and total.size == 8
    assert total.saturated_fraction == pytest.approx(3 / 8)
    assert total.spikes_per_neuron == pytest.approx(per_sample.mean())
    assert lif.synchrony_chi is None  # not asked for


def test_a_neuron_firing_in_one_sample_only_is_not_silent():
    counts = np.zeros((3, 1, 8), dtype=np.int32)
    counts[2, 0, 0] = 1
    pops, _ = measure_activity(two_populations(), counts, 100, 1.0)
    assert pops[0].silent_fraction == 0.75


def test_counts_of_another_network_are_an_error():
    with pytest.raises(ValueError, match=r"shape \[samples, bins, 8\].*\(1, 1, 5\)"):
        measure_activity(two_populations(), np.zeros((1, 1, 5)), 100, 1.0)


def test_synchrony_chi_is_one_for_identical_trains_and_small_for_independent_ones():
    rng = np.random.default_rng(0)
    train = rng.poisson(0.5, size=(1, 60, 1))
    assert synchrony_chi(np.repeat(train, 50, axis=2)) == pytest.approx(1.0)
    k = 400
    chi = synchrony_chi(rng.poisson(0.5, size=(3, 200, k)))
    assert 0.5 / np.sqrt(k) < chi < 2.0 / np.sqrt(k)
    assert synchrony_chi(np.zeros((2, 10, 5))) is None  # no spikes: undefined


def test_synchrony_chi_ignores_neurons_that_never_fired():
    rng = np.random.default_rng(1)
    train = rng.poisson(0.5, size=(1, 60, 1))
    active = np.repeat(train, 10, axis=2)
    with_silent = np.concatenate([active, np.zeros((1, 60, 90), dtype=active.dtype)], axis=2)
    assert synchrony_chi(with_silent) == pytest.approx(1.0)


# ---- the warning --------------------------------------------------------------------------
def activity(spikes: float, saturated: float = 0.0) -> PopulationActivity:
    return PopulationActivity("exc", 10, spikes * 10.0, spikes, 0.0, saturated)


def test_the_warning_fires_below_the_silent_threshold_only():
    quiet = activity(SILENT_BELOW * 0.9)
    text = activity_warning([quiet], quiet, options={"input_weight": 0.4}, prefix="reservoir.")
    assert "nearly silent" in text and f"under {SILENT_BELOW}" in text
    assert "raise reservoir.input_weight (now 0.4)" in text
    ok = activity(SILENT_BELOW)
    assert activity_warning([ok], ok) is None


def test_the_warning_fires_above_the_saturated_threshold_only():
    hot = activity(80.0, SATURATED_WARN + 0.01)
    text = activity_warning([hot], hot, valid=("input_weight", "inh_scale", "v_th"))
    assert "saturated" in text
    assert "lower input_weight" in text and "raise inh_scale" in text and "raise v_th" in text
    assert "weight_scale" not in text  # not an option of this builder
    ok = activity(80.0, SATURATED_WARN)
    assert activity_warning([ok], ok) is None


def test_the_warning_does_not_suggest_raising_past_a_bound():
    quiet = activity(0.0)
    full = activity_warning([quiet], quiet, options={"input_fraction": 1.0})
    part = activity_warning([quiet], quiet, options={"input_fraction": 0.3})
    assert "input_fraction" not in full
    assert "raise input_fraction (now 0.3)" in part


def test_reservoir_hints_name_the_builders_options_with_their_values():
    cfg = load_config(EXAMPLE)
    hints = reservoir_hints(ClassifyConfig.from_dict(cfg).reservoir)
    assert hints.prefix == "reservoir."
    assert hints.options["input_weight"] == 40.0  # the config's value
    assert hints.options["inh_scale"] == 1.0  # the builder's default
    assert "input_scale" not in hints.valid  # lin2025_lsm's, not lsm_column's


# ---- net.probe ----------------------------------------------------------------------------
def small_net(input_weight: float) -> Network:
    rng = np.random.default_rng(3)
    w = sp.random(20, 50, density=0.3, random_state=rng, format="csr") * input_weight
    return Network(
        populations=(Population(name="exc", size=50, model=LIF(tau_mem=10.0, t_ref=1.0)),),
        inputs=(InputPort(name="in", size=20),),
        projections=(Projection(source="in", target="exc", weights=w, delays=0),),
        dt=1.0,
    )


def small_batch(n: int = 5) -> SpikeBatch:
    rng = np.random.default_rng(4)
    return SpikeBatch.from_dense((rng.random((n, 80, 20)) < 0.1).astype(np.float32))


def test_net_probe_reports_the_first_samples_and_saves_text_json_and_raster(tmp_path):
    net = small_net(0.5)
    report = net.probe(small_batch(5), "numba", samples=3)
    assert report.n_samples == 3 and report.n_steps == 80 and report.backend == "numba"
    rec = net.compile("numba", dt=1.0).run(small_batch(5)[:3])
    assert report.total.spikes_per_neuron == pytest.approx(rec.counts.sum() / 3 / 50)
    assert report.total.synchrony_chi is not None
    assert report.recording.raster is not None
    assert report.warning is None
    folder = report.save(tmp_path / "probe")
    assert sorted(p.name for p in folder.iterdir()) == [
        "probe.json",
        "probe.txt",
        "probe_raster.png",
    ]
    saved = json.loads((folder / "probe.json").read_text())
    assert saved["total"]["spikes_per_neuron"] == pytest.approx(report.total.spikes_per_neuron)
    text = (folder / "probe.txt").read_text()
    assert "exc" in text and "activity: ok" in text
    assert (folder / "probe_raster.png").read_bytes()[:4] == b"\x89PNG"
    assert len(repr(report)) < 200 and "3 samples on numba" in repr(report)


def test_net_probe_is_reproducible_and_warns_on_a_silent_network():
    net = small_net(0.5)
    a, b = net.probe(small_batch()), net.probe(small_batch())
    strip = lambda d: {k: v for k, v in d.items() if k != "wall_time_s"}  # noqa: E731
    assert strip(a.to_dict()) == strip(b.to_dict())
    silent = small_net(1e-4).probe(small_batch())
    assert silent.total.spikes_per_neuron == 0.0
    assert "nearly silent" in silent.warning and "WARNING" in silent.to_text()
    hot = small_net(5.0).probe(small_batch())
    assert hot.total.saturated_fraction > SATURATED_WARN and "saturated" in hot.warning
    hinted = small_net(1e-4).probe(small_batch(), hints=FixHints(valid=("input_weight",)))
    assert "raise input_weight" in hinted.warning and "bias" not in hinted.warning


def test_net_probe_rejects_bad_arguments():
    net = small_net(0.5)
    with pytest.raises(TypeError, match="SpikeBatch"):
        net.probe(np.zeros((1, 80, 20)))
    with pytest.raises(ValueError, match="samples must be >= 1"):
        net.probe(small_batch(), samples=0)
    with pytest.raises(ValueError, match="bin_ms must be > 0"):
        net.probe(small_batch(), bin_ms=0.0)


# ---- spikelab probe and the run's warning on N-MNIST ----------------------------------------
def nmnist_config(data: Path, out: Path, input_weight: float) -> dict:
    cfg = load_config(EXAMPLE)
    for key, value in {
        "dataset.root": str(data),
        "dataset.max_per_class": 2,
        "dataset.test_fraction": 0.5,
        "reservoir.n_neurons": 125,
        "reservoir.input_weight": input_weight,
        "baseline.n_time_bins": 0,
        "output.plots": False,
        "output.dir": str(out),
    }.items():
        set_value(cfg, key, value)
    return cfg


def test_probe_config_warns_with_an_input_weight_100_times_too_small(shared_data_dir, tmp_path):
    logs: list[str] = []
    cfg = nmnist_config(shared_data_dir, tmp_path / "run", 0.4)
    report = probe_config(cfg, samples=4, log=logs.append)
    assert report.n_samples == 4 and report.total.size == 125
    assert "nearly silent" in report.warning
    assert "raise reservoir.input_weight (now 0.4)" in report.warning
    assert default_output(check_classify(cfg)) == Path(f"{tmp_path / 'run'}_probe")
    assert (Path(f"{tmp_path / 'run'}_probe") / "probe.json").is_file()
    assert any("WARNING" in line for line in logs)


def test_probe_config_does_not_warn_on_the_example(shared_data_dir, tmp_path):
    cfg = nmnist_config(shared_data_dir, tmp_path / "run", 40.0)
    report = probe_config(cfg, samples=4, output=tmp_path / "p", log=lambda _: None)
    assert report.warning is None
    assert report.total.spikes_per_neuron > SILENT_BELOW
    assert (tmp_path / "p" / "probe_raster.png").is_file()


def test_cli_probe_writes_its_report(shared_data_dir, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(to_toml(nmnist_config(shared_data_dir, tmp_path / "run", 40.0)))
    out = tmp_path / "probe"
    argv = ["probe", str(cfg), "--samples", "3", "--output", str(out)]
    assert main([*argv, "--set", "reservoir.weight_scale=0.2"]) == 0
    printed = capsys.readouterr().err  # the report's lines are log lines: stderr
    assert "population" in printed and "activity: ok" in printed
    assert json.loads((out / "probe.json").read_text())["n_samples"] == 3
    assert not (tmp_path / "run").exists()  # --output is the probe's folder, not output.dir
    assert main(["probe", str(cfg), "--samples", "0"]) == 2


def test_probe_refuses_another_task():
    with pytest.raises(ConfigError, match="task = 'zero_shot'"):
        probe_config({"task": "zero_shot"})


@pytest.mark.parametrize("input_weight, warns", [(0.4, True), (40.0, False)])
def test_run_warns_when_the_reservoir_is_nearly_silent(
    shared_data_dir, tmp_path, capsys, input_weight, warns
):
    out = tmp_path / "run"
    cfg = tmp_path / "c.toml"
    cfg.write_text(to_toml(nmnist_config(shared_data_dir, out, input_weight)))
    assert main(["run", str(cfg), "--quiet", "--set", "readout.alpha=[10.0]"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    printed = capsys.readouterr().err  # --quiet: warnings only, on stderr
    if warns:
        assert "nearly silent" in metrics["activity_warning"]
        assert "reservoir.input_weight (now 0.4)" in metrics["activity_warning"]
        assert "WARNING: the reservoir is nearly silent" in printed
    else:
        assert metrics["activity_warning"] is None
        assert "WARNING" not in printed

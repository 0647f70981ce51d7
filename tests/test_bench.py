"""``spikelab bench``: suites found as modules of spikelab.bench, run from any folder; the
data folder found or a clear error; unknown suites named."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest

import spikelab.bench as bench
from spikelab.bench.ceiling import ceiling_at
from spikelab.cli import main
from spikelab.datasets import generate_nmnist_like


@pytest.fixture(scope="module")
def small_nmnist(tmp_path_factory) -> Path:
    """A generated N-MNIST-like folder: 20 Train and 10 Test files."""
    out = tmp_path_factory.mktemp("bench-data") / "nmnist-like"
    return generate_nmnist_like(out, per_class=2, test_per_class=1, seed=0, progress=False)


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """The current folder is an empty folder outside the checkout; no data variable set."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv(bench.DATA_ENV, raising=False)
    return cwd


def test_every_suite_is_a_function_of_a_spikelab_bench_module():
    for name, target in bench.SUITES.items():
        module, function = target.split(":")
        assert module.startswith("spikelab.bench."), name
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin, f"suite {name}: no module {module}"
        tree = ast.parse(Path(spec.origin).read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert function in defined, f"suite {name}: {module} has no {function}"


def test_numba_suite_from_a_folder_outside_the_checkout(small_nmnist, elsewhere, capsys):
    argv = ["bench", "--suite", "numba", "--samples", "8", "--data", str(small_nmnist)]
    assert main([*argv, "--json", "out/bench.json"]) == 0
    records = json.loads((elsewhere / "out" / "bench.json").read_text())
    workloads = ["lsm-nmnist-1000", "lsm-nmnist-2000", "active-1000", "izh-1000"]
    assert [r["workload"] for r in records] == [w for w in workloads for _ in range(2)]
    assert [r["mode"] for r in records] == ["float64", "float32"] * 4
    for r in records:
        assert r["suite"] == "numba" and r["backend"] == "numba"
        assert r["n_samples"] == 8 and r["cores"] >= 1
        assert r["samples_per_s"] > 0 and r["spikes_total"] > 0
        assert r["synaptic_events_per_s"] > 0
        assert 0 < r["ceiling_fraction"] and r["ceiling"]["ceiling_s"] > 0
        syn = r["synaptic_events_per_s"] / r["samples_per_s"]
        assert r["ceiling_s_per_sample"] == pytest.approx(ceiling_at(r["ceiling"], syn))
    assert [r["n_neurons"] for r in records] == [1000, 1000, 2000, 2000, 1000, 1000, 1000, 1000]
    out = capsys.readouterr().out
    assert "lsm-nmnist-2000" in out and "wrote out/bench.json" in out


def test_an_unknown_suite_is_an_error_naming_the_known_ones(elsewhere, capsys):
    assert main(["bench", "--suite", "numba", "--suite", "nubma"]) == 2
    err = capsys.readouterr().err
    assert "unknown bench suite 'nubma'" in err
    assert all(name in err for name in bench.SUITES)
    with pytest.raises(ValueError, match="unknown bench suite 'x'"):
        bench.suite("x")


@pytest.mark.parametrize("samples", ["0", "-3"])
def test_samples_below_one_are_an_error_before_any_work(elsewhere, capsys, samples):
    """``--samples 0`` ran every suite at its default size (0 read as "not given")."""
    assert main(["bench", "--suite", "numba", "--samples", samples, "--data", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert f"--samples must be a whole number >= 1, got {int(samples)}" in err


def test_missing_data_is_an_error_saying_how_to_get_data(elsewhere, monkeypatch, capsys):
    monkeypatch.setattr(bench, "CHECKOUT", elsewhere)  # no checkout data either
    assert main(["bench", "--suite", "numba"]) == 2
    err = capsys.readouterr().err
    assert "no benchmark data" in err and str(elsewhere) in err
    assert "--data DIR" in err and bench.DATA_ENV in err
    assert "spikelab datasets generate nmnist-like" in err
    assert main(["bench", "--suite", "numba", "--data", "no/such/folder"]) == 2
    assert "--data is no/such/folder" in capsys.readouterr().err


def test_data_from_the_environment_variable(elsewhere, small_nmnist, monkeypatch):
    monkeypatch.setenv(bench.DATA_ENV, str(small_nmnist))
    assert bench.find_data() == small_nmnist
    assert bench.find_data(elsewhere) == elsewhere  # --data wins
    monkeypatch.setenv(bench.DATA_ENV, str(elsewhere / "missing"))
    with pytest.raises(FileNotFoundError, match=r"\$SPIKELAB_NMNIST is .*missing"):
        bench.find_data()


def test_default_data_relative_to_the_folder_then_to_the_checkout(elsewhere, tmp_path, monkeypatch):
    checkout = tmp_path / "src" / "spikelab-checkout"
    checkout.mkdir(parents=True)
    monkeypatch.setattr(bench, "CHECKOUT", checkout)
    near_checkout = checkout / bench.SHARED_DATA
    near_checkout.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no benchmark data"):
        bench.find_data()  # no pyproject.toml: an installed package, not a checkout
    (checkout / "pyproject.toml").write_text("")
    assert bench.find_data() == near_checkout.resolve()
    near_cwd = elsewhere / bench.SHARED_DATA
    near_cwd.mkdir(parents=True)
    assert bench.find_data() == near_cwd.resolve()


def test_print_table_of_no_records(capsys):
    bench.print_table([])
    assert capsys.readouterr().out.split() == [*bench.COLUMNS, "note"]


def test_the_packaged_workload_is_the_example_reservoir():
    """The bench measures examples/nmnist_lsm.toml's network: the packaged copy must agree."""
    from spikelab.bench.common import LSM_CONFIG
    from spikelab.config import load_config

    bench_cfg = load_config(LSM_CONFIG)
    example = load_config(Path(__file__).resolve().parents[1] / "examples" / "nmnist_lsm.toml")
    for section in ("dataset", "encoding", "reservoir", "record"):
        assert bench_cfg[section] == example[section], section


# ---- the peers suite: records, the ratio table, the norse peer ---------------------------


def _tiny_lif_net(recurrent_delay: int = 1, seed: int = 0):
    """Two LIF populations with heterogeneous parameters, bias, refractoriness, tau_syn 0
    and > 0; dense-ish recurrence at ``recurrent_delay`` steps, inputs at delay 0."""
    import numpy as np
    import scipy.sparse as sp

    from spikelab import LIF, InputPort, Network, Population, Projection

    rng = np.random.default_rng(seed)
    n_in, ne, ni = 12, 24, 8
    exc = LIF(
        tau_mem=rng.uniform(10, 30, ne),
        tau_syn=0.0,
        v_reset=rng.uniform(0, 2, ne),
        v_th=rng.uniform(14, 16, ne),
        t_ref=rng.choice([0.0, 2.0, 4.0], ne),
        bias=rng.uniform(8, 12, ne),
    )
    inh = LIF(tau_mem=10.0, tau_syn=4.0, v_th=15.0, t_ref=2.0, bias=10.0)

    def w(shape, mean):
        m = (rng.random(shape) < 0.3) * (mean + 0.5 * rng.standard_normal(shape))
        return sp.csr_matrix(m)

    pairs = [("in", "exc", (n_in, ne), 6.0), ("in", "inh", (n_in, ni), 6.0)]
    pairs += [("exc", "exc", (ne, ne), 1.0), ("exc", "inh", (ne, ni), 1.5)]
    pairs += [("inh", "exc", (ni, ne), -2.0), ("inh", "inh", (ni, ni), -1.0)]
    projs = tuple(
        Projection(source=s, target=t, weights=w(shape, mean), delays=0 if s == "in" else d)
        for (s, t, shape, mean), d in zip(pairs, [recurrent_delay] * len(pairs), strict=True)
    )
    pops = (Population(name="exc", size=ne, model=exc), Population(name="inh", size=ni, model=inh))
    x = (rng.random((3, 200, n_in)) < 0.05).astype(np.float32)
    port = InputPort(name="in", size=n_in)
    return Network(populations=pops, inputs=(port,), projections=projs), x


def test_the_norse_peer_computes_our_lif_where_norse_can_express_it():
    """Delay-1 recurrence, delay-0 inputs: norse (float64) matches numba float64 neuron for
    neuron; with delay-2 recurrence the difference is named in the record."""
    import numpy as np

    torch = pytest.importorskip("torch", reason="norse needs PyTorch (absent in .venv-lava)")
    pytest.importorskip("norse", reason="norse is installed in .venv only")
    from spikelab import SpikeBatch
    from spikelab.backends.common import prepare
    from spikelab.bench.norse_peer import differences, run_norse

    net, x = _tiny_lif_net()
    batch = SpikeBatch.from_dense(x)
    flat = prepare(net, 1.0)
    ref = net.compile("numba", dt=1.0).run(batch)
    out = run_norse(flat, batch, batch_size=2, dtype=torch.float64, threads=1)
    assert out["per_sample"] == ref.counts.sum(axis=(1, 2)).tolist()
    assert ref.n_spikes > 100 and out["sim_s"] > 0
    said = differences(flat)
    assert len(said) == 1 and said[0].startswith("arithmetic")
    late = prepare(_tiny_lif_net(recurrent_delay=2)[0], 1.0)
    assert differences(late)[0].startswith(f"recurrent delays: {late.recurrent.nnz} of")
    assert np.isfinite(run_norse(late, batch, threads=1)["sim_s"])


def test_the_ratio_table_is_computed_from_the_records():
    from spikelab.bench.peer_table import add_ratios, format_ratio_table, ratio_rows

    records = [
        {"backend": "numba", "mode": "float64", "samples_per_s": 400.0, "cores": 2},
        {"backend": "numba", "mode": "float32", "samples_per_s": 1000.0, "cores": 2},
        {"backend": "brian2", "mode": "cpp_standalone", "samples_per_s": 50.0, "cores": 1},
        {"backend": "brian2", "mode": "runtime-numpy", "skipped": "no brian2"},
    ]
    add_ratios(records)
    assert records[2]["numba_float32_over_this"] == 20.0
    assert records[2]["numba_float64_over_this"] == 8.0
    assert records[0]["numba_float32_over_this"] == 2.5
    assert "numba_float32_over_this" not in records[3]
    rows = ratio_rows(records)
    assert [r["engine"] for r in rows][2:] == ["brian2 cpp_standalone", "brian2 runtime-numpy"]
    assert rows[0]["per_core"] == 200.0 and rows[3]["note"] == "no brian2"
    text = format_ratio_table(records).splitlines()
    assert text[0].split()[:4] == ["engine", "n_samples", "cores", "samples_per_s"]
    assert text[3].split()[-2:] == ["20", "8"]


def test_an_engine_on_fewer_samples_is_compared_with_numba_on_the_same_ones():
    """Brian2 ran the first 200 samples: numba's rate on those 200 is the one divided."""
    from spikelab.bench.peer_table import add_ratios

    by_prefix = {"200": 900.0, "8": 700.0}
    records = [
        {"backend": "numba", "mode": "float64", "samples_per_s": 400.0, "n_samples": 500},
        {
            "backend": "numba",
            "mode": "float32",
            "samples_per_s": 1000.0,
            "n_samples": 500,
            "samples_per_s_by_prefix": by_prefix,
        },
        {"backend": "brian2", "mode": "cpp_standalone", "samples_per_s": 50.0, "n_samples": 200},
        {"backend": "brian2", "mode": "runtime-numpy", "samples_per_s": 7.0, "n_samples": 8},
        {"backend": "torch", "mode": "cpu-float32", "samples_per_s": 100.0, "n_samples": 256},
    ]
    add_ratios(records)
    assert records[2]["numba_float32_over_this"] == 18.0  # 900 / 50, not 1000 / 50
    assert records[3]["numba_float32_over_this"] == 100.0
    assert records[4]["numba_float32_over_this"] == 10.0  # no rate on 256: all samples'
    assert records[2]["numba_float64_over_this"] == 8.0  # float64 has no prefix rates here
    assert records[1]["numba_float32_over_this"] == 1.0


def test_peers_suite_records_and_ratio_table(small_nmnist, elsewhere, capsys, monkeypatch):
    """One peers run on a tiny workload (4 samples; Brian2 only in runtime-numpy, the one mode
    that builds nothing): every record has the keys, the table is printed and in the JSON."""
    for peer in ("torch", "norse", "brian2"):  # every engine runs: .venv only
        pytest.importorskip(peer, reason=f"{peer} is installed in .venv only")
    from spikelab.bench import peers

    monkeypatch.setattr(peers, "PREFIX", {"torch": 3, "norse": 2, "runtime-numpy": 1})
    numpy_mode = [m for m in peers.brian2_modes(2) if m[0] == "runtime-numpy"]
    monkeypatch.setattr(peers, "brian2_modes", lambda cores: numpy_mode)
    monkeypatch.setattr(peers, "all_cores", lambda: 1)  # fast on a loaded machine
    argv = ["bench", "--suite", "peers", "--samples", "4", "--data", str(small_nmnist)]
    assert main([*argv, "--json", "peers.json"]) == 0
    records = json.loads((elsewhere / "peers.json").read_text())
    engines = [(r["backend"], r["mode"]) for r in records]
    assert engines == [
        ("numba", "float64"),
        ("numba", "float32"),
        ("torch", "cpu-float32"),
        ("norse", "LIFRefracRecurrent-float32-b128"),
        ("brian2", "runtime-numpy"),
    ]
    assert [r["n_samples"] for r in records] == [4, 4, 3, 2, 1]
    for r in records[:2]:  # numba timed on every other engine's samples too
        assert sorted(r["samples_per_s_by_prefix"]) == ["1", "2", "3"]
    f32, f64 = records[1]["samples_per_s_by_prefix"], records[0]["samples_per_s_by_prefix"]
    f32[str(4)], f64[str(4)] = records[1]["samples_per_s"], records[0]["samples_per_s"]
    for r in records:
        assert r["suite"] == "peers" and r["workload"] == "lsm-nmnist-1000"
        assert r["samples_per_s"] > 0 and r["spikes_total"] > 0 and r["cores"] >= 1
        assert r["numba_spikes"] > 0 and 0 <= r["spikes_rel_diff"]
        own, n = r["samples_per_s"], str(r["n_samples"])
        assert r["numba_float32_over_this"] == pytest.approx(f32[n] / own)
        assert r["numba_float64_over_this"] == pytest.approx(f64[n] / own)
    for r in records[:2]:
        assert r["ceiling_fraction"] > 0 and r["ceiling"]["ceiling_s"] > 0
    # exact engines compute numba float64's spikes on the same samples
    assert records[2]["spikes_total"] == records[2]["numba_spikes"]
    assert records[4]["spikes_total"] == records[4]["numba_spikes"]
    assert records[3]["differences"][0].startswith("recurrent delays:")
    out = capsys.readouterr().out
    table = out[out.index("ratios") :].splitlines()
    assert table[1].split()[:2] == ["engine", "n_samples"]
    first = [line.split()[0] for line in table[2:7]]
    assert first == ["numba", "numba", "torch", "norse", "brian2"]
    assert "norse differs: recurrent delays" in out


def test_the_ceiling_is_scaled_to_the_work_of_the_record():
    """The scatter part of a ceiling measured on samples with 200 synaptic events each is
    halved for a record whose samples carry 100; the update and loop parts stay."""
    c = {"update_s": 1e-4, "loop_s": 2e-6, "scatter_s": 4e-4, "synaptic_events_per_sample": 200.0}
    assert ceiling_at(c, 100.0) == pytest.approx(1e-4 + 2e-6 + 2e-4)
    assert ceiling_at(c, 200.0) == pytest.approx(1e-4 + 2e-6 + 4e-4)
    assert ceiling_at(c | {"synaptic_events_per_sample": 0.0}, 0.0) == pytest.approx(1.02e-4)

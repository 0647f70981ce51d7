"""``spikelab bench``: suites found as modules of spikelab.bench, run from any folder; the
data folder found or a clear error; unknown suites named."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest

import spikelab.bench as bench
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

"""``spikelab bench``: throughput suites, one module of this package each.

``SUITES`` maps a suite name to ``"module:function"``; the function is called as
``function(data_dir=..., n_samples=...)`` (``n_samples`` only when given) and returns a list
of records (dicts). Every record has at least suite, backend, mode, workload,
samples_per_s, synaptic_events_per_s, spikes_total, cores; a suite that cannot run here
returns records with a ``skipped`` reason. A suite module may also define
``print_summary(records)``, printed after its records (peers: the table of ratios). See
benchmarks/README.md for what each measures.

The data are an N-MNIST folder: ``--data DIR``, else ``$SPIKELAB_NMNIST``, else
``../shared/data/nmnist-small`` relative to the current folder, then to the source checkout.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..fileio import write_json_atomic

__all__ = ["COLUMNS", "DATA_ENV", "SUITES", "find_data", "print_table", "run_bench", "suite"]

SUITES: dict[str, str] = {
    "numba": "spikelab.bench.numba:run_numba_bench",
    "peers": "spikelab.bench.peers:run_peers_bench",
    "torch": "spikelab.bench.torch:run_torch_bench",
    "feast": "spikelab.bench.feast:run_feast_bench",
    "crossbar": "spikelab.bench.crossbar:run_crossbar_bench",
    "lava": "spikelab.bench.lava:run_lava_bench",
    "sweep": "spikelab.bench.sweep:run_sweep_bench",
}
#: Suites run when none is named (lava runs in its own environment, .venv-lava; sweep
#: starts local Dask clusters: named only).
DEFAULT_SUITES = tuple(s for s in SUITES if s not in ("lava", "sweep"))
DATA_ENV = "SPIKELAB_NMNIST"
SHARED_DATA = Path("..", "shared", "data", "nmnist-small")
CHECKOUT = Path(__file__).resolve().parents[2]
COLUMNS = (
    "suite",
    "backend",
    "mode",
    "workload",
    "samples_per_s",
    "synaptic_events_per_s",
    "spikes_total",
    "cores",
)
_MAKE_DATA = (
    "pass --data DIR (a folder in N-MNIST's layout, Train/<label>/*.bin) or set "
    f"{DATA_ENV}=DIR; to make a synthetic stand-in: "
    "`spikelab datasets generate nmnist-like DIR --per-class 100`"
)


def suite(name: str) -> Callable[..., list[dict[str, Any]]]:
    """The function of suite ``name`` (its module is imported now)."""
    if name not in SUITES:
        raise ValueError(f"unknown bench suite {name!r}; suites: {', '.join(SUITES)}")
    module, function = SUITES[name].split(":")
    return getattr(importlib.import_module(module), function)


def find_data(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The N-MNIST folder to measure on: ``data_dir``, else ``$SPIKELAB_NMNIST``, else
    ``../shared/data/nmnist-small`` relative to the current folder, then to the source
    checkout. Raises ``FileNotFoundError`` saying how to give or make the data."""
    if data_dir is not None or os.environ.get(DATA_ENV):
        given = data_dir if data_dir is not None else os.environ[DATA_ENV]
        path = Path(given).expanduser()
        if not path.is_dir():
            source = "--data" if data_dir is not None else f"${DATA_ENV}"
            raise FileNotFoundError(f"benchmark data not found: {source} is {path}; {_MAKE_DATA}")
        return path
    candidates = [Path.cwd() / SHARED_DATA]
    if (CHECKOUT / "pyproject.toml").is_file():  # an editable install: the source checkout
        candidates.append(CHECKOUT / SHARED_DATA)
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    looked = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(f"no benchmark data: no N-MNIST folder at {looked}; {_MAKE_DATA}")


def fmt(v: Any) -> str:
    """A table cell: floats to 3 significant digits, None as ``-``."""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return "-" if v is None else str(v)


def print_table(records: list[dict[str, Any]]) -> None:
    """The ``COLUMNS`` of every record, plus its ``skipped`` reason, as a fixed-width table."""
    rows = [[fmt(r.get(c)) for c in COLUMNS] + [r.get("skipped", "")] for r in records]
    head = [*COLUMNS, "note"]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def run_bench(
    suites: list[str] | None = None,
    json_path: str | None = None,
    data_dir: str | None = None,
    n_samples: int | None = None,
) -> list[dict[str, Any]]:
    """Run ``suites`` (default: all but lava) on the data of :func:`find_data`, print a
    table per suite and, with ``json_path``, write all records there as JSON."""
    names = list(suites or DEFAULT_SUITES)
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        raise ValueError(f"unknown bench suite {unknown[0]!r}; suites: {', '.join(SUITES)}")
    if n_samples is not None and (isinstance(n_samples, bool) or int(n_samples) < 1):
        raise ValueError(
            f"--samples must be a whole number >= 1, got {n_samples!r}; leave it out for each "
            "suite's default"
        )
    data = find_data(data_dir)
    kwargs: dict[str, Any] = {"data_dir": str(data)}
    if n_samples is not None:
        kwargs["n_samples"] = int(n_samples)
    records: list[dict[str, Any]] = []
    for name in names:
        try:
            recs = suite(name)(**kwargs)
        except ImportError as e:  # a backend not installed in this environment
            recs = [{"suite": name, "skipped": f"not available here: {e}"}]
        records += recs
        print_table(recs)
        print_summary = getattr(sys.modules.get(SUITES[name].split(":")[0]), "print_summary", None)
        if print_summary is not None:  # a suite's own table after its records (peers: ratios)
            print()
            print_summary(recs)
        print()
    if json_path:
        print(f"wrote {write_json_atomic(json_path, records)}")
    return records

"""``spikelab bench``: runs benchmark suites from the repo's benchmarks/ folder.

Each suite is a module ``benchmarks/<suite>_bench.py`` (or ``peers.py``) with a function
``run_<suite>_bench(data_dir=..., n_samples=...) -> list[dict]``. Every record has at least
suite, backend, mode, workload, samples_per_s, synaptic_events_per_s, spikes_total, cores;
a suite that cannot run here returns records with a ``skipped`` reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Any

SUITES = {  # name -> (file in benchmarks/, function)
    "numba": ("numba_bench.py", "run_numba_bench"),
    "peers": ("peers.py", "run_peers_bench"),
    "torch": ("torch_bench.py", "run_torch_bench"),
    "feast": ("feast_bench.py", "run_feast_bench"),
    "crossbar": ("crossbar_bench.py", "run_crossbar_bench"),
    "lava": ("lava_bench.py", "run_lava_bench"),
}
DEFAULT_DATA = "../shared/data/nmnist-small"
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


def benchmarks_dir() -> Path:
    here = Path(__file__).resolve().parents[1] / "benchmarks"
    if not here.is_dir():
        raise FileNotFoundError(
            f"no benchmarks/ folder at {here}: `spikelab bench` runs from a source checkout"
        )
    return here


def _load(suite: str) -> Any:
    if suite not in SUITES:
        raise ValueError(f"unknown bench suite {suite!r}; suites: {', '.join(SUITES)}")
    fname, func = SUITES[suite]
    path = benchmarks_dir() / fname
    spec = importlib.util.spec_from_file_location(f"spikelab_bench_{suite}", path)
    if spec is None or not path.exists():
        raise FileNotFoundError(f"bench suite {suite!r}: {path} not found")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return getattr(mod, func)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v) if v is not None else "-"


def print_table(records: list[dict[str, Any]]) -> None:
    rows = [[_fmt(r.get(c)) for c in COLUMNS] + [r.get("skipped", "")] for r in records]
    head = [*COLUMNS, "note"]
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def run_bench(
    suites: list[str] | None = None,
    json_path: str | None = None,
    data_dir: str | None = None,
    n_samples: int | None = None,
) -> list[dict[str, Any]]:
    data = Path(data_dir or DEFAULT_DATA)
    if not data.exists():
        raise FileNotFoundError(
            f"benchmark data not found at {data}; pass --data DIR (an N-MNIST-layout folder, "
            "e.g. from `spikelab datasets generate nmnist-like DIR`)"
        )
    records: list[dict[str, Any]] = []
    for suite in suites or [s for s in SUITES if s != "lava"]:
        fn = _load(suite)
        kwargs: dict[str, Any] = {"data_dir": str(data)}
        if n_samples:
            kwargs["n_samples"] = n_samples
        try:
            recs = fn(**kwargs)
        except ImportError as e:  # a backend not installed in this environment
            recs = [{"suite": suite, "skipped": f"not available here: {e}"}]
        records += recs
        print_table(recs)
        print()
    if json_path:
        out = Path(json_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(records, f, indent=2, default=float)
        os.replace(tmp, out)
        print(f"wrote {out}")
    return records

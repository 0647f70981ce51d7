"""The table of a sweep: one row per point (``sweep.csv``) and the mean and spread over
seeds of every combination of swept values (``sweep_summary.csv``, what the plots show)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..fileio import write_text_atomic

__all__ = ["METRICS", "point_row", "summarise", "write_csv"]

#: the metrics of a row (from metrics.json), in the table's order
METRICS = (
    "test_accuracy",
    "train_accuracy",
    "baseline_test_accuracy",
    "samples_per_s",
    "spikes_per_sample",
)


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def point_row(
    point: Any, metrics: Mapping[str, Any] | None, *, status: str, how: str, **extra: Any
) -> dict[str, Any]:
    """The row of a point: its swept values, seed, status ("ok" | "failed"), how it was
    obtained ("computed" | "skipped"), the metrics (with ``spikes.*`` spike statistics),
    wall time (s), host and process id of the worker (computed now), error, config hash."""
    row: dict[str, Any] = {"point": point.name, **dict(point.values), "seed": point.seed}
    row.update(status=status, how=how)
    metrics = metrics or {}
    spikes = metrics.get("spikes") if isinstance(metrics.get("spikes"), Mapping) else {}
    row.update({k: _number(metrics.get(k, spikes.get(k))) for k in METRICS})
    row.update({f"spikes.{k}": _number(v) for k, v in spikes.items() if k != "spikes_per_sample"})
    row["wall_s"] = extra.get("wall_s", (metrics.get("timings") or {}).get("total_s"))
    row["host"] = extra.get(
        "host", ((metrics.get("provenance") or {}).get("machine") or {}).get("host")
    )
    row["pid"] = extra.get("pid")
    row["error"] = extra.get("error", "")
    row["config_hash"] = point.config_hash
    return row


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """``rows`` as CSV (the union of their columns, in first-seen order), atomically."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
    return write_text_atomic(path, buf.getvalue())


def _stats(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def _hashable(value: Any) -> Any:
    """A swept value as a dict key: a list or table (``--grid 'k=["a"],["b"]'``) by its
    JSON text, anything else as it is."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def summarise(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Per combination of the swept ``keys`` (in first-seen order), over the successful
    points (seeds): n, and the mean and sample standard deviation of every metric."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("status") == "ok":
            groups.setdefault(tuple(_hashable(row.get(k)) for k in keys), []).append(row)
    out = []
    for members in groups.values():
        combo = [members[0].get(k) for k in keys]
        entry: dict[str, Any] = {**dict(zip(keys, combo, strict=True)), "n": len(members)}
        for m in METRICS:
            values = [float(r[m]) for r in members if _number(r.get(m)) is not None]
            mean, std = _stats(values) if values else (None, None)
            entry[f"{m}_mean"], entry[f"{m}_std"] = mean, std
        out.append(entry)
    return out

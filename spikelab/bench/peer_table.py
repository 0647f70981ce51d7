"""The ratio table of ``spikelab bench --suite peers``, computed from its records alone.

Every timed record gets ``numba_float32_over_this`` and ``numba_float64_over_this``: numba's
samples/s (float32, float64) on the same samples as the record (``samples_per_s_by_prefix``
when the engine ran only the first ``n_samples``, which are busier than the average) over
the record's own, so each figure stays with its engine in the bench JSON.
:func:`ratio_rows` turns the records into the printed table, one row an engine: samples/s,
samples/s per core, the spikes it computed beside numba float64's on the same samples, and
the two ratios.
"""

from __future__ import annotations

from typing import Any

from . import fmt

__all__ = ["RATIO_COLUMNS", "add_ratios", "format_ratio_table", "ratio_rows"]

RATIO_COLUMNS = (
    "engine",
    "n_samples",
    "cores",
    "samples_per_s",
    "per_core",
    "spikes_total",
    "numba_spikes",
    "f32/this",
    "f64/this",
)


def _numba_rate(records: list[dict[str, Any]], dtype: str, n_samples: Any) -> float | None:
    """numba's samples/s in ``dtype`` on the first ``n_samples`` samples: its rate on that
    prefix where it was timed, else its rate on all its samples."""
    for r in records:
        if r.get("backend") == "numba" and r.get("mode") == dtype and r.get("samples_per_s"):
            by_prefix = r.get("samples_per_s_by_prefix") or {}
            return float(by_prefix.get(str(n_samples), r["samples_per_s"]))
    return None


def add_ratios(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set ``numba_float32_over_this`` and ``numba_float64_over_this`` on every timed record
    (None where that numba record is missing); returns ``records``."""
    for r in records:
        own = r.get("samples_per_s")
        if not own:
            continue
        for dtype in ("float32", "float64"):
            rate = _numba_rate(records, dtype, r.get("n_samples"))
            r[f"numba_{dtype}_over_this"] = rate / own if rate else None
    return records


def ratio_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per record (engine) of :data:`RATIO_COLUMNS`; a skipped engine has its
    reason as ``note`` and no figures."""
    rows = []
    for r in records:
        own, cores = r.get("samples_per_s"), r.get("cores") or 1
        rows.append(
            {
                "engine": f"{r.get('backend')} {r.get('mode')}",
                "n_samples": r.get("n_samples"),
                "cores": r.get("cores"),
                "samples_per_s": own,
                "per_core": own / cores if own else None,
                "spikes_total": r.get("spikes_total"),
                "numba_spikes": r.get("numba_spikes"),
                "f32/this": r.get("numba_float32_over_this"),
                "f64/this": r.get("numba_float64_over_this"),
                "note": r.get("skipped", ""),
            }
        )
    return rows


def format_ratio_table(records: list[dict[str, Any]]) -> str:
    """The table of :func:`ratio_rows` as fixed-width text (f32/this: numba float32's
    samples/s over the engine's; f64/this: numba float64's)."""
    rows = ratio_rows(records)
    head = [*RATIO_COLUMNS, "note"]
    cells = [[fmt(row[c]) if c != "note" else row[c] for c in head] for row in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    for c in cells:
        lines.append("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)).rstrip())
    return "\n".join(lines)

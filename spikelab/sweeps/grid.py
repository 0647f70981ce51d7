"""The points of a sweep: a grid (``KEY=V1,V2,...``) times seeds, each a full config.

Values are read as ``--set`` reads them (TOML: numbers, booleans, quoted strings, arrays;
anything else a string) and every point's config is parsed by its task's config class
(``spikelab.tasks.parse``) before anything runs, so a bad key or value fails at once,
naming the key, the value and the point.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from ..config import parse_value, set_value
from ..fileio import json_safe
from ..provenance import config_hash

__all__ = ["Point", "make_points", "parse_grid", "parse_seeds", "split_values"]


@dataclass(frozen=True)
class Point:
    """One run of a sweep: the swept values (key -> value), the seed, its raw config (output
    folder set), the hash of its resolved config, and its folder name."""

    values: tuple[tuple[str, Any], ...]
    seed: int
    config: Mapping[str, Any]
    config_hash: str
    name: str


def split_values(text: str) -> list[str]:
    """``"0.1,0.2"`` -> ``["0.1", "0.2"]``; commas inside brackets or quotes are kept
    (``"[1,2],[3,4]"`` -> two arrays)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_grid(items: Iterable[str] | Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    """``["reservoir.weight_scale=0.05,0.1", ...]`` (or a dict of lists) -> key -> values."""
    if isinstance(items, Mapping):
        grid = {str(k): list(v) for k, v in items.items()}
    else:
        grid = {}
        for item in items:
            key, sep, text = str(item).partition("=")
            key = key.strip()
            if not sep or not key or not text.strip():
                raise ValueError(
                    "--grid takes KEY=V1,V2,... (e.g. reservoir.weight_scale=0.05,0.1), "
                    f"got {item!r}"
                )
            if key in grid:
                raise ValueError(f"--grid {key} is given twice; give its values once: {key}=A,B")
            grid[key] = [parse_value(v) for v in split_values(text)]
    for key, values in grid.items():
        if key == "seed":
            raise ValueError("sweep the seed with --seeds (e.g. --seeds 0-4), not --grid seed=...")
        if not values or any(v == "" for v in values):
            raise ValueError(f"--grid {key} has an empty value; give KEY=V1,V2,...")
    return grid


def parse_seeds(text: str | Iterable[int] | None) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"``; ``"2"``; a list of ints; None -> []."""
    if text is None:
        return []
    if not isinstance(text, str):
        return [int(s) for s in text]
    seeds: list[int] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
            raise ValueError(
                f"--seeds takes e.g. 0-4 or 0,3,7 (non-negative integers), got {text!r}"
            )
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        seeds += [s for s in range(lo, hi + 1) if s not in seeds]
    return seeds


def point_name(values: Sequence[tuple[str, Any]], seed: int) -> str:
    """A readable, file-safe and unique folder name: ``weight_scale=0.1_seed=0-1a2b3c4d``."""
    text = "_".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in values) + f"_seed={seed}"
    safe = re.sub(r"[^A-Za-z0-9_.=+-]+", "", text)[:80].strip("_") or "point"
    digest = hashlib.sha256(json.dumps(json_safe([list(values), seed])).encode()).hexdigest()
    return f"{safe}-{digest[:8]}"


def make_points(
    raw: Mapping[str, Any], grid: Mapping[str, Sequence[Any]], seeds: Sequence[int], out: Path
) -> list[Point]:
    """Every point of ``grid`` x ``seeds`` (no seeds: the config's own), each parsed and
    resolved by its task's config class before anything runs; output in ``out/points``."""
    from ..tasks import parse

    seeds = list(seeds) or [int(raw.get("seed", 0))]
    keys = list(grid)
    points = []
    for combo in product(*(grid[k] for k in keys)):
        values = tuple(zip(keys, combo, strict=True))
        for seed in seeds:
            cfg = copy.deepcopy(dict(raw))
            for key, value in values:
                set_value(cfg, key, copy.deepcopy(value))
            cfg["seed"] = int(seed)
            name = point_name(values, seed)
            set_value(cfg, "output.dir", str(out / "points" / name))
            try:
                resolved = parse(cfg).to_dict()
            except (ValueError, TypeError, KeyError) as e:
                where = ", ".join(f"{k}={v!r}" for k, v in values)
                raise ValueError(f"sweep point {where}, seed {seed}: {e}") from None
            points.append(Point(values, int(seed), resolved, config_hash(resolved), name))
    return points

"""Experiment configuration: TOML files, ``--set key=value`` overrides, defaults.

A config is a nested dict with the sections ``dataset``, ``encoding``, ``features``,
``reservoir``, ``backend``, ``record``, ``readout``, ``baseline`` and ``output``, plus a
top-level ``seed``. ``resolve`` fills the defaults below and checks the section names, so
a typo (``[reservior]``) is an error rather than a silently ignored section.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULTS: dict[str, Any] = {
    "task": "classify",  # "zero_shot": spikelab.zero_shot (its own sections and defaults)
    "seed": 0,
    "name": "experiment",
    "dataset": {
        "name": "nmnist",
        "root": "../shared/data/nmnist-small",
        "generate": "",  # "nmnist-like": generate the folder when it does not exist
        "per_class": 100,  # for generation
        "test_fraction": 0.2,  # stratified split when the folder has no Test/
        "max_per_class": 0,  # 0: use every sample
        "on_error": "raise",
    },
    "encoding": {"dt": 1.0, "duration": 300.0},
    "features": {"kind": "none"},
    "reservoir": {"builder": "lsm_column"},
    "backend": {"name": "numba"},
    "record": {"bin_steps": 50},
    "readout": {
        "kind": "ridge",
        "alpha": [1.0, 10.0, 100.0, 1000.0, 10000.0],
        "log1p": True,
        "standardize": True,
    },
    "baseline": {"n_time_bins": 3, "C": 1.0},
    "reference": {},  # published figures to print beside ours, e.g. paper_test_accuracy
    "output": {"dir": "results/experiment", "chunk_size": 128, "save_states": True, "plots": True},
}


# ``[readout]`` defaults of the kinds other than ridge (whose are in DEFAULTS): a config
# that names one of these kinds starts from its table, not from ridge's.
READOUT_DEFAULTS: dict[str, dict[str, Any]] = {
    "online": {
        "kind": "online",
        "rule": "three_factor",
        "log1p": True,
        "standardize": True,
    },
}


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no config file at {path}")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path} is not valid TOML: {e}") from None


def parse_value(text: str) -> Any:
    """A ``--set`` value as TOML (numbers, booleans, arrays, quoted strings), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(cfg: dict[str, Any], sets: Iterable[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (dotted paths of any depth) to a copy."""
    out = copy.deepcopy(cfg)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes key=value (e.g. reservoir.n_neurons=2000), got {item!r}")
        parts = key.strip().split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {key}: {p!r} is a value, not a section")
        node[parts[-1]] = parse_value(value.strip())
    return out


def resolve(cfg: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in; unknown top-level sections rejected."""
    unknown = sorted(set(cfg) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown config section(s) {unknown}; known: {sorted(DEFAULTS)}")
    out = copy.deepcopy(DEFAULTS)
    kind = cfg.get("readout", {}).get("kind") if isinstance(cfg.get("readout"), dict) else None
    if kind in READOUT_DEFAULTS:
        out["readout"] = copy.deepcopy(READOUT_DEFAULTS[kind])
    for key, value in cfg.items():
        if isinstance(out.get(key), dict):
            if not isinstance(value, dict):
                raise ValueError(f"config section [{key}] must be a table, got {value!r}")
            out[key].update(copy.deepcopy(value))
        else:
            out[key] = value
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if v is None:
        return '""'
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(cfg: dict[str, Any], prefix: str = "") -> str:
    """Write a config back as TOML: scalars and arrays, tables nested to any depth."""
    lines = [f"[{prefix}]"] if prefix else []
    lines += [f"{k} = {_toml_value(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    text = "\n".join(lines) + "\n" if lines else ""
    for k, v in cfg.items():
        if isinstance(v, dict):
            text += "\n" + to_toml(v, f"{prefix}.{k}" if prefix else k)
    return text

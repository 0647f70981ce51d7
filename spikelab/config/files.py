"""Config files: TOML in, ``--set key=value`` overrides, TOML out (a results folder's
``config.toml``), and the configs shipped inside the package (``spikelab/config/packaged/``)."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def load_config(path: str | Path) -> dict[str, Any]:
    """The raw tables of a TOML file (nothing checked yet: ``spikelab.tasks.parse`` does)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no config file at {path}")
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.toml"))[:5]
        hint = f" (it holds {', '.join(found)})" if found else ""
        raise ValueError(f"{path} is a folder, not a config file{hint}; give a TOML file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not a UTF-8 text file (TOML): {e}") from None
    return loads_config(text, str(path))


def packaged_config(name: str) -> dict[str, Any]:
    """A config shipped inside the package (``spikelab/config/packaged/<name>``, package data),
    read with importlib.resources so that it is found from any folder."""
    folder = resources.files("spikelab.config").joinpath("packaged")
    found = folder.joinpath(name)
    if not found.is_file():
        names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))
        raise FileNotFoundError(f"no packaged config {name!r}; packaged: {', '.join(names)}")
    return loads_config(found.read_text(encoding="utf-8"), f"spikelab/config/packaged/{name}")


def loads_config(text: str, source: str = "config") -> dict[str, Any]:
    """The raw tables of TOML text; ``source`` names it in the error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{source} is not valid TOML: {e}") from None


def parse_value(text: str) -> Any:
    """A ``--set`` value as TOML (numbers, booleans, arrays, quoted strings), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_value(cfg: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Set the dotted ``key`` (``output.dir``) of a raw config in place to ``value``, as is."""
    parts = key.strip().split(".")
    node = cfg
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ValueError(f"--set {key}: {p!r} is a value, not a section")
    node[parts[-1]] = value
    return cfg


def apply_overrides(cfg: dict[str, Any], sets: Iterable[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (dotted paths of any depth) to a copy."""
    out = copy.deepcopy(cfg)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes key=value (e.g. reservoir.n_neurons=2000), got {item!r}")
        set_value(out, key, parse_value(value.strip()))
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
    if isinstance(v, Mapping):  # an inline table, e.g. an entry of [[transforms]]
        items = (f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None)
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else _toml_value(str(key))


def to_toml(cfg: Mapping[str, Any], prefix: str = "") -> str:
    """Write a config back as TOML: scalars and arrays, tables nested to any depth."""
    lines = [f"[{prefix}]"] if prefix else []
    lines += [f"{k} = {_toml_value(v)}" for k, v in cfg.items() if not isinstance(v, Mapping)]
    text = "\n".join(lines) + "\n" if lines else ""
    for k, v in cfg.items():
        if isinstance(v, Mapping):
            text += "\n" + to_toml(v, f"{prefix}.{k}" if prefix else k)
    return text


# ---- the checks -------------------------------------------------------------------------

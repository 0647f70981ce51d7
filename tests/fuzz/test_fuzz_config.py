"""Fuzz the config path (``load_config`` then ``spikelab.tasks.parse``): arbitrary bytes as
a TOML file, arbitrary nested tables of TOML values, and the packaged configs with one
key set to an arbitrary value or an unknown key added. Each gives a ``TaskConfig`` or
spikelab's ``ValueError``/``TypeError`` (a ``ConfigError`` for a bad key)."""

from __future__ import annotations

import datetime as _dt
import math
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from spikelab.config import TaskConfig
from spikelab.config.files import load_config, packaged_config
from spikelab.tasks import parse

from .common import check_ours, fuzz_settings

KEYS = st.text(min_size=1, max_size=12)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, -(2**63), 10**9]),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e39, 0.5, 64.7, -0.0]),
    st.text(max_size=20),
    st.sampled_from(["nmnist", "ntidigits", "numba", "ridge", "classify", "zero_shot", "auto"]),
    st.datetimes(min_value=_dt.datetime(1, 1, 1)),
    st.dates(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)
DEMO = packaged_config("demo.toml")
PATHS = [(s, k) for s, t in DEMO.items() if isinstance(t, dict) for k in t]
PATHS += [(k,) for k, v in DEMO.items() if not isinstance(v, dict)]


def parse_checked(raw: object, name: str | None = None) -> None:
    try:
        cfg = parse(raw)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        check_ours(exc, name)
        return
    assert isinstance(cfg, TaskConfig)


@fuzz_settings(100)
@given(st.binary(max_size=300))
@example(b"\xff\xfe")
@example(b"[dataset\n")
@example(b"task = 3\n")
def test_arbitrary_bytes_as_toml(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_bytes(raw)
        try:
            cfg = load_config(path)
        except (ValueError, TypeError) as exc:
            check_ours(exc, path.name)
            return
    parse_checked(cfg)


@fuzz_settings(60)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_arbitrary_tables(raw):
    parse_checked(raw)


@fuzz_settings(120)
@given(st.sampled_from(PATHS), VALUES, st.booleans())
@example(("reservoir", "n_neurons"), 64.7, False)
@example(("reservoir", "n_neurons"), True, False)
@example(("seed",), 1.5, False)
@example(("encoding", "duration"), math.inf, False)
@example(("readout", "alpha"), [], False)
def test_packaged_config_with_one_bad_value(path, value, unknown):
    cfg = {k: dict(v) if isinstance(v, dict) else v for k, v in DEMO.items()}
    node = cfg
    for part in path[:-1]:
        node = node[part]
    node[path[-1] + ("_x" if unknown else "")] = value
    parse_checked(cfg)

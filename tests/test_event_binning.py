"""The numpy binning core equals tonic's transforms and EventEncoding's batches."""

import numpy as np
import pytest

from spikelab import event_binning as eb
from spikelab.encoding import EventEncoding

DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])


def _events(rng, n=400, size=(34, 34)):
    ev = np.zeros(n, DTYPE)
    ev["x"] = rng.integers(0, size[0], n)
    ev["y"] = rng.integers(0, size[1], n)
    ev["t"] = np.sort(rng.integers(0, 50_000, n))
    ev["p"] = rng.integers(0, 2, n)
    return ev


@pytest.mark.parametrize("crop", [None, (28, 28), (33, 20)])
@pytest.mark.parametrize("downsample", [1, 2, 3])
@pytest.mark.parametrize("polarity", ["split", "merge", "on"])
def test_spatial_equals_tonic(crop, downsample, polarity):
    import tonic.transforms as T

    ev = _events(np.random.default_rng(3))
    want = ev.copy()
    if crop is not None:
        want = T.CenterCrop(sensor_size=(34, 34, 2), size=crop)(want.copy())
    if polarity == "on":
        want = want[want["p"] > 0]
    if downsample > 1:
        want = T.Downsample(spatial_factor=1.0 / downsample)(want.copy())
    got = eb.spatial(ev, (34, 34, 2), crop, polarity, downsample)
    np.testing.assert_array_equal(got, want)
    assert ev["x"].max() == 33  # the input is not modified in place


@pytest.mark.parametrize(
    "opts",
    [
        {"duration": 40.0},
        {"dt": 2.0, "crop": (28, 28), "downsample": 2, "polarity": "merge"},
        {"n_steps": 20, "time_bins": "equal", "binarize": True},
        {},  # steps from the latest event
    ],
)
def test_dense_counts_equal_encode(opts):
    enc = EventEncoding(sensor_size=(34, 34, 2), **opts)
    samples = [_events(np.random.default_rng(s)) for s in range(3)]
    for ev in samples:
        batch = enc.encode([ev])
        dense = eb.dense_counts(ev, enc.settings())
        want = np.zeros((batch.n_channels, batch.n_steps), np.float32)
        want[batch.channels, batch.steps] = batch.values
        np.testing.assert_array_equal(dense, want)


def test_dense_counts_out_of_range_raises_or_drops():
    ev = _events(np.random.default_rng(0), n=50)
    ev["x"][5] = 40
    enc = EventEncoding(sensor_size=(34, 34, 2), duration=60.0)
    with pytest.raises(ValueError, match="1 of 50 events are out of range"):
        eb.dense_counts(ev, enc.settings())
    drop = EventEncoding(sensor_size=(34, 34, 2), duration=60.0, on_out_of_range="drop")
    assert eb.dense_counts(ev, drop.settings()).sum() == 49


def test_module_imports_numpy_only():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(eb.__file__).read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}  # fmt: skip
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module}  # fmt: skip
    assert names <= {"__future__", "math", "numpy"}, names
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))

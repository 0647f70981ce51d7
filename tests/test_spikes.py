"""SpikeBatch / SpikeTrains: validation, dense round trips, subset, chunks, concatenate."""

from __future__ import annotations

import numpy as np
import pytest

from spikelab import SpikeBatch, SpikeTrains


def batch_args(**over):
    args = dict(
        n_steps=5,
        n_channels=3,
        offsets=[0, 2, 3],
        steps=[0, 4, 1],
        channels=[2, 0, 1],
        values=[1.0, 2.0, 1.0],
    )
    args.update(over)
    return args


def random_dense(seed=0, shape=(6, 20, 5), p=0.15):
    rng = np.random.default_rng(seed)
    x = (rng.random(shape) < p) * rng.integers(1, 4, shape)
    if shape[0] > 2:
        x[2] = 0  # one empty sample
    return x.astype(np.float32)


# ---- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "match"),
    [
        (dict(n_steps=0), "n_steps must be >= 1, got 0"),
        (dict(n_channels=-1), "n_channels must be >= 0, got -1"),
        (dict(dt=0.0), "dt must be > 0 ms, got 0.0"),
        (dict(dt=float("nan")), "dt must be > 0 ms"),
        (dict(offsets=[1, 2, 3]), r"offsets must run from 0 to the number of events \(3\)"),
        (dict(offsets=[0, 2, 4]), "offsets must run from 0 to the number of events"),
        (dict(offsets=[[0, 3]]), "offsets must run from 0"),
        (dict(offsets=[0, 3, 2, 3]), "offsets must be non-decreasing"),
        (dict(channels=[2, 0]), "steps, channels and values must have equal length, got 3, 2, 3"),
        (dict(values=[1.0]), "must have equal length"),
        (dict(steps=[0, 5, 1]), r"steps must lie in \[0, 5\), got range \[0, 5\]"),
        (dict(steps=[-1, 4, 1]), r"steps must lie in \[0, 5\), got range \[-1, 4\]"),
        (dict(channels=[3, 0, 1]), r"channels must lie in \[0, 3\), got range \[0, 3\]"),
        (dict(channels=[-2, 0, 1]), r"channels must lie in \[0, 3\)"),
        (dict(values=[1.0, np.nan, 1.0]), "values must be finite"),
        (dict(values=[1.0, 1.0, np.inf]), "values must be finite"),
        (dict(labels=[1, 2, 3]), "labels has 3 entries for 2 samples"),
    ],
)
def test_validation(over, match):
    with pytest.raises(ValueError, match=match):
        SpikeBatch(**batch_args(**over))


def test_fields_are_normalised_and_read_only():
    b = SpikeBatch(**batch_args(labels=[4, 7]))
    assert len(b) == 2 and b.n_events == 3
    for arr, dtype in (
        (b.offsets, np.int64),
        (b.steps, np.int32),
        (b.channels, np.int32),
        (b.values, np.float32),
        (b.labels, np.int64),
    ):
        assert arr.dtype == dtype and not arr.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        b.values[0] = 5.0


def test_empty_batch_and_empty_samples():
    b = SpikeBatch(n_steps=3, n_channels=2, offsets=[0, 0, 0], steps=[], channels=[], values=[])
    assert len(b) == 2 and b.n_events == 0
    assert np.array_equal(b.dense(1), np.zeros((3, 2), np.float32))
    none = SpikeBatch(n_steps=3, n_channels=2, offsets=[0], steps=[], channels=[], values=[])
    assert len(none) == 0


# ---- sorting ------------------------------------------------------------------------------


def test_events_are_sorted_by_step_within_each_sample_stably():
    b = SpikeBatch(
        n_steps=10,
        n_channels=4,
        offsets=[0, 4, 7],
        steps=[5, 1, 5, 0, 9, 2, 2],
        channels=[3, 2, 1, 0, 0, 3, 1],
        values=[1, 2, 3, 4, 5, 6, 7],
    )
    s0, c0, v0 = b.sample(0)
    assert s0.tolist() == [0, 1, 5, 5]
    assert c0.tolist() == [0, 2, 3, 1]  # the two step-5 events keep their given order
    assert v0.tolist() == [4, 2, 1, 3]
    s1, c1, v1 = b.sample(1)
    assert s1.tolist() == [2, 2, 9] and c1.tolist() == [3, 1, 0] and v1.tolist() == [6, 7, 5]
    # Sorting never moves an event to another sample.
    dense0 = np.zeros((10, 4), np.float32)
    dense0[[5, 1, 5, 0], [3, 2, 1, 0]] = [1, 2, 3, 4]
    assert np.array_equal(b.dense(0), dense0)


@pytest.mark.parametrize(
    "offsets, steps, expected",
    [
        # in order already: steps fall only where a sample begins (kept as given)
        ([0, 3, 5], [1, 4, 9, 0, 2], [1, 4, 9, 0, 2]),
        # empty samples first, between and last: the boundary test must not look past them
        ([0, 0, 2, 2, 4, 4], [3, 7, 1, 2], [3, 7, 1, 2]),
        # a fall inside a sample that follows an empty one: sorted
        ([0, 0, 3], [5, 2, 8], [2, 5, 8]),
        # a fall at the last event of the last sample: sorted
        ([0, 2, 4], [0, 1, 6, 3], [0, 1, 3, 6]),
    ],
)
def test_ordered_events_are_kept_and_others_sorted(offsets, steps, expected):
    n = len(steps)
    b = SpikeBatch(
        n_steps=10,
        n_channels=n,
        offsets=offsets,
        steps=steps,
        channels=np.arange(n),
        values=np.ones(n),
    )
    assert b.steps.tolist() == expected
    order = [steps.index(x) if steps.count(x) == 1 else None for x in expected]
    assert b.channels.tolist() == order


# ---- dense round trips ---------------------------------------------------------------------


def test_from_dense_dense_round_trip():
    x = random_dense()
    labels = np.arange(6) * 3
    b = SpikeBatch.from_dense(x, dt=0.5, labels=labels)
    assert (len(b), b.n_steps, b.n_channels, b.dt) == (6, 20, 5, 0.5)
    assert b.labels.tolist() == labels.tolist()
    assert b.n_events == int(np.count_nonzero(x))
    for i in range(len(b)):
        assert np.array_equal(b.dense(i), x[i])
        s, c, v = b.sample(i)
        assert np.all(np.diff(s) >= 0)
        assert np.all(v != 0)  # zeros are dropped
    assert b.sample(2)[0].size == 0


def test_from_dense_keeps_analogue_and_negative_values():
    x = np.zeros((1, 3, 2))
    x[0, 1, 0] = -0.25
    x[0, 2, 1] = 3.5
    b = SpikeBatch.from_dense(x)
    assert b.values.tolist() == [-0.25, 3.5]
    with pytest.raises(ValueError, match=r"expected \[samples, steps, channels\], got shape"):
        SpikeBatch.from_dense(np.zeros((3, 2)))


def test_dense_sums_repeated_events():
    b = SpikeBatch(
        n_steps=2,
        n_channels=2,
        offsets=[0, 3],
        steps=[1, 1, 0],
        channels=[0, 0, 1],
        values=[1.0, 2.0, 1.0],
    )
    assert b.dense(0).tolist() == [[0.0, 1.0], [3.0, 0.0]]


def test_spike_trains_dense_round_trip():
    rng = np.random.default_rng(1)
    raster = rng.random((3, 15, 7)) < 0.2
    st = SpikeTrains.from_dense(raster)
    assert len(st) == 3 and (st.n_steps, st.n_neurons) == (15, 7)
    for i in range(3):
        assert np.array_equal(st.dense(i), raster[i])
        s, n = st.sample(i)
        order = np.lexsort((n, s))
        assert np.array_equal(order, np.arange(len(s)))  # sorted by step, then neuron
    assert st.offsets[-1] == raster.sum()


# ---- subset, chunks, concatenate ------------------------------------------------------------


def test_subset_order_negative_indices_and_labels():
    x = random_dense(seed=3)
    b = SpikeBatch.from_dense(x, labels=np.arange(10, 16))
    sub = b.subset([4, 0, -1, 4])
    assert len(sub) == 4 and sub.labels.tolist() == [14, 10, 15, 14]
    for k, i in enumerate([4, 0, 5, 4]):
        assert np.array_equal(sub.dense(k), x[i])
    assert (sub.n_steps, sub.n_channels, sub.dt) == (b.n_steps, b.n_channels, b.dt)
    empty = b.subset([])
    assert len(empty) == 0 and empty.n_events == 0
    for bad in ([6], [-7]):
        with pytest.raises(IndexError, match="sample index out of range for a batch of 6"):
            b.subset(bad)


@pytest.mark.parametrize(
    "idx", [[4, 0, -1, 4], [1, 2, 3], [5], [2, 1], [0, 1, 2, 3, 4, 5], [3, 3], []]
)
def test_subset_equals_the_checked_constructor(idx):
    """subset takes its events from a checked batch without checking them again: the result
    is what the checking constructor builds from the same samples (empty samples included)."""
    x = random_dense(seed=6, shape=(6, 9, 3))
    x[2] = 0  # an empty sample
    b = SpikeBatch.from_dense(x, labels=np.arange(6))
    sub = b.subset(idx)
    parts = [b.sample(i % len(b)) for i in idx]
    sizes = [len(p[0]) for p in parts]
    ref = SpikeBatch(
        n_steps=b.n_steps,
        n_channels=b.n_channels,
        offsets=np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]),
        steps=np.concatenate([p[0] for p in parts] or [np.zeros(0)]),
        channels=np.concatenate([p[1] for p in parts] or [np.zeros(0)]),
        values=np.concatenate([p[2] for p in parts] or [np.zeros(0)]),
        dt=b.dt,
        labels=b.labels[np.asarray(idx, dtype=np.int64)],
    )
    for name in ("offsets", "steps", "channels", "values", "labels"):
        got, want = getattr(sub, name), getattr(ref, name)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
        assert not got.flags.writeable, name


def test_chunks_cover_the_batch_in_order():
    x = random_dense(seed=4, shape=(7, 10, 3))
    b = SpikeBatch.from_dense(x, labels=np.arange(7))
    chunks = b.chunks(3)
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert np.concatenate([c.labels for c in chunks]).tolist() == list(range(7))
    k = 0
    for c in chunks:
        for i in range(len(c)):
            assert np.array_equal(c.dense(i), x[k])
            k += 1
    assert [len(c) for c in b.chunks(100)] == [7]
    with pytest.raises(ValueError, match="chunk size must be >= 1, got 0"):
        b.chunks(0)


def test_concatenate_inverts_chunks():
    x = random_dense(seed=5, shape=(5, 12, 4))
    b = SpikeBatch.from_dense(x, dt=2.0, labels=np.arange(5))
    again = SpikeBatch.concatenate(b.chunks(2))
    for name in ("offsets", "steps", "channels", "values", "labels"):
        assert np.array_equal(getattr(again, name), getattr(b, name)), name
    assert again.dt == 2.0


def test_concatenate_errors_and_missing_labels():
    a = SpikeBatch.from_dense(random_dense(shape=(2, 5, 3)), labels=[0, 1])
    b = SpikeBatch.from_dense(random_dense(shape=(2, 5, 3)))
    assert SpikeBatch.concatenate([a, b]).labels is None
    with pytest.raises(ValueError, match="need at least one batch"):
        SpikeBatch.concatenate([])
    for other in (
        SpikeBatch.from_dense(random_dense(shape=(2, 6, 3))),
        SpikeBatch.from_dense(random_dense(shape=(2, 5, 4))),
        SpikeBatch.from_dense(random_dense(shape=(2, 5, 3)), dt=0.5),
    ):
        with pytest.raises(ValueError, match="batches differ in n_steps, n_channels or dt"):
            SpikeBatch.concatenate([a, other])


def test_indexing_like_an_array_of_samples():
    x = random_dense(seed=6, shape=(5, 8, 3))
    b = SpikeBatch.from_dense(x, labels=np.arange(5))
    assert b.shape == (5, 8, 3)
    cases = {
        "slice": (b[1:4], [1, 2, 3]),
        "reversed": (b[::-2], [4, 2, 0]),
        "list": (b[[3, 0]], [3, 0]),
        "int": (b[-1], [4]),
        "mask": (b[np.array([True, False, False, True, True])], [0, 3, 4]),
        "sklearn": (b[np.array([2, 1]), ...], [2, 1]),
    }
    for name, (sub, idx) in cases.items():
        assert sub.labels.tolist() == idx, name
        for k, i in enumerate(idx):
            assert np.array_equal(sub.dense(k), x[i]), name
    assert len(b[5:]) == 0
    with pytest.raises(IndexError, match="boolean index of shape"):
        b[np.array([True, False])]
    with pytest.raises(IndexError, match="indexed by sample only"):
        b[0, 1]
    with pytest.raises(IndexError, match="out of range"):
        b[[5]]

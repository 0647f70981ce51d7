"""Issue 17, silent wrong results: SpikeBatch used to wrap steps and channels at 2**32,
truncate fractional ones, truncate n_steps=2.5 and keep values of 1e39 (inf in float32,
where numba and torch then disagree). Each is now a ValueError naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from spikelab import SpikeBatch


def batch(**kw):
    args = dict(
        n_steps=10, n_channels=4, offsets=[0, 2], steps=[0, 3], channels=[1, 2], values=[1.0, 2.0]
    )
    args.update(kw)
    return SpikeBatch(**args)


def test_a_valid_batch_is_unchanged():
    b = batch(steps=np.array([3.0, 0.0]), channels=np.array([2, 1], np.uint16))
    assert b.steps.tolist() == [0, 3] and b.channels.tolist() == [1, 2]
    assert b.values.tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        # a step of 2**32 + 3 wrapped to 3 once n_steps let it through
        (dict(n_steps=2**33, steps=[0, 2**32 + 3]), r"n_steps must be at most 2147483647"),
        (dict(n_channels=2**32 + 4, channels=[1, 2**32 + 2]), r"n_channels must be at most"),
        (dict(steps=[0.0, 2.5]), r"steps must be whole numbers: 1 are not, e\.g\. 2\.5"),
        (dict(channels=[1.0, 0.5]), r"channels must be whole numbers"),
        (dict(steps=[0.0, np.nan]), r"steps must be whole numbers"),
        (dict(steps=["0", "1"]), r"steps must be a 1-D array of whole numbers"),
        (dict(n_steps=2.5), r"n_steps must be a whole number, got 2\.5"),
        (dict(n_steps=True), r"n_steps must be a whole number, got True"),
        (dict(n_channels=4.2), r"n_channels must be a whole number"),
        (dict(values=[1.0, 1e39]), r"values must fit float32 .* got 1e\+39"),
        (dict(values=[1.0, -1e39]), r"values must fit float32"),
        (dict(values=["a", "b"]), r"values must be numbers"),
    ],
)
def test_bad_batches_raise(kw, match):
    with pytest.raises(ValueError, match=match):
        batch(**kw)


def test_integral_floats_are_accepted_as_counts():
    b = batch(n_steps=10.0, n_channels=np.int64(4))
    assert b.n_steps == 10 and isinstance(b.n_steps, int) and b.n_channels == 4

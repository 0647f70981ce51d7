"""Events -> SpikeBatch: binning, crop, polarity, downsampling; the event-count histogram."""

import numpy as np
import pytest

from spikelab.encoding import EventEncoding, count_histogram, event_histogram

DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])


def events(rows):
    return np.array(rows, dtype=DTYPE)


def test_fixed_bins_channels_and_counts():
    ev = events([(0, 0, 0, 0), (0, 0, 999, 0), (1, 2, 1000, 1), (33, 33, 2500, 1)])
    b = EventEncoding(dt=1.0, duration=3.0).encode([ev])
    assert (b.n_steps, b.n_channels) == (3, 34 * 34 * 2)
    got = sorted(zip(b.steps.tolist(), b.channels.tolist(), b.values.tolist(), strict=True))
    # channel = (x * H + y) * C + p
    assert got == [(0, 0, 2.0), (1, (1 * 34 + 2) * 2 + 1, 1.0), (2, (33 * 34 + 33) * 2 + 1, 1.0)]


def test_events_after_duration_are_dropped_and_binarize():
    ev = events([(0, 0, 0, 0), (0, 0, 10, 0), (0, 0, 5000, 0)])
    b = EventEncoding(dt=1.0, duration=2.0, binarize=True).encode([ev])
    assert b.n_events == 1 and b.values.tolist() == [1.0]


def test_equal_bins_split_each_sample_span():
    ev = events([(0, 0, 100, 0), (0, 0, 150, 0), (0, 0, 200, 0), (0, 0, 300, 0)])
    b = EventEncoding(n_steps=2, time_bins="equal").encode([ev])
    assert b.n_steps == 2
    assert dict(zip(b.steps.tolist(), b.values.tolist(), strict=True)) == {0: 3.0, 1: 1.0}


def test_crop_polarity_and_downsample_geometry():
    enc = EventEncoding(crop=(16, 16), polarity="on")
    assert enc.input_shape == (16, 16, 1) and enc.n_channels == 256
    ev = events([(17, 17, 0, 1), (17, 17, 0, 0), (0, 0, 0, 1)])  # centre ON, centre OFF, corner
    b = enc.encode([ev])
    assert b.n_events == 1  # OFF dropped, corner cropped away
    assert EventEncoding(downsample=2).input_shape == (17, 17, 2)
    assert EventEncoding(polarity="merge").n_channels == 34 * 34


def test_empty_sample_and_input_not_mutated():
    ev = events([(3, 4, 10, 1)])
    before = ev.copy()
    b = EventEncoding(duration=5.0, crop=(30, 30)).encode([ev[:0], ev])
    assert b.offsets.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(ev, before)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dt=0), "dt must be > 0"),
        (dict(polarity="both"), "polarity must be one of"),
        (dict(time_bins="equal"), "needs n_steps"),
        (dict(crop=(40, 40)), "within the sensor size"),
        (dict(downsample=0), "downsample"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EventEncoding(**kwargs)


def test_non_event_input_is_rejected():
    with pytest.raises(ValueError, match="structured array"):
        EventEncoding().encode([np.zeros(3)])


def test_count_histogram_totals_and_layout():
    ev = events([(0, 0, 0, 0), (0, 0, 99, 1), (1, 0, 100, 0)])
    h = count_histogram([ev], n_time_bins=2)
    assert h.shape == (1, 2 * 34 * 34 * 2) and h.sum() == 3


def random_events(rng, n, size=(6, 5)):
    ev = np.zeros(n, DTYPE)
    ev["x"], ev["y"] = rng.integers(0, size[0], n), rng.integers(0, size[1], n)
    ev["t"] = np.sort(rng.integers(0, 100_000, n))
    ev["p"] = rng.integers(0, 2, n)
    return ev


def test_count_histogram_equals_the_encoder_with_equal_bins():
    """The baseline histogram is the encoder's SpikeBatch (equal bins) made dense."""
    rng = np.random.default_rng(0)
    samples = [random_events(rng, n) for n in (300, 1, 0, 57)]
    signed = samples[0].copy()
    signed["p"] = 2 * signed["p"] - 1  # polarities -1/+1 read as p > 0
    samples.append(signed)
    for bins in (1, 3, 7):
        h = count_histogram(samples, sensor_size=(6, 5, 2), n_time_bins=bins)
        enc = EventEncoding(sensor_size=(6, 5, 2), n_steps=bins, time_bins="equal")
        batch = enc.encode(samples)
        ref = np.stack([batch.dense(i).ravel() for i in range(len(samples))])
        assert h.dtype == np.float32
        np.testing.assert_array_equal(h, ref)


def test_event_histogram_layout_pooling_and_channels():
    ev = events([(0, 0, 0, 1), (5, 4, 50, 0), (5, 0, 100, 1)])
    h = event_histogram([ev], 2, (6, 5), pool=3, n_time_bins=2)  # [bins, C, H/3, W/3]
    assert h.shape == (1, 2 * 2 * 2 * 2)
    cube = h[0].reshape(2, 2, 2, 2)
    assert cube[0, 1, 0, 0] == 1 and cube[0, 0, 1, 1] == 1 and cube[1, 1, 0, 1] == 1
    merged = event_histogram([ev], 1, (6, 5), n_time_bins=1)  # one channel: polarity merged
    assert merged.sum() == 3 and merged.shape == (1, 30)
    audio = np.zeros(3, [("t", "<i8"), ("x", "<i8"), ("p", "<i8")])  # no y: row 0
    audio["x"], audio["t"], audio["p"] = (1, 2, 2), (0, 5, 9), 1
    np.testing.assert_array_equal(event_histogram([audio], 1, (4, 1))[0], [0, 1, 2, 0])
    with pytest.raises(ValueError, match="does not fit n_channels=2"):
        event_histogram([events([(0, 0, 0, 2)])], 2, (6, 5))
    with pytest.raises(ValueError, match="must be >= 1"):
        event_histogram([ev], 2, (6, 5), pool=0)

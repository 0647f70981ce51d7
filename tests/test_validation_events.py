"""Issue 17, silent wrong results in the event path: the N-TIDIGITS reader for tonic's
layout accepted any timestamp and address (1e13 s became INT64_MIN), and
``EventEncoding.encode`` moved events outside the sensor onto other channels, passed
unsorted times and dropped events past ``duration`` without a count."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from spikelab.datasets.base import DatasetError
from spikelab.datasets.ntidigits import ntidigits
from spikelab.encoding import EventEncoding

SAMPLE = "man-aa-a-3"


def write_ntidigits(path: Path, addresses, timestamps) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("train_labels", data=np.array([SAMPLE.encode()]))
        h5.create_group("train_addresses").create_dataset(SAMPLE, data=addresses)
        h5.create_group("train_timestamps").create_dataset(SAMPLE, data=timestamps)
    return path


def layouts(tmp_path: Path, addresses, timestamps) -> list:
    """The same sample in tonic's layout (read through tonic) and as a plain file."""
    tonic_root = tmp_path / "tonic"
    write_ntidigits(tonic_root / "NTIDIGITS18" / "n-tidigits.hdf5", addresses, timestamps)
    plain = write_ntidigits(tmp_path / "plain" / "digits.h5", addresses, timestamps)
    return [ntidigits(tonic_root), ntidigits(plain)]


T_OK = np.array([0.0, 0.01, 0.02])


@pytest.mark.parametrize(
    ("addresses", "timestamps", "match"),
    [
        (np.array([0, 1, 64]), T_OK, "addresses outside 0..63"),
        (np.array([0, 1, 200]), T_OK, "addresses outside 0..63"),
        (np.array([0.0, 1.5, 2.0]), T_OK, "1 non-integer addresses, e.g. 1.5"),
        (np.array([0, 1, 2]), np.array([0.0, -0.01, 0.02]), "negative"),
        (np.array([0, 1, 2]), np.array([0.0, np.nan, 0.02]), "NaN"),
        (np.array([0, 1, 2]), np.array([0.0, 0.01, 1e13]), "above 1e\\+06 s"),
        (np.array([0, 1, 2]), np.array([b"0", b"1", b"2"]), "must be numbers"),
        (np.array([0, 1, 2]), np.array([0.0, 1.0, 0.5]), "out of order"),
        (np.array([0, 1, 2]), np.zeros(3, np.float16) + 60000, None),
    ],
)
def test_ntidigits_bad_values_raise_in_both_layouts(tmp_path, addresses, timestamps, match):
    for ds in layouts(tmp_path, addresses, timestamps):
        if match is None:  # valid (float16 seconds): read without an overflow warning
            assert ds[0][0]["t"].tolist() == [60000 * 10**6] * 3
            continue
        with pytest.raises(DatasetError, match=rf"{SAMPLE}'.*{match}"):
            ds[0]


def test_ntidigits_valid_sample_reads_identically_in_both_layouts(tmp_path):
    a, b = layouts(tmp_path, np.array([3, 1, 2], np.uint8), T_OK)
    ev_a, ev_b = a[0][0], b[0][0]
    np.testing.assert_array_equal(ev_a, ev_b)
    assert ev_a["t"].tolist() == [0, 10000, 20000] and ev_a["x"].tolist() == [3, 1, 2]


# ---- EventEncoding ----------------------------------------------------------------------
def events(x, y, t, p=None):
    ev = np.zeros(len(x), dtype=[("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
    ev["x"], ev["y"], ev["t"] = x, y, t
    ev["p"] = 1 if p is None else p
    return ev


ENC = EventEncoding(sensor_size=(34, 34, 2), dt=1.0, duration=10.0)


@pytest.mark.parametrize(
    ("ev", "what"),
    [
        # x=40 on a 34-wide sensor landed on pixel (41, 6) - another pixel, a later channel
        (events([1, 40], [1, 1], [0, 1000]), "1 outside the 34x34 sensor"),
        (events([1, 2], [1, 34], [0, 1000]), "1 outside the 34x34 sensor"),  # next column
        (events([-1, 2], [1, 3], [0, 1000]), "1 outside the 34x34 sensor"),
        (events([1, 2, 3], [1, 1, 1], [0, 5000, 2000]), "1 out of time order"),
        (events([1, 2], [1, 1], [-1000, 2000]), "1 with a negative or non-finite time"),
    ],
)
def test_encode_refuses_out_of_range_events_with_a_count(ev, what):
    with pytest.raises(ValueError, match=rf"1 of \d events are out of range .*{what}"):
        ENC.encode([events([1], [1], [0]), ev])
    with pytest.raises(ValueError, match="first in sample 1"):
        ENC.encode([events([1], [1], [0]), ev])


def test_drop_removes_and_counts_them():
    enc = EventEncoding(sensor_size=(34, 34, 2), duration=10.0, on_out_of_range="drop")
    ev = events([1, 40, 2, 3, 4], [1, 1, 35, 1, 1], [0, 1000, 2000, 500, 3000])
    batch, report = enc.encode_with_report([ev])
    assert report == dict(
        events=5, outside_sensor=2, bad_time=0, out_of_order=1, dropped=3, past_duration=0
    )
    keep = events([1, 4], [1, 1], [0, 3000])
    np.testing.assert_array_equal(batch.dense(0), enc.encode([keep]).dense(0))


def test_past_duration_is_a_counted_crop_not_an_error():
    ev = events([1, 2, 3], [1, 1, 1], [0, 9999, 10000])  # 10 ms: the last is cut
    batch, report = ENC.encode_with_report([ev])
    assert batch.n_events == 2 and report["past_duration"] == 1 and report["dropped"] == 0


def test_valid_events_encode_as_before():
    ev = events([0, 33, 5], [0, 33, 7], [0, 4000, 9000], p=[0, 1, 1])
    batch, report = ENC.encode_with_report([ev])
    assert report["dropped"] == 0 and report["events"] == 3
    assert batch.steps.tolist() == [0, 4, 9]
    assert batch.channels.tolist() == [0, (33 * 34 + 33) * 2 + 1, (5 * 34 + 7) * 2 + 1]


def test_on_out_of_range_is_a_checked_option():
    with pytest.raises(ValueError, match="on_out_of_range must be 'raise' or 'drop'"):
        EventEncoding(on_out_of_range="ignore")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(duration=float("inf")), "duration must be a finite number"),
        (dict(duration=1e9), "more than 10000000"),
        (dict(n_steps=10**8), "n_steps must be a whole number in"),
        (dict(n_steps=2.5), "n_steps must be a whole number"),
        (dict(dt=float("nan")), "dt must be > 0"),
    ],
)
def test_encoding_time_options_are_bounded(kw, match):
    with pytest.raises(ValueError, match=match):
        EventEncoding(**kw)

"""Cochlea model: tone -> channel placement, filterbank geometry, event format, validation."""

from __future__ import annotations

import numpy as np
import pytest

from spikelab.datasets.cochlea import (
    AUDIO_EVENT_DTYPE,
    CochleaConfig,
    cochlea_drive,
    cochlea_events,
    cochlea_spike_times,
    erb_hz,
)

FS = 20000.0


def tone(f_hz: float, dur_s: float = 0.3, fs: float = FS, amp: float = 1.0) -> np.ndarray:
    """Sine with 10 ms raised-cosine on/off ramps (no onset click)."""
    t = np.arange(int(dur_s * fs)) / fs
    ramp = np.clip(np.minimum(t, t[-1] - t) / 0.01, 0, 1)
    return amp * np.sin(2 * np.pi * f_hz * t) * (0.5 - 0.5 * np.cos(np.pi * ramp))


def channel_counts(events: np.ndarray, n: int = 64) -> np.ndarray:
    return np.bincount(events["x"], minlength=n)


def test_centre_frequencies_log_spaced_100_to_8000_hz():
    cfg = CochleaConfig()
    fc = cfg.centre_frequencies()
    assert fc.shape == (64,)
    assert fc[0] == pytest.approx(100.0) and fc[-1] == pytest.approx(8000.0)
    np.testing.assert_allclose(np.diff(np.log(fc)), np.log(80.0) / 63)
    edges = cfg.band_edges()
    assert edges.shape == (65,) and np.all(np.diff(edges) > 0)
    assert np.all((edges[:-1] < fc) & (fc < edges[1:]))
    assert [cfg.channel_of(f) for f in fc] == list(range(64))


@pytest.mark.parametrize("channel", [28, 33, 38, 43, 50, 56, 62])
def test_pure_tone_spikes_land_in_its_channel(channel):
    """From ~600 Hz up: the busiest channel is the tone's, most spikes within one ERB."""
    cfg = CochleaConfig()
    fc = cfg.centre_frequencies()
    f_hz = float(fc[channel])
    assert cfg.channel_of(f_hz) == channel
    counts = channel_counts(cochlea_events(tone(f_hz), FS, cfg))
    assert counts.sum() > 20
    assert int(counts.argmax()) == channel
    near = np.abs(fc - f_hz) < erb_hz(f_hz)
    assert counts[near].sum() >= 0.85 * counts.sum()
    assert counts[channel] >= 1.2 * max(counts[channel - 1], counts[(channel + 1) % 64])


@pytest.mark.parametrize("channel", [4, 8, 12, 16, 20, 24])
def test_low_tone_centred_on_its_channel(channel):
    """Below ~600 Hz, three or more channels share one ERB and at the default level they
    phase-lock at one spike per cycle, so counts tie over ~9 channels (+-1.5 ERB): the
    count-weighted centroid, not the argmax, identifies the channel."""
    cfg = CochleaConfig()
    fc = cfg.centre_frequencies()
    f_hz = float(fc[channel])
    counts = channel_counts(cochlea_events(tone(f_hz), FS, cfg))
    centroid = (counts * np.arange(64)).sum() / counts.sum()
    assert abs(centroid - channel) <= (0.5 if channel >= 8 else 1.0)
    near = np.abs(fc - f_hz) < 1.5 * erb_hz(f_hz)
    assert counts[near].sum() >= 0.9 * counts.sum()


@pytest.mark.parametrize("f_hz", [250.0, 700.0, 1234.0, 3000.0, 5000.0, 7777.0])
def test_tone_between_centres_lands_next_to_its_band(f_hz):
    cfg = CochleaConfig()
    counts = channel_counts(cochlea_events(tone(f_hz), FS, cfg))
    assert abs(int(counts.argmax()) - cfg.channel_of(f_hz)) <= (1 if f_hz >= 450 else 2)


@pytest.mark.parametrize(
    "cfg",
    [
        CochleaConfig(filter="butterworth", filter_order=2),
        CochleaConfig(spike_model="delta"),
        CochleaConfig(compression="log", gain=2.0),
    ],
    ids=["butterworth", "delta", "log"],
)
def test_variants_place_a_1khz_tone(cfg):
    events = cochlea_events(tone(1000.0), FS, cfg)
    counts = channel_counts(events)
    assert counts.sum() > 0
    assert abs(int(counts.argmax()) - cfg.channel_of(1000.0)) <= 1
    if cfg.spike_model == "delta":
        assert set(np.unique(events["p"])) <= {0, 1}


def test_resampled_input_gives_same_channel():
    cfg = CochleaConfig()
    counts = channel_counts(cochlea_events(tone(1500.0, fs=16000.0), 16000.0, cfg))
    assert counts.argmax() == cfg.channel_of(1500.0)


def test_event_format_sorted_and_consistent_with_spike_times():
    cfg = CochleaConfig()
    x = tone(300.0) + tone(3000.0)
    events = cochlea_events(x, FS, cfg)
    times, channels, pol = cochlea_spike_times(x, FS, cfg)
    assert events.dtype == AUDIO_EVENT_DTYPE
    assert events.dtype.names == ("t", "x", "p")
    assert np.all(np.diff(events["t"]) >= 0)
    assert np.all(events["p"] == 1) and np.all(pol == 1)
    np.testing.assert_array_equal(events["t"], (times * 1e6).astype(np.int64))
    np.testing.assert_array_equal(events["x"], channels)
    assert events["t"].max() < 0.3e6


def test_silence_and_empty_input_give_empty_events():
    cfg = CochleaConfig()
    for x in (np.zeros(2000), np.zeros(0)):
        events = cochlea_events(x, FS, cfg)
        assert events.dtype == AUDIO_EVENT_DTYPE and events.shape == (0,)
    assert cochlea_drive(np.zeros(0), FS, cfg).shape == (64, 0)


def test_deterministic_and_input_not_modified():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.1, 4000)
    before = x.copy()
    a = cochlea_events(x, FS)
    b = cochlea_events(x, FS)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, before)


def test_louder_tone_without_agc_never_fewer_spikes_in_its_channel():
    cfg = CochleaConfig(reference_rms=None)
    c = cfg.channel_of(1000.0)
    counts = [
        channel_counts(cochlea_events(tone(1000.0, amp=a), FS, cfg))[c] for a in (0.03, 0.1, 0.3)
    ]
    assert counts[0] <= counts[1] <= counts[2] and counts[2] > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"f_max_hz": 9900.0}, "Nyquist"),
        ({"f_min_hz": 500.0, "f_max_hz": 400.0}, "f_min_hz"),
        ({"filter": "mel"}, "filter must be one of"),
        ({"spike_model": "poisson"}, "spike_model"),
        ({"tau_s": -1.0}, "tau_s must be > 0"),
        ({"spike_model": "delta", "lowpass_hz": None}, "lowpass_hz"),
        ({"n_channels": 0}, "n_channels"),
    ],
)
def test_config_validation_names_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CochleaConfig(**kwargs)


def test_bad_waveforms_raise():
    with pytest.raises(ValueError, match="mono"):
        cochlea_events(np.zeros((2, 100)), FS)
    with pytest.raises(ValueError, match="NaN"):
        cochlea_events(np.array([0.0, np.nan]), FS)
    with pytest.raises(ValueError, match="sample_rate"):
        cochlea_events(np.zeros(10), 0.0)

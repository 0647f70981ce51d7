"""FEAST: hand-checked learning, threshold rules, tonic output, estimator contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from spikelab.encoding import event_histogram
from spikelab.features.feast import (
    FEAST,
    SizeRecommendation,
    convergence_summary,
    load_feast,
    plot_feast_learning,
    recommend_n_neurons,
    save_feast,
)
from spikelab.features.feast.kernels import MISS, SKIPPED
from spikelab.features.feast.plots import LEARNING_SIZE
from spikelab.plots import new_figure, save_figure

DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])  # tonic's NMNIST
WINNERS = [-1, 0, 0, -1, 0, 1]  # hand-checked winners of test_hand_checked_sequence
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nmnist-small" / "Train"


def events(rows, dtype=DTYPE) -> np.ndarray:
    return np.array([tuple(r) for r in rows], dtype=dtype)


def random_events(rng, n, size=(12, 10), t_step=300, dtype=DTYPE) -> np.ndarray:
    """A blob drifting over a small sensor plus scattered events, sorted by t (µs)."""
    ev = np.zeros(n, dtype)
    cx = (np.arange(n) * 0.01) % size[0]
    ev["x"] = np.clip(np.round(cx + rng.normal(0, 1.5, n)), 0, size[0] - 1)
    ev["y"] = np.clip(np.round(size[1] / 2 + rng.normal(0, 2.0, n)), 0, size[1] - 1)
    ev["t"] = np.cumsum(rng.integers(1, t_step, n))
    ev["p"] = rng.integers(0, 2, n)
    return ev


def reference_feast(ev, w, theta, *, radius, tau, eta, d_open, d_close, sensor, border, split):
    """FEAST from first principles, one event at a time, in plain numpy."""
    w, theta = w.copy(), theta.copy()
    width, height, _ = sensor
    n_ch = 2 if split else 1
    surface = np.full((n_ch, height, width), -np.inf)  # last event time, -inf = never
    winners = []
    for x, y, t, p in ev[["x", "y", "t", "p"]].tolist():
        ch = int(p > 0) if split else 0
        surface[ch, y, x] = t
        inside = radius <= x < width - radius and radius <= y < height - radius
        if border == "skip" and not inside:
            winners.append(-2)
            continue
        c = np.zeros((n_ch, 2 * radius + 1, 2 * radius + 1))
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                if 0 <= y + dy < height and 0 <= x + dx < width:
                    c[:, dy + radius, dx + radius] = np.exp((surface[:, y + dy, x + dx] - t) / tau)
        c = c.ravel() / np.linalg.norm(c)
        d = w @ c
        candidates = np.flatnonzero(d > theta)
        if candidates.size == 0:
            theta -= d_open
            winners.append(-1)
            continue
        k = candidates[np.argmax(d[candidates])]
        w[k] = (1 - eta) * w[k] + eta * c
        w[k] /= np.linalg.norm(w[k])
        theta[k] += d_close
        winners.append(int(k))
    return w, theta, winners


def initial_weights(n, dim, seed):
    w = np.random.default_rng(seed).random((n, dim))
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def test_hand_checked_sequence():
    """Six events on a 5x5 sensor, R = 1 (3x3 patches, centre index 4), tau = 100 µs."""
    kw = dict(radius=1, tau=100.0, eta=0.5, threshold_open=0.2, threshold_close=0.3)
    ev = events(
        [
            (2, 2, 0, 1),
            (3, 2, 50, 0),
            (2, 3, 120, 1),
            (0, 0, 200, 1),
            (3, 3, 210, 0),
            (1, 2, 260, 1),
        ]
    )
    w0 = initial_weights(2, 9, seed=0)  # documented initialisation: uniform, unit rows
    two = FEAST(n_neurons=2, theta0=0.5, border="pad", record_every=1, **kw)
    two.fit([ev[:2]], sensor_size=(5, 5, 2))
    # Event 1 at (2, 2): only the centre was ever seen, c = e_4 and d_i = w_i[4].
    assert np.all(w0[:, 4] < 0.5)  # a miss: both thresholds drop by 0.2
    np.testing.assert_allclose(two.threshold_history_[0], [0.3, 0.3], rtol=0, atol=1e-15)
    # Event 2 at (3, 2), 50 µs later: pixel (2, 2) sits left of the centre (index 3).
    c = np.zeros(9)
    c[3], c[4] = np.exp(-50 / 100), 1.0
    c /= np.sqrt(1 + np.exp(-1))
    d = w0 @ c
    assert d[0] > 0.3 > d[1]  # neuron 0 is the only candidate: it wins
    w_new = 0.5 * w0[0] + 0.5 * c
    np.testing.assert_allclose(two.weights_[0], w_new / np.linalg.norm(w_new), rtol=1e-13)
    np.testing.assert_array_equal(two.weights_[1], w0[1])
    np.testing.assert_allclose(two.thresholds_, [0.6, 0.3], rtol=1e-15)
    np.testing.assert_array_equal(two.miss_rate_history_, [1.0, 0.0])
    # All six events against the one-event-at-a-time reference.
    model = FEAST(n_neurons=2, theta0=0.5, border="pad", record_every=1, **kw)
    model.fit([ev], sensor_size=(5, 5, 2))
    w_ref, theta_ref, win_ref = reference_feast(
        ev,
        w0,
        np.full(2, 0.5),
        d_open=0.2,
        d_close=0.3,
        sensor=(5, 5, 2),
        border="pad",
        split=False,
        radius=1,
        tau=100.0,
        eta=0.5,
    )
    assert win_ref == WINNERS
    np.testing.assert_allclose(model.weights_, w_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.thresholds_, theta_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(
        model.win_counts_, np.bincount([k for k in WINNERS if k >= 0], None, 2)
    )
    np.testing.assert_array_equal(model.miss_rate_history_, [k == -1 for k in WINNERS])
    assert model.n_events_seen_ == 6 and model.n_misses_ == WINNERS.count(-1)


@pytest.mark.parametrize(
    "polarity, border, radius", [("merged", "skip", 2), ("split", "pad", 1), ("split", "skip", 3)]
)
def test_matches_reference_on_random_stream(polarity, border, radius):
    rng = np.random.default_rng(3)
    ev = random_events(rng, 400)
    kw = dict(radius=radius, tau=2000.0, eta=0.05, threshold_open=0.02, threshold_close=0.01)
    model = FEAST(n_neurons=5, theta0=0.5, polarity=polarity, border=border, seed=4, **kw)
    model.fit([ev], sensor_size=(12, 10, 2))
    n_ch = 2 if polarity == "split" else 1
    w0 = initial_weights(5, n_ch * (2 * radius + 1) ** 2, seed=4)
    w_ref, theta_ref, win_ref = reference_feast(
        ev,
        w0,
        np.full(5, 0.5),
        d_open=0.02,
        d_close=0.01,
        sensor=(12, 10, 2),
        border=border,
        split=polarity == "split",
        radius=radius,
        tau=2000.0,
        eta=0.05,
    )
    np.testing.assert_allclose(model.weights_, w_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.thresholds_, theta_ref, rtol=1e-10, atol=1e-12)
    win_ref = np.array(win_ref)
    np.testing.assert_array_equal(model.win_counts_, np.bincount(win_ref[win_ref >= 0], None, 5))
    # transform = the same selection with learning switched off
    frozen = reference_feast(
        ev,
        model.weights_,
        model.thresholds_,
        d_open=0.0,
        d_close=0.0,
        sensor=(12, 10, 2),
        border=border,
        split=polarity == "split",
        radius=radius,
        tau=2000.0,
        eta=0.0,
    )[2]
    out = model.transform(ev)
    frozen = np.array(frozen)
    np.testing.assert_array_equal(out["p"], frozen[frozen >= 0])
    np.testing.assert_array_equal(out["t"], ev["t"][frozen >= 0])


def test_long_stream_rescaling_matches_reference():
    """A stream spanning ~2000 tau exercises the surface rescaling (module docstring)."""
    rng = np.random.default_rng(5)
    ev = random_events(rng, 300, t_step=20_000)
    kw = dict(radius=2, tau=1500.0, eta=0.1, threshold_open=0.01, threshold_close=0.002)
    model = FEAST(n_neurons=4, theta0=0.6, seed=1, **kw).fit([ev], sensor_size=(12, 10, 2))
    w_ref, theta_ref, _ = reference_feast(
        ev,
        initial_weights(4, 25, seed=1),
        np.full(4, 0.6),
        d_open=0.01,
        d_close=0.002,
        sensor=(12, 10, 2),
        border="pad",
        split=False,
        radius=2,
        tau=1500.0,
        eta=0.1,
    )
    np.testing.assert_allclose(model.weights_, w_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.thresholds_, theta_ref, rtol=1e-10, atol=1e-12)


def test_threshold_rules_and_unit_norm():
    """Every miss lowers every threshold by threshold_open; a win raises only the winner's."""
    rng = np.random.default_rng(0)
    streams = [random_events(rng, 300) for _ in range(3)]
    model = FEAST(
        n_neurons=6,
        radius=2,
        tau=3000.0,
        threshold_open=0.03,
        threshold_close=0.01,
        theta0=0.8,
        record_every=1,
        border="skip",
    )
    model.fit(streams, sensor_size=(12, 10, 2))
    theta = np.vstack([np.full(6, 0.8), model.threshold_history_])
    step = np.diff(theta, axis=0)
    miss = model.miss_rate_history_
    assert np.sum(miss == 1) > 10 and np.sum(miss == 0) > 10 and np.sum(np.isnan(miss)) > 10
    np.testing.assert_allclose(step[miss == 1], -0.03, atol=1e-12)
    wins = step[miss == 0]
    np.testing.assert_allclose(wins.max(axis=1), 0.01, atol=1e-12)
    assert np.all(np.sum(np.abs(wins) > 1e-12, axis=1) == 1)
    assert np.all(step[np.isnan(miss)] == 0)  # skipped at the border: nothing changes
    np.testing.assert_array_equal(np.sum(step > 0, axis=0), model.win_counts_)
    np.testing.assert_allclose(np.linalg.norm(model.weights_, axis=1), 1.0, atol=1e-12)


def test_transform_is_a_tonic_event_array():
    tonic = pytest.importorskip("tonic")
    rng = np.random.default_rng(1)
    streams = [random_events(rng, 500, size=(34, 34)) for _ in range(2)]
    model = FEAST(n_neurons=8, radius=2, tau=5000.0).fit(streams)
    ev = streams[1]
    out = model.transform(ev)
    assert out.dtype == ev.dtype and 0 < len(out) <= len(ev)
    assert out["p"].min() >= 0 and out["p"].max() < 8 and np.all(np.diff(out["t"]) >= 0)
    assert np.isin(out["t"], ev["t"]).all()
    frames = tonic.transforms.ToFrame(sensor_size=(34, 34, 8), n_event_bins=2)(out)
    assert frames.shape == (2, 8, 34, 34) and frames.sum() == len(out)
    empty = model.transform(ev[:0])
    assert empty.dtype == ev.dtype and empty.shape == (0,)
    many = model.transform_many([ev, ev[:0], ev])
    np.testing.assert_array_equal(many[0], out)
    np.testing.assert_array_equal(many[2], out)
    assert model.transform([ev])[0].tobytes() == out.tobytes()
    small = ev.astype([("x", "i2"), ("y", "i2"), ("t", "i8"), ("p", "i1")])
    assert model.transform(small).dtype == small.dtype


def test_winners_are_the_decisions_behind_transform():
    ev = events([(0, 5, 10, 1), (5, 5, 20, 1), (11, 9, 30, 0), (6, 5, 40, 1)])
    model = FEAST(n_neurons=2, radius=2, border="skip", threshold_close=0.0)
    model.fit([ev], sensor_size=(12, 10, 2))
    win = model.winners([ev])
    assert win.dtype == np.int64 and win[0] == SKIPPED and win[2] == SKIPPED
    assert set(win[[1, 3]].tolist()) <= {MISS, 0, 1}
    out = model.transform(ev)
    np.testing.assert_array_equal(out["p"], win[win >= 0])
    np.testing.assert_array_equal(out["t"], ev["t"][win >= 0])


def test_from_learned_rebuilds_a_fitted_model():
    rng = np.random.default_rng(5)
    streams = [random_events(rng, 200) for _ in range(2)]
    model = FEAST(n_neurons=3, radius=1, tau=3000.0).fit(streams, sensor_size=(12, 10, 2))
    learned = {"weights_": model.weights_, "thresholds_": model.thresholds_}
    back = FEAST.from_learned(model.get_params(), (12, 10, 2), learned)
    np.testing.assert_array_equal(back.winners(streams), model.winners(streams))
    with pytest.raises(ValueError, match="unknown learned attributes"):
        FEAST.from_learned(model.get_params(), (12, 10, 2), {"weights": model.weights_})


def test_border_skip_gives_no_output_near_the_edge():
    ev = events([(0, 5, 10, 1), (5, 5, 20, 1), (11, 9, 30, 0)])
    for border, n_out in (("skip", 1), ("pad", 3)):
        model = FEAST(n_neurons=1, radius=2, theta0=-1.0, threshold_close=0.0, border=border)
        out = model.fit([ev], sensor_size=(12, 10, 2)).transform(ev)
        assert len(out) == n_out


def test_determinism_and_partial_fit_equivalence():
    rng = np.random.default_rng(2)
    streams = [random_events(rng, 300) for _ in range(4)]
    kw = dict(n_neurons=5, radius=2, tau=3000.0, epochs=2, seed=7)
    a = FEAST(**kw).fit(streams, sensor_size=(12, 10, 2))
    b = FEAST(**kw).fit(streams, sensor_size=(12, 10, 2))
    for name in ("weights_", "thresholds_", "threshold_history_", "miss_rate_history_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = FEAST(**{**kw, "seed": 8}).fit(streams, sensor_size=(12, 10, 2))
    assert not np.array_equal(a.weights_, c.weights_)
    # fit without shuffling == partial_fit sample by sample
    full = FEAST(**{**kw, "epochs": 1}, shuffle=False).fit(streams, sensor_size=(12, 10, 2))
    part = FEAST(**{**kw, "epochs": 1})
    for s in streams:
        part.partial_fit(s, sensor_size=(12, 10, 2))
    np.testing.assert_array_equal(full.weights_, part.weights_)
    np.testing.assert_array_equal(full.threshold_history_, part.threshold_history_)
    # one long stream in chunks (continue_stream) == the stream as one sample
    whole = FEAST(**{**kw, "epochs": 1}).partial_fit(streams[0], sensor_size=(12, 10, 2))
    chunked = FEAST(**{**kw, "epochs": 1}).partial_fit(streams[0][:130], sensor_size=(12, 10, 2))
    chunked.partial_fit(streams[0][130:], continue_stream=True)
    np.testing.assert_array_equal(whole.weights_, chunked.weights_)
    with pytest.raises(ValueError, match="continue_stream=True but the first timestamp"):
        chunked.partial_fit(streams[0][:10], continue_stream=True)


def test_float32_fast_path():
    rng = np.random.default_rng(4)
    streams = [random_events(rng, 300) for _ in range(2)]
    m64 = FEAST(n_neurons=4, radius=2, tau=3000.0).fit(streams, sensor_size=(12, 10, 2))
    m32 = FEAST(n_neurons=4, radius=2, tau=3000.0, dtype="float32").fit(
        streams, sensor_size=(12, 10, 2)
    )
    assert m32.weights_.dtype == np.float32
    np.testing.assert_allclose(m32.weights_, m64.weights_, atol=1e-3)
    assert len(m32.transform(streams[0])) > 0


def test_estimator_contract():
    model = FEAST(n_neurons=3, radius=1, tau=1000.0, seed=5)
    params = model.get_params()
    assert params["n_neurons"] == 3 and params["tau"] == 1000.0 and params["seed"] == 5
    with pytest.raises(NotFittedError):
        model.transform(events([(1, 1, 0, 0)]))
    ev = random_events(np.random.default_rng(0), 200)
    assert model.fit([ev], sensor_size=(12, 10, 2)) is model
    assert model.get_params() == params
    twin = clone(model)
    assert twin.get_params() == params and not hasattr(twin, "weights_")
    assert twin.set_params(n_neurons=4).n_neurons == 4
    assert len(model.fit_transform([ev], sensor_size=(12, 10, 2))) == 1
    model.set_params(radius=2)  # the learned weights no longer fit the parameters
    with pytest.raises(ValueError, match="parameters changed after fit; call fit again"):
        model.transform(ev)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_neurons": 0}, "n_neurons must be an integer >= 1, got 0"),
        ({"n_neurons": 2.5}, "n_neurons must be an integer >= 1, got 2.5"),
        ({"radius": -1}, "radius must be an integer >= 0, got -1"),
        ({"tau": 0.0}, "tau must be a time > 0 .* got 0.0"),
        ({"tau": float("nan")}, "tau must be .* got nan"),
        ({"eta": 1.5}, r"eta must be in \(0, 1\].* got 1.5"),
        ({"threshold_open": -0.1}, "threshold_open must be >= 0.* got -0.1"),
        ({"threshold_close": "a"}, "threshold_close must be >= 0.* got 'a'"),
        ({"theta0": 2.0}, r"theta0 must be in \[-1, 1\].* got 2.0"),
        ({"polarity": "both"}, r"polarity must be one of \('merged', 'split'\), got 'both'"),
        ({"border": "wrap"}, "border must be one of .* got 'wrap'"),
        ({"dtype": "float16"}, "dtype must be one of .* got 'float16'"),
        ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
        ({"seed": "x"}, "seed must be an int or None, got 'x'"),
    ],
)
def test_bad_params_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FEAST(**kwargs).fit([events([(1, 1, 0, 0)])])


def test_bad_inputs_raise_clear_errors():
    model = FEAST(n_neurons=300, radius=1)
    with pytest.raises(ValueError, match=r"event x in \[0, 40\] leaves the sensor"):
        model.fit([events([(0, 0, 0, 0), (40, 0, 5, 0)])])
    with pytest.raises(ValueError, match="sorted by t"):
        model.fit([events([(0, 0, 5, 0), (1, 0, 1, 0)])])
    with pytest.raises(TypeError, match="fields x, y, t, p"):
        model.fit([np.zeros((3, 4))])
    with pytest.raises(ValueError, match="at least one sample"):
        model.fit([])
    with pytest.raises(ValueError, match="sensor_size must be"):
        model.fit([events([(0, 0, 0, 0)])], sensor_size=(34, 34))
    model.fit([events([(0, 0, 0, 0)])])
    narrow = events([(1, 1, 0, 0)], dtype=[("x", "i2"), ("y", "i2"), ("t", "i8"), ("p", "i1")])
    with pytest.raises(ValueError, match="cannot hold feature indices up to 299"):
        model.transform(narrow)


def test_histogram_counts():
    ev = events([(0, 0, 0, 1), (33, 33, 100, 0), (5, 6, 200, 1)])
    h = event_histogram([ev, ev[:0]], n_channels=2, pool=17, n_time_bins=3)
    assert h.shape == (2, 3 * 2 * 2 * 2) and h[0].sum() == 3 and h[1].sum() == 0
    assert h[0].reshape(3, 2, 2, 2)[0, 1, 0, 0] == 1 and h[0].reshape(3, 2, 2, 2)[2, 1, 0, 0] == 1


def _nmnist(n):
    tonic = pytest.importorskip("tonic")
    files = sorted(DATA.glob("*/*.bin"))[::40][:n]
    if len(files) < n:
        pytest.skip(f"needs ../shared/data/nmnist-small (not found at {DATA})")
    return [tonic.io.read_mnist_file(str(f), dtype=tonic.datasets.NMNIST.dtype) for f in files]


@pytest.mark.needs_data
def test_learning_signals_settle_on_nmnist(tmp_path):
    """Convergence seen from the recorded signals alone, no access to the weights."""
    steps = dict(threshold_open=0.01, threshold_close=0.002)  # 10x defaults: ~100k events
    model = FEAST(n_neurons=16, radius=3, record_every=500, **steps).fit(_nmnist(25))
    summary = convergence_summary(model)
    assert summary["threshold_drift_late"] < 0.2 * summary["threshold_drift_early"]
    assert summary["miss_rate_late"] < 0.05
    assert summary["converged"]
    fig = plot_feast_learning(model, fig=new_figure(LEARNING_SIZE))
    assert len(fig.axes) == 3 and len(fig.axes[0].lines) == model.n_neurons
    png = save_figure(fig, tmp_path / "feast.png")
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_size_recommendation_on_synthetic_streams():
    rng = np.random.default_rng(0)
    streams = [random_events(rng, 400, size=(34, 34)) for _ in range(4)]
    rec = recommend_n_neurons(
        streams, candidates=(2, 4, 8), noise_fraction=0.1, seed=0, radius=2, tau=3000.0
    )
    assert isinstance(rec, SizeRecommendation) and rec.n_neurons in (2, 4, 8)
    assert [row["n_neurons"] for row in rec.evidence] == [2, 4, 8]
    assert {"noise_isolation", "noise_miss_rate", "signal_miss_rate"} <= set(rec.evidence[0])
    with pytest.raises(AttributeError):
        rec.n_neurons = 3  # frozen


def test_hdf5_round_trip(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(6)
    streams = [random_events(rng, 300) for _ in range(2)]
    model = FEAST(n_neurons=5, radius=2, tau=3000.0, record_every=50)
    model.fit(streams, sensor_size=(12, 10, 2))
    with h5py.File(tmp_path / "feast.h5", "w") as f:
        save_feast(model, f.create_group("features"))
    with h5py.File(tmp_path / "feast.h5", "r") as f:
        back = load_feast(f["features"])
    assert back.get_params() == model.get_params() and back.sensor_size_ == (12, 10, 2)
    for name in ("weights_", "thresholds_", "threshold_history_", "win_counts_"):
        np.testing.assert_array_equal(getattr(back, name), getattr(model, name))
    np.testing.assert_array_equal(back.transform(streams[0]), model.transform(streams[0]))
    with pytest.raises(ValueError, match="needs a fitted FEAST"):
        save_feast(FEAST(), {})

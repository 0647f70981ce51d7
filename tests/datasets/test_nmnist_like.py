"""The synthetic N-MNIST-like generator: format, determinism, statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tonic.datasets
import tonic.io

from spikelab.datasets import SaccadeSettings, generate_nmnist_like, nmnist
from spikelab.datasets.nmnist_like import _source_pools, render_digit, simulate_saccades


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.bin"))}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "nmnist-like"
    return generate_nmnist_like(out, per_class=4, test_per_class=2, seed=0, progress=False)


def test_layout_and_readme(generated):
    for split, count in (("Train", 4), ("Test", 2)):
        for label in range(10):
            assert len(list((generated / split / str(label)).glob("*.bin"))) == count
    readme = (generated / "README.txt").read_text()
    assert "SYNTHETIC, NOT REAL N-MNIST" in readme and "load_digits" in readme
    assert not list(generated.parent.glob(".*"))  # no temporary folder left
    for split, count in (("Train", 40), ("Test", 20)):  # ids are unique within a split
        assert len({p.name for p in (generated / split).rglob("*.bin")}) == count


def test_files_read_back_by_tonic_and_by_nmnist(generated):
    train, test = nmnist(generated), nmnist(generated, train=False)
    assert len(train) == 40 and len(test) == 20
    assert np.bincount(train.labels).tolist() == [4] * 10
    for ds in (train, test):
        for i, path in enumerate(ds.paths):
            ours, label = ds[i]
            theirs = tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
            np.testing.assert_array_equal(ours, theirs)
            assert label == int(path.parent.name)


def test_event_statistics_like_nmnist(generated):
    ds = nmnist(generated)
    counts, durations, on = [], [], []
    for events, _ in ds:
        counts.append(events.size)
        durations.append(events["t"].max())
        on.append(events["p"].mean())
        assert events["t"].min() >= 0 and np.all(np.diff(events["t"]) >= 0)
        per_saccade = np.histogram(events["t"], bins=[0, 103e3, 206e3, 320e3])[0]
        assert np.all(per_saccade > 0.2 * events.size)  # three saccades, each active
    assert 1500 < min(counts) and max(counts) < 9000
    assert 3000 < np.mean(counts) < 5500  # real N-MNIST: ~4,100 events per sample
    assert 290e3 < min(durations) and max(durations) < 330e3  # µs; real: ~300-315 ms
    assert 0.4 < np.mean(on) < 0.6


def test_same_seed_same_bytes_other_seed_differs(generated, tmp_path):
    again = generate_nmnist_like(tmp_path / "a", per_class=4, test_per_class=2, progress=False)
    assert _tree(again) == _tree(generated)
    assert (again / "README.txt").read_bytes() == (generated / "README.txt").read_bytes()
    other = generate_nmnist_like(
        tmp_path / "b", per_class=4, test_per_class=2, seed=1, progress=False
    )
    assert _tree(other).keys() == _tree(generated).keys()
    assert all(_tree(other)[k] != v for k, v in _tree(generated).items())


def test_train_and_test_use_distinct_images():
    target = np.repeat(np.arange(10), 180)
    pools = _source_pools(target, per_class=100, test_per_class=20, seed=0)
    for label in range(10):
        train, test = pools["Train", label], pools["Test", label]
        assert np.intersect1d(train, test).size == 0
        assert test.size == 30 and train.size == 150
        assert np.all(target[train] == label)


def test_sample_independent_of_batch():
    from sklearn.datasets import load_digits

    s = SaccadeSettings()
    images = load_digits().images[:3]

    def rngs():
        return [np.random.default_rng([7, i]) for i in range(3)]

    def run(indices):
        r = rngs()
        frames = [render_digit(images[i], r[i], s) for i in indices]
        return simulate_saccades(frames, [r[i] for i in indices], s)

    np.testing.assert_array_equal(run([0, 1, 2])[2], run([2])[0])


def test_refractory_and_noise():
    from sklearn.datasets import load_digits

    s = SaccadeSettings(noise_rate_hz=0.0, latency_us=0.0)
    rng = np.random.default_rng(0)
    events = simulate_saccades([render_digit(load_digits().images[0], rng, s)], [rng], s)[0]
    pixel = events["y"] * 34 + events["x"]
    order = np.lexsort((events["t"], pixel))
    gaps = np.diff(events["t"][order])[np.diff(pixel[order]) == 0]
    assert gaps.min() >= s.refractory_us - 1  # µs, timestamps are floored
    blank = SaccadeSettings(noise_rate_hz=100.0)
    rng = np.random.default_rng(0)
    noise = simulate_saccades([np.zeros((28, 28))], [rng], blank)[0]
    expected = 100.0 * 34 * 34 * 0.309
    assert 0.8 * expected < noise.size < 1.2 * expected  # a blank screen gives noise only


def test_output_folder_rules(tmp_path):
    out = generate_nmnist_like(tmp_path / "c", per_class=1, test_per_class=0, progress=True)
    assert not (out / "Test").exists()
    with pytest.raises(FileNotFoundError, match="no Test/ folder"):
        nmnist(out, train=False)
    with pytest.raises(FileExistsError, match="not empty; choose a new folder"):
        generate_nmnist_like(out, per_class=1, progress=False)
    out = generate_nmnist_like(out, per_class=1, progress=False, overwrite=True)
    assert len(nmnist(out, train=False)) == 10  # default test_per_class: max(1, 1 / 6)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        generate_nmnist_like(foreign, per_class=1, progress=False, overwrite=True)
    assert (foreign / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"per_class": 0}, "per_class must be an integer >= 1, got 0"),
        ({"test_per_class": -1}, "test_per_class must be an integer >= 0, got -1"),
        ({"seed": -3}, "seed must be a non-negative integer, got -3"),
    ],
)
def test_argument_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_nmnist_like(tmp_path / "x", progress=False, **kwargs)


def test_settings_validation():
    with pytest.raises(ValueError, match="threshold must be > 0, got 0"):
        SaccadeSettings(threshold=0.0)
    with pytest.raises(ValueError, match="frame_us .* must not exceed refractory_us"):
        SaccadeSettings(frame_us=2000.0)
    with pytest.raises(ValueError, match="background must be < 1"):
        SaccadeSettings(background=1.5)
    with pytest.raises(TypeError):
        SaccadeSettings(0.3)  # keyword-only

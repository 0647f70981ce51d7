"""FSDD: the loader (real files, generated WAVs, a damaged WAV), its splits, the cochlea
event cache and its invalidation, the N-TIDIGITS conversion read back by tonic."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from spikelab.config import ConfigError, DatasetConfig
from spikelab.datasets import DatasetError, fsdd, fsdd_cochlea, fsdd_events
from spikelab.datasets import event_cache as ec
from spikelab.datasets.fsdd import find_fsdd_files, read_wav

FSDD_REAL = Path(__file__).resolve().parents[2].parent / "shared/data/fsdd"
RATE = 8000


def write_wav(path: Path, digit: int, seconds: float = 0.12, seed: int = 0) -> None:
    """A short 16-bit 8 kHz 'utterance': a tone whose pitch depends on the digit, in noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * (300 + 250 * digit) * t) + 0.01 * rng.standard_normal(t.size)
    wavfile.write(path, RATE, (x * 32767).astype(np.int16))


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """recordings/ with digits 0-9, speakers ann and bob, indices 0, 1 (FSDD test) and 5-7."""
    rec = tmp_path / "fsdd" / "recordings"
    rec.mkdir(parents=True)
    for d in range(10):
        for k, speaker in enumerate(("ann", "bob")):
            for i in (0, 1, 5, 6, 7):
                write_wav(rec / f"{d}_{speaker}_{i}.wav", d, seed=100 * d + 10 * k + i)
    (rec / "README.txt").write_text("not a recording")
    return tmp_path / "fsdd"


# ---------------------------------------------------------------------------- the loader
def test_real_files_read(tmp_path: Path) -> None:
    if not (FSDD_REAL / "recordings").is_dir():
        pytest.skip(f"../shared/data/fsdd not found: expected real FSDD WAVs at {FSDD_REAL}")
    files = find_fsdd_files(FSDD_REAL)
    assert len(files) >= 20 and {f.speaker for f in files} >= {"george", "jackson"}
    rec = tmp_path / "recordings"
    rec.mkdir()
    pick = [f for f in files if f.index == 5 and f.speaker in ("george", "theo")]
    for f in pick:
        os.symlink(f.path, rec / f.path.name)
    ds = fsdd(tmp_path, split="stratified", test_fraction=0.5, seed=0)
    test = fsdd(tmp_path, train=False, split="stratified", test_fraction=0.5, seed=0)
    assert len(ds) + len(test) == len(pick) == 20
    x, y = ds[0]
    assert ds.sample_rate == 8000.0 and x.dtype == np.float64 and 0 < np.abs(x).max() < 1
    assert 0.1 < x.size / 8000 < 3.0 and y == ds.labels[0]
    assert sorted(np.bincount(ds.labels, minlength=10)) == [1] * 10  # one per digit each side
    ev = fsdd_events(tmp_path, split="stratified", test_fraction=0.5)
    assert ev.sensor_size == (64, 1, 1) and len(ev[0][0]) > 100  # real speech makes events


def test_generated_wavs_fsdd_split(folder: Path) -> None:
    train = fsdd(folder)  # indices 0-4 present: FSDD's own split
    test = fsdd(folder, train=False)
    assert len(train) == 60 and len(test) == 40
    assert set(test.indices.tolist()) == {0, 1} and set(train.indices.tolist()) == {5, 6, 7}
    assert sorted(set(train.speakers.tolist())) == ["ann", "bob"]
    rate, raw = wavfile.read(train.paths[0])
    np.testing.assert_allclose(train.waveforms[0], raw / 32768.0)
    assert train.labels[0] == int(train.paths[0].name[0])


def test_transforms_and_other_splits(folder: Path) -> None:
    ds = fsdd(folder, transform=lambda x: x[:10], target_transform=lambda y: f"digit {y}")
    x, y = ds[3]
    assert x.shape == (10,) and y == f"digit {ds.labels[3]}"
    tr = fsdd(folder, split="stratified", test_fraction=0.2, seed=1)
    te = fsdd(folder, train=False, split="stratified", test_fraction=0.2, seed=1)
    assert np.bincount(te.labels).tolist() == [2] * 10 and len(tr) == 80
    assert not {str(p) for p in tr.paths} & {str(p) for p in te.paths}
    spk = fsdd(folder, train=False, split="speakers", test_speakers=["bob"])
    assert set(spk.speakers.tolist()) == {"bob"} and len(spk) == 50
    with pytest.raises(ValueError, match="test_speakers"):
        fsdd(folder, split="speakers", test_speakers=["carl"])
    with pytest.raises(ValueError, match="split must be one of"):
        fsdd(folder, split="random")


def test_damaged_wav_names_the_file_or_is_skipped(folder: Path) -> None:
    bad = folder / "recordings" / "3_ann_6.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    with pytest.raises(DatasetError, match="3_ann_6.wav"):
        fsdd(folder)
    with pytest.warns(UserWarning, match="3_ann_6.wav"):
        ds = fsdd(folder, on_error="skip")
    assert len(ds) == 59 and bad not in ds.paths
    with pytest.raises(DatasetError, match="3_ann_6.wav"):
        read_wav(bad)
    with pytest.raises(FileNotFoundError, match="no FSDD folder"):
        fsdd(folder / "absent")


# ---------------------------------------------------------------------------- the cache
def test_cochlea_cache_keyed_by_parameters(folder: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    a = fsdd_events(folder, train=False, cache_dir=cache)
    files = sorted(cache.glob("cochlea-*.npz"))
    assert len(files) == 1 and files[0] == ec.cache_file(cache, fsdd_cochlea())

    def no_compute(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(ec, "cochlea_events", no_compute)
    again = fsdd_events(folder, train=False, cache_dir=cache)  # from the cache
    for i in range(len(a)):
        np.testing.assert_array_equal(a[i][0], again[i][0])
    with pytest.raises(AssertionError, match="recomputed"):  # other parameters: not reused
        fsdd_events(folder, train=False, cache_dir=cache, cochlea=fsdd_cochlea(gain=5.0))
    monkeypatch.undo()
    low = fsdd_events(folder, train=False, cache_dir=cache, cochlea=fsdd_cochlea(gain=5.0))
    assert len(list(cache.glob("cochlea-*.npz"))) == 2
    assert sum(len(low[i][0]) for i in range(len(low))) < sum(len(a[i][0]) for i in range(len(a)))
    changed = a.paths[0]  # a recording that changed on disk is computed again
    write_wav(changed, 9, seconds=0.3, seed=7)
    os.utime(changed, ns=(1, 1))
    new = fsdd_events(folder, train=False, cache_dir=cache)
    assert not np.array_equal(new[0][0], a[0][0])


# ---------------------------------------------------------------- N-TIDIGITS conversion
def test_converted_file_read_by_tonic_matches_memory(folder: Path, tmp_path: Path) -> None:
    from tonic.datasets import NTIDIGITS18

    from spikelab.datasets.fsdd_hdf5 import convert_fsdd

    for extra in (folder / "recordings").glob("*_[167].wav"):  # keep indices 0 and 5: fast
        extra.unlink()
    out = convert_fsdd(folder, tmp_path / "tonic", cache_dir=tmp_path / "cache")
    assert out == tmp_path / "tonic" / "NTIDIGITS18" / "n-tidigits.hdf5"
    for train in (True, False):
        ours = fsdd_events(folder, train, cache_dir=tmp_path / "cache")
        theirs = NTIDIGITS18(str(tmp_path / "tonic"), train=train, single_digits=True)
        assert len(theirs) == len(ours) == 20
        for i in range(len(ours)):
            events, target = theirs[i]
            digit = int(ours.paths[i].name[0])
            assert target == NTIDIGITS18.class_map["z" if digit == 0 else str(digit)]
            assert theirs._samples[i].split("-")[1:3] == ours.paths[i].stem.split("_")[1:]
            np.testing.assert_array_equal(events["t"], ours[i][0]["t"])
            np.testing.assert_array_equal(events["x"], ours[i][0]["x"])
    with pytest.raises(FileExistsError, match="exists"):
        convert_fsdd(folder, tmp_path / "tonic")
    other = tmp_path / "other.hdf5"
    other.write_bytes(b"not ours")
    with pytest.raises(FileExistsError, match="refusing"):
        convert_fsdd(folder, other, overwrite=True)


# ---------------------------------------------------------------------------- the config
def test_dataset_config_fsdd_keys() -> None:
    cfg = DatasetConfig.from_dict(
        {"name": "fsdd", "split": "speakers", "test_speakers": ["ann"], "cochlea": {"gain": 9.0}}
    )
    assert cfg.test_speakers == ("ann",) and cfg.cochlea_config().gain == 9.0
    assert cfg.cochlea_config().sample_rate_hz == 8000.0
    with pytest.raises(ConfigError, match="dataset.split"):
        DatasetConfig.from_dict({"name": "fsdd", "split": "random"})
    with pytest.raises(ConfigError, match="test_speakers"):
        DatasetConfig.from_dict({"name": "fsdd", "split": "speakers"})
    with pytest.raises(ConfigError, match="dataset.cochlea"):
        DatasetConfig.from_dict({"name": "fsdd", "cochlea": {"f_max_hz": 3990.0}})


def test_fsdd_cochlea_bands_below_nyquist() -> None:
    c = fsdd_cochlea()
    top = c.centre_frequencies()[-1] + c.bandwidths()[-1] / 2
    assert c.sample_rate_hz == 8000.0 and top < 4000.0

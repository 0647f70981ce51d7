"""N-TIDIGITS reader, the synthetic generator, tonic compatibility, label maps, errors."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikelab.datasets import ntidigits_like
from spikelab.datasets.base import DatasetError, EventDataset
from spikelab.datasets.cochlea import AUDIO_EVENT_DTYPE
from spikelab.datasets.ntidigits import (
    LABEL_MAPS,
    NTIDIGITS_CLASSES,
    NTidigitsSequences,
    convert_labels,
    find_ntidigits_file,
    ntidigits,
    parse_sample_id,
)
from spikelab.datasets.ntidigits_like import generate_ntidigits_like
from spikelab.datasets.speech import (
    DIGIT_WORDS,
    espeak_available,
    random_speaker,
    synthesize_digits,
)

ID_RE = re.compile(r"^(man|woman)-[a-z]{2}-[ab]-[oz1-9]+$")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A folder in tonic's layout holding a small generated file (2 per class, 3 sequences)."""
    out = tmp_path_factory.mktemp("ntd")
    path = generate_ntidigits_like(
        out, per_class=2, test_per_class=2, n_sequences=3, seed=0, progress=False
    )
    assert path == out / "NTIDIGITS18" / "n-tidigits.hdf5"
    return out


# ------------------------------------------------------------------ tonic compatibility


@pytest.mark.parametrize("train", [True, False])
def test_tonic_class_and_reader_agree_on_generated_file(root, train):
    from tonic.datasets import NTIDIGITS18

    theirs = NTIDIGITS18(str(root), train=train, single_digits=True)
    ours = ntidigits(root, train=train, reader="hdf5")
    via_tonic = ntidigits(root, train=train, reader="tonic")
    assert isinstance(ours, EventDataset)
    assert len(theirs) == len(ours) == len(via_tonic) == 22
    assert ours.sensor_size == tuple(theirs.sensor_size) == (64, 1, 1)
    for i in range(len(ours)):
        ev_t, label_t = theirs[i]
        ev_o, label_o = ours[i]
        assert ev_t.dtype.names == ev_o.dtype.names == ("t", "x", "p")
        np.testing.assert_array_equal(ev_o, ev_t.astype(AUDIO_EVENT_DTYPE))
        np.testing.assert_array_equal(via_tonic[i][0], ev_o)
        assert label_o == label_t == ours.labels[i] == via_tonic.labels[i]
    theirs.data.close()


def test_sequences_agree_with_tonic(root):
    from tonic.datasets import NTIDIGITS18

    theirs = NTIDIGITS18(str(root), train=True, single_digits=False)
    ours = ntidigits(root, train=True, single_digits=False)
    assert isinstance(ours, NTidigitsSequences)
    assert len(ours) == len(theirs) == 22 + 3
    table = LABEL_MAPS["tonic"]
    for i in range(len(ours)):
        ev_t, digits = theirs[i]
        ev_o, target = ours[i]
        np.testing.assert_array_equal(ev_o, ev_t)
        np.testing.assert_array_equal(target, [table[c] for c in digits])
    assert sum(len(t) > 1 for t in ours.targets) == 3
    with pytest.raises(ValueError, match="targets"):
        _ = ours.labels
    theirs.data.close()


def test_generated_layout(root):
    file, tonic_root = find_ntidigits_file(root)
    assert tonic_root == root
    with h5py.File(file, "r") as h5:
        assert h5.attrs["spikelab_synthetic"] == "ntidigits-like"
        speakers = {}
        for split in ("train", "test"):
            ids = [x.decode() for x in h5[f"{split}_labels"][()]]
            assert all(ID_RE.match(i) for i in ids), ids
            assert len(set(ids)) == len(ids)
            speakers[split] = {parse_sample_id(i)[1] for i in ids}
            for i in ids:
                assert h5[f"{split}_addresses"][i].dtype == np.uint8
                assert h5[f"{split}_timestamps"][i].dtype == np.float64
    assert speakers["train"].isdisjoint(speakers["test"])
    assert not list(root.rglob(".*"))  # no temporary file left


def test_events_and_labels(root):
    ds = ntidigits(root)
    assert ds.classes == list(NTIDIGITS_CLASSES["tonic"])
    np.testing.assert_array_equal(np.bincount(ds.labels, minlength=11), np.full(11, 2))
    counts = []
    for i in range(len(ds)):
        ev, label = ds[i]
        assert ev.dtype == AUDIO_EVENT_DTYPE
        assert np.all(np.diff(ev["t"]) >= 0)
        assert ev["x"].min() >= 0 and ev["x"].max() < 64
        assert np.all(ev["p"] == 1)
        assert ds.classes[label] == ds.paths[i].name[-1]
        counts.append(len(ev))
    assert min(counts) > 100
    # Subsets and direct file paths work too.
    sub = ds[3:6]
    np.testing.assert_array_equal(sub[0][0], ds[3][0])
    direct = ntidigits(find_ntidigits_file(root)[0])
    np.testing.assert_array_equal(direct[0][0], ds[0][0])


def test_generation_deterministic(tmp_path):
    a = generate_ntidigits_like(tmp_path / "a.hdf5", per_class=1, seed=7, progress=False)
    b = generate_ntidigits_like(tmp_path / "b.h5", per_class=1, seed=7, progress=False)
    c = generate_ntidigits_like(tmp_path / "c.hdf5", per_class=1, seed=8, progress=False)
    da, db, dc = (ntidigits(p, train=False) for p in (a, b, c))
    assert [p.name for p in da.paths] == [p.name for p in db.paths]
    for i in range(len(da)):
        np.testing.assert_array_equal(da[i][0], db[i][0])
    assert [p.name for p in da.paths] != [p.name for p in dc.paths]


def test_overwrite_only_our_own_files(tmp_path):
    path = generate_ntidigits_like(
        tmp_path / "s.hdf5", per_class=1, test_per_class=1, progress=False
    )
    with pytest.raises(FileExistsError, match="overwrite=True"):
        generate_ntidigits_like(path, per_class=1, progress=False)
    again = generate_ntidigits_like(
        path, per_class=1, test_per_class=1, seed=1, progress=False, overwrite=True
    )
    assert again == path and len(ntidigits(path)) == 11
    real = _write(tmp_path / "real.hdf5", _valid_groups())
    with pytest.raises(FileExistsError, match="not made by generate_ntidigits_like"):
        generate_ntidigits_like(real, per_class=1, progress=False, overwrite=True)
    assert ntidigits(real)[0][1] == 3


def test_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("cochlea exploded")

    monkeypatch.setattr(ntidigits_like, "cochlea_spike_times", boom)
    with pytest.raises(RuntimeError, match="exploded"):
        generate_ntidigits_like(tmp_path / "x.hdf5", per_class=1, progress=False)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- label maps


def test_label_maps():
    assert LABEL_MAPS["tonic"]["o"] == 0 and LABEL_MAPS["tonic"]["z"] == 10
    assert LABEL_MAPS["lin2025"]["z"] == 0 and LABEL_MAPS["lin2025"]["o"] == 10
    for d in "123456789":
        assert LABEL_MAPS["tonic"][d] == LABEL_MAPS["lin2025"][d] == int(d)
    y = np.arange(11)
    lin = convert_labels(y, "tonic", "lin2025")
    np.testing.assert_array_equal(convert_labels(lin, "lin2025", "tonic"), y)
    np.testing.assert_array_equal(convert_labels(y, "tonic", "tonic"), y)
    assert lin.dtype == np.int64 and lin[0] == 10 and lin[10] == 0
    for name, classes in NTIDIGITS_CLASSES.items():
        assert [LABEL_MAPS[name][c] for c in classes] == list(range(11))
    with pytest.raises(ValueError, match="label_map must be one of"):
        convert_labels(y, "tonic", "alphabetical")
    with pytest.raises(ValueError, match=r"\[0, 11\)"):
        convert_labels([11], "tonic", "lin2025")


def test_lin_label_map_on_dataset(root):
    tonic_ds = ntidigits(root, label_map="tonic")
    lin_ds = ntidigits(root, label_map="lin2025")
    np.testing.assert_array_equal(
        lin_ds.labels, convert_labels(tonic_ds.labels, "tonic", "lin2025")
    )
    assert lin_ds.classes[0] == "z" and lin_ds.classes[10] == "o"
    assert all(
        lin_ds.classes[y] == p.name[-1] for y, p in zip(lin_ds.labels, lin_ds.paths, strict=True)
    )


# ----------------------------------------------------------------------------- errors


def _write(path: Path, groups: dict) -> Path:
    with h5py.File(path, "w") as h5:
        for name, value in groups.items():
            if isinstance(value, dict):
                g = h5.create_group(name)
                for k, v in value.items():
                    g.create_dataset(k, data=v)
            else:
                h5.create_dataset(name, data=value)
    return path


def _valid_groups(n_addr: int = 3, n_time: int = 3) -> dict:
    return {
        "train_labels": np.array([b"man-aa-a-3"]),
        "train_addresses": {"man-aa-a-3": np.arange(n_addr, dtype=np.uint8)},
        "train_timestamps": {"man-aa-a-3": np.linspace(0.0, 0.1, n_time)},
    }


def test_minimal_handwritten_file(tmp_path):
    ds = ntidigits(_write(tmp_path / "ok.hdf5", _valid_groups()))
    ev, label = ds[0]
    assert label == 3 and list(ev["t"]) == [0, 50000, 100000] and list(ev["x"]) == [0, 1, 2]


def test_corrupt_files_raise_naming_the_file(tmp_path):
    junk = tmp_path / "junk.hdf5"
    junk.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(DatasetError, match="junk.hdf5.*not a readable HDF5"):
        ntidigits(junk)
    no_test = _write(tmp_path / "no_test.hdf5", _valid_groups())
    with pytest.raises(DatasetError, match=r"no_test.hdf5.*lacks \['test_labels'"):
        ntidigits(no_test, train=False)
    groups = _valid_groups()
    groups["train_labels"] = np.array([b"man-aa-a-3", b"man-aa-a-4"])
    with pytest.raises(DatasetError, match="man-aa-a-4"):
        ntidigits(_write(tmp_path / "missing_id.hdf5", groups))
    with pytest.raises(DatasetError, match="equal length"):
        ntidigits(_write(tmp_path / "ragged.hdf5", _valid_groups(3, 4)))
    bad = _valid_groups()
    bad["train_addresses"] = {"man-aa-a-3": np.array([0, 1, 70], dtype=np.uint8)}
    ds = ntidigits(_write(tmp_path / "bad_channel.hdf5", bad))
    with pytest.raises(DatasetError, match="bad_channel.hdf5.*outside 0..63"):
        ds[0]
    label = _valid_groups()
    label["train_labels"] = np.array([b"man-aa-a-x"])
    label["train_addresses"] = {"man-aa-a-x": np.arange(3)}
    label["train_timestamps"] = {"man-aa-a-x": np.arange(3.0)}
    with pytest.raises(DatasetError, match="man-aa-a-x"):
        ntidigits(_write(tmp_path / "bad_label.hdf5", label))


def test_missing_and_ambiguous_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="generate ntidigits-like"):
        ntidigits(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no HDF5 file"):
        ntidigits(tmp_path)
    _write(tmp_path / "a.hdf5", _valid_groups())
    _write(tmp_path / "b.h5", _valid_groups())
    with pytest.raises(FileNotFoundError, match="several HDF5 files"):
        ntidigits(tmp_path)
    with pytest.raises(ValueError, match="reader='tonic' needs"):
        ntidigits(tmp_path / "a.hdf5", reader="tonic")
    with pytest.raises(ValueError, match="label_map"):
        ntidigits(tmp_path / "a.hdf5", label_map="digits")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=2048))
def test_arbitrary_bytes_raise_dataset_error(tmp_path, raw):
    path = tmp_path / "fuzz.hdf5"
    path.write_bytes(raw)
    with pytest.raises(DatasetError, match="fuzz.hdf5"):
        ntidigits(path)


# -------------------------------------------------------------------------- synthesis


def test_synthesis_deterministic_and_varied():
    spk = random_speaker(np.random.default_rng(0), "ab", "woman")
    a = synthesize_digits("7", spk, np.random.default_rng(1))
    b = synthesize_digits("7", spk, np.random.default_rng(1))
    c = synthesize_digits("7", spk, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float64 and np.all(np.isfinite(a))
    assert 0.3 < a.size / 20000 < 2.0 and 0.05 < np.abs(a).max() < 1.0
    assert not np.array_equal(a, c)
    man = random_speaker(np.random.default_rng(0), "cd", "man")
    assert man.f0_hz < 160 < spk.f0_hz
    seq = synthesize_digits("3o9", man, np.random.default_rng(1))
    assert seq.size > synthesize_digits("3", man, np.random.default_rng(1)).size
    with pytest.raises(ValueError, match="digits must be"):
        synthesize_digits("10", man, np.random.default_rng(0))
    with pytest.raises(ValueError, match="gender"):
        random_speaker(np.random.default_rng(0), "ef", "child")
    assert set(DIGIT_WORDS) == set("oz123456789")


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_espeak_synthesis():
    spk = random_speaker(np.random.default_rng(0), "ab", "man")
    x = synthesize_digits("5", spk, np.random.default_rng(1), synthesizer="espeak")
    assert 0.2 < x.size / 20000 < 3.0 and np.all(np.isfinite(x))

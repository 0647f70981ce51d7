"""tonic's conventions: loaders take transform= / target_transform=, EventEncoding and FEAST
are tonic transforms, configs take a [[transforms]] list, and the full sets can be fetched
through tonic (mocked here at tonic's own download function: no network in tests) into a
one-file disk cache. Data: generated N-MNIST-like and N-TIDIGITS-like files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tonic
import tonic.transforms as T

from spikelab.config import ClassifyConfig, ConfigError, DatasetConfig, load_config, set_value
from spikelab.datasets import (
    EventDataset,
    generate_nmnist_like,
    generate_ntidigits_like,
    nmnist,
    ntidigits,
)
from spikelab.datasets.download import disk_cached
from spikelab.datasets.transforms import build_transforms
from spikelab.encoding import EventEncoding
from spikelab.features import FEAST
from spikelab.spikes import SpikeBatch
from spikelab.tasks.classify import run_classify
from spikelab.tasks.stages import load_split

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nmnist_lsm.toml"
DENOISE = T.Denoise(filter_time=3000)


@pytest.fixture(scope="module")
def nmnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tonic") / "nmnist-like"
    return generate_nmnist_like(root, per_class=2, test_per_class=1, seed=0, progress=False)


@pytest.fixture(scope="module")
def ntidigits_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tonic") / "ntidigits-like.hdf5"
    return generate_ntidigits_like(out, per_class=1, test_per_class=1, seed=0, progress=False)


def same_batch(a: SpikeBatch, b: SpikeBatch) -> None:
    assert (a.n_steps, a.n_channels) == (b.n_steps, b.n_channels)
    for name in ("offsets", "steps", "channels", "values"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


# ---- loaders -----------------------------------------------------------------------------------
def test_nmnist_applies_transform_and_target_transform_per_sample(nmnist_root: Path):
    raw = nmnist(nmnist_root)
    ds = nmnist(nmnist_root, transform=DENOISE, target_transform=lambda y: y + 100)
    events, label = ds[5]
    np.testing.assert_array_equal(events, DENOISE(raw[5][0]))
    assert len(events) < len(raw[5][0])  # the transform ran: Denoise removed events
    assert label == raw[5][1] + 100
    np.testing.assert_array_equal(ds.labels, raw.labels)  # splits use the raw labels
    sub = ds.subset([5])  # a subset keeps the transforms
    assert sub[0][1] == label and len(sub[0][0]) == len(events)
    with pytest.raises(TypeError, match="transform must be a callable"):
        nmnist(nmnist_root, transform="Denoise")


def test_ntidigits_applies_transform_and_target_transform(ntidigits_file: Path):
    drop_late = T.CropTime(max=200_000)  # µs
    raw = ntidigits(ntidigits_file)
    ds = ntidigits(ntidigits_file, transform=drop_late, target_transform=str)
    events, label = ds[0]
    np.testing.assert_array_equal(events, drop_late(raw[0][0]))
    assert label == str(raw[0][1])
    seqs = ntidigits(ntidigits_file, single_digits=False, target_transform=len)
    assert seqs[0][1] == len(ntidigits(ntidigits_file, single_digits=False)[0][1])


# ---- EventEncoding and FEAST inside tonic.transforms.Compose ------------------------------------
def test_compose_denoise_then_event_encoding(nmnist_root: Path):
    raw = nmnist(nmnist_root)
    enc = EventEncoding(sensor_size=(34, 34, 2), dt=1.0, duration=300.0)
    pipeline = T.Compose([DENOISE, enc])
    one = pipeline(raw[0][0])
    assert isinstance(one, SpikeBatch) and len(one) == 1
    ds = nmnist(nmnist_root, transform=pipeline)  # as a tonic user writes it
    batch = SpikeBatch.concatenate([ds[i][0] for i in range(4)])
    same_batch(batch, enc.encode([DENOISE(raw[i][0]) for i in range(4)]))
    same_batch(enc([raw[0][0], raw[1][0]]), enc.encode([raw[0][0], raw[1][0]]))
    with pytest.raises(TypeError, match="one structured event array"):
        enc(np.zeros((3, 4)))


def test_compose_with_a_fitted_feast(nmnist_root: Path):
    raw = nmnist(nmnist_root)
    feast = FEAST(n_neurons=4, radius=1, tau=5_000.0)
    feast.fit([raw[i][0] for i in range(3)], sensor_size=(34, 34, 2))
    enc = EventEncoding(sensor_size=(34, 34, 4), dt=1.0, duration=300.0)
    out = T.Compose([DENOISE, feast, enc])(raw[4][0])
    same_batch(out, enc.encode([feast.transform(DENOISE(raw[4][0]))]))


# ---- [[transforms]] ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "Denoize", "filter_time": 1}], r"transforms\[0\]: name 'Denoize'.*'Denoise'"),
        ([{"name": "Denoise", "filter_tim": 1}], r"no parameter 'filter_tim'; did you mean"),
        ([{"name": "Denoise"}], r"\(Denoise\).*filter_time"),
        ([{"name": "DropEvent", "p": 1.5}], r"transforms\[0\] \(DropEvent\): p = 1.5 is out"),
        ([{"name": "DropEvent", "p": [0.1, 2]}], r"p = \(0.1, 2\) is out of range"),
        ([{"name": "ToFrame", "n_time_bins": 3}], "a tonic representation"),
        ([{"name": "Downsample"}], "set encoding.downsample"),
        ([{"filter_time": 1}], r"transforms\[0\] must be a table with a name"),
        ({"name": "Denoise"}, "must be a list of tables"),
    ],
)
def test_bad_transform_entries_are_named(entries, message):
    with pytest.raises(ValueError, match=message):
        build_transforms(entries)


def test_a_transform_that_cannot_handle_the_events_fails_before_loading():
    with pytest.raises(ValueError, match=r"transforms\[0\] \(Denoise\) fails on .*'t', 'x', 'p'"):
        build_transforms([{"name": "Denoise", "filter_time": 1000}], dataset="ntidigits")


def test_random_transforms_same_seed_same_result_global_state_untouched(nmnist_root: Path):
    events = nmnist(nmnist_root)[0][0]
    entries = [{"name": "DropEvent", "p": 0.3}, {"name": "TimeJitter", "std": 10.0}]
    np.random.seed(123)  # noqa: NPY002 - the caller's global state must survive
    before = np.random.random(3)  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    a = build_transforms(entries, seed=1)(events)
    after = np.random.random(3)  # noqa: NPY002
    np.testing.assert_array_equal(before, after)
    b = build_transforms(entries, seed=1)(events)
    c = build_transforms(entries, seed=2)(events)
    np.testing.assert_array_equal(a, b)
    assert 0.5 * len(events) < len(a) < 0.9 * len(events)
    assert len(a) != len(c) or not np.array_equal(a, c)


def small_config(root: Path, out: Path, transforms: list[dict] | None) -> dict:
    cfg = load_config(EXAMPLE)
    values = {
        "dataset.root": str(root),
        "reservoir.n_neurons": 27,
        "encoding.duration": 300.0,
        "record.bin_steps": 100,
        "baseline.n_time_bins": 0,
        "output.plots": False,
        "output.save_states": False,
        "output.dir": str(out),
    }
    for key, value in values.items():
        set_value(cfg, key, value)
    if transforms is not None:
        cfg["transforms"] = transforms
    return cfg


def test_config_transforms_are_checked_before_any_data(tmp_path: Path):
    cfg = small_config(tmp_path / "absent", tmp_path / "out", [{"name": "DropEvent", "p": 2}])
    with pytest.raises(ConfigError, match=r"transforms\[0\] \(DropEvent\): p = 2 is out of range"):
        ClassifyConfig.from_dict(cfg)


def test_a_transforms_config_runs_and_transforms_before_encoding(nmnist_root: Path, tmp_path):
    transforms = [
        {"name": "Denoise", "filter_time": 3000},
        {"name": "RefractoryPeriod", "delta": 1000},
        {"name": "DropEvent", "p": 0.2},
    ]
    cfg = small_config(nmnist_root, tmp_path / "run", transforms)
    out = run_classify(cfg, progress=False)
    metrics = json.loads((out / "metrics.json").read_text())
    typed = ClassifyConfig.from_dict(cfg)
    split = load_split(typed.dataset, typed.seed, None, typed.event_transform())
    seen = sum(len(e) for e in (*split.train_events, *split.test_events))
    raw = load_split(typed.dataset, typed.seed)
    assert metrics["encoding_events"]["events"] == seen  # what was encoded: the transformed
    assert seen < 0.8 * sum(len(e) for e in (*raw.train_events, *raw.test_events))
    again = load_split(typed.dataset, typed.seed, None, typed.event_transform())
    for x, y in zip(split.train_events, again.train_events, strict=True):
        np.testing.assert_array_equal(x, y)  # DropEvent: the same seed, the same events
    assert "DropEvent" in (out / "config.toml").read_text()


# ---- the disk cache and the download ----------------------------------------------------------
def test_disk_cache_reads_every_file_once(nmnist_root: Path, tmp_path: Path):
    base = nmnist(nmnist_root)
    reads: list[Path] = []

    def reader(path: Path) -> np.ndarray:
        reads.append(path)
        return base.reader(path)

    ds = EventDataset(
        paths=base.paths, reader=reader, labels=base.labels,
        sensor_size=base.sensor_size, classes=base.classes, transform=DENOISE,
    )  # fmt: skip
    file = tmp_path / "cache" / "nmnist-train.h5"
    first = disk_cached(ds, file, progress=False)
    assert len(reads) == len(ds)
    second = disk_cached(ds, file, progress=False)
    events = [second[i] for i in range(len(second))]
    assert len(reads) == len(ds)  # the second run read the cache file only
    for i, (ev, label) in enumerate(events):
        np.testing.assert_array_equal(ev, DENOISE(base[i][0]))  # transform after the cache
        assert ev.dtype == base[i][0].dtype and label == base[i][1] == first[i][1]
    disk_cached(ds.subset([0, 1]), file, progress=False)  # another sample list: rebuilt
    assert len(reads) == len(ds) + 2


def _fake_nmnist_download(calls: list[str]):
    """tonic's download_and_extract_archive, writing a generated split as the zip tonic
    expects (Train/ or Test/ inside) and extracting it with tonic's own extractor."""
    from tonic.download_utils import extract_archive

    def fake(url: str, download_root: str, filename: str, md5: str) -> None:
        calls.append(url)
        folder = "Train" if filename == "train.zip" else "Test"
        src = generate_nmnist_like(
            Path(download_root).parent / "generated", per_class=2, test_per_class=1,
            seed=0, progress=False, overwrite=True,
        )  # fmt: skip
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for f in sorted((src / folder).rglob("*.bin")):
                z.write(f, f.relative_to(src).as_posix())
        Path(download_root).mkdir(parents=True, exist_ok=True)
        (Path(download_root) / filename).write_bytes(buf.getvalue())
        extract_archive(str(Path(download_root) / filename), download_root)

    return fake


def test_nmnist_download_through_tonic_mocked(tmp_path: Path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive", _fake_nmnist_download(calls))
    assert DatasetConfig().download is False  # never the default
    dataset = DatasetConfig(name="nmnist", root=str(tmp_path / "data"), download=True)
    split = load_split(dataset, 0)
    assert calls == [tonic.datasets.NMNIST.train_url, tonic.datasets.NMNIST.test_url]
    assert (len(split.train_events), len(split.test_events)) == (20, 10)  # tonic's Test/ used
    assert (tmp_path / "data" / "spikelab-cache" / "nmnist-train.h5").is_file()


def test_ntidigits_download_through_tonic_mocked(ntidigits_file: Path, tmp_path, monkeypatch):
    import tonic.datasets.ntidigits18 as tonic_ntidigits

    payload = ntidigits_file.read_bytes()

    class Response:
        status_code = 200
        headers = {"Content-Length": str(len(payload))}

        def iter_content(self, chunk_size: int):
            for i in range(0, len(payload), chunk_size):
                yield payload[i : i + chunk_size]

    urls: list[str] = []
    monkeypatch.setattr(
        tonic_ntidigits.requests, "get", lambda url, stream: urls.append(url) or Response()
    )
    dataset = DatasetConfig(name="ntidigits", root=str(tmp_path / "data"), download=True)
    split = load_split(dataset, 0)
    assert urls == [tonic.datasets.NTIDIGITS18.base_url]  # the test split: already there
    assert (tmp_path / "data" / "NTIDIGITS18" / "n-tidigits.hdf5").read_bytes() == payload
    want = ntidigits(ntidigits_file)
    assert len(split.train_events) == len(want)
    np.testing.assert_array_equal(split.train_events[0], want[0][0])

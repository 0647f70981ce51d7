"""Saved readouts (HDF5, no pickle) predict exactly as the readouts they were saved from."""

import h5py
import numpy as np
import pytest

from spikelab.readout import LinearReadout, OnlineReadout, load_readout, save_readout
from spikelab.readout.io import readout_arrays


def counts(n=120, seed=0, n_classes=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    x = rng.poisson(2.0, (n, 3, 20)).astype(float)
    x[np.arange(n), 0, y * 5] += 6.0
    return x, y


READOUTS = [
    LinearReadout(kind="ridge", alpha=[0.1, 10.0, 1000.0]),
    LinearReadout(kind="ridge", alpha=3.0, log1p=False, standardize=False),
    LinearReadout(kind="logistic", C=0.5),
    OnlineReadout(rule="three_factor", epochs=3, seed=1),
    OnlineReadout(rule="hebbian", log1p=False),
    OnlineReadout(rule="force", standardize=False),
]


@pytest.mark.parametrize("readout", READOUTS, ids=lambda r: repr(r))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_loaded_readout_predicts_identically(tmp_path, readout, n_classes):
    x, y = counts(n_classes=n_classes)
    xt, _ = counts(60, seed=5, n_classes=n_classes)
    r = readout.fit(x[:90], y[:90])
    path = save_readout(r, tmp_path / "sub" / "readout.h5")
    loaded = load_readout(path)
    assert type(loaded) is type(r) and loaded.get_params() == r.get_params()
    assert np.array_equal(loaded.classes_, r.classes_)
    assert np.array_equal(loaded.predict(xt), r.predict(xt))
    assert np.array_equal(loaded.decision_function(xt), r.decision_function(xt))
    assert len(set(r.predict(xt).tolist())) > 1  # a readout that learned something
    if isinstance(r, LinearReadout):
        assert loaded.alpha_ == r.alpha_
    else:
        assert loaded.history_ == r.history_
    again = save_readout(loaded, tmp_path / "again.h5")  # a loaded readout saves again
    assert np.array_equal(load_readout(again).decision_function(xt), r.decision_function(xt))
    assert not list(tmp_path.glob("**/.*tmp"))  # no temporary file left


def test_string_classes_alpha_and_preprocessing_are_saved(tmp_path):
    x, y = counts()
    names = np.array(["zero", "one", "two"])[y]
    r = LinearReadout(alpha=[1.0, 100.0]).fit(x, names)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        save_readout(r, f.create_group("readout"))
    with h5py.File(tmp_path / "f.h5", "r") as f:
        g = f["readout"]
        assert g.attrs["format"] == "spikelab.readout" and g.attrs["format_version"] == 1
        assert np.array_equal(g["mean"][()], r.pipeline_.named_steps["scale"].mean_)
        loaded = load_readout(g)
    assert np.array_equal(loaded.predict(x), r.predict(x))
    assert loaded.predict(x).dtype.kind == "U"
    state = readout_arrays(r)  # numpy only: log1p, standardise, linear map
    z = (np.log1p(x.reshape(len(x), -1)) - state["mean"]) / state["scale"]
    assert np.array_equal(z @ state["coef"].T + state["intercept"], r.decision_function(x))


def test_online_readout_continues_after_loading(tmp_path):
    x, y = counts()
    r = OnlineReadout(rule="force", seed=0).fit(x[:60], y[:60])
    loaded = load_readout(save_readout(r, tmp_path / "r.h5"))
    assert np.array_equal(loaded.rule_.P, r.rule_.P)
    loaded.partial_fit(x[60:], y[60:])
    # learning continues from the saved weights and P, not from zero (the presentation
    # order differs: the loaded readout draws it again from its seed)
    assert loaded.rule_.n_updates == r.rule_.n_updates + 60
    assert loaded.score(x, y) > 0.8


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="fitted"):
        save_readout(LinearReadout(), tmp_path / "r.h5")
    with pytest.raises(TypeError, match="LinearReadout and OnlineReadout"):
        save_readout(object(), tmp_path / "r.h5")
    with pytest.raises(FileNotFoundError, match="no readout file"):
        load_readout(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not an HDF5 readout"):
        load_readout(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "spikelab.results"
    with pytest.raises(ValueError, match="not a spikelab readout"):
        load_readout(tmp_path / "other.h5")
    x, y = counts()
    path = save_readout(LinearReadout().fit(x, y), tmp_path / "r.h5")
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ValueError, match="format_version 99"):
        load_readout(path)

"""Readouts and the reservoir transformer follow scikit-learn's estimator contract."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import spikelab as sl
from spikelab.readout import LinearReadout
from spikelab.transformer import LSMTransformer


def separable(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.poisson(2.0, (n, 2, 30)).astype(float)
    x[np.arange(n), 0, y * 10] += 8.0  # class-specific feature
    return x, y


@pytest.mark.parametrize("kind", ["ridge", "logistic"])
def test_readout_learns_and_follows_contract(kind):
    x, y = separable()
    r = LinearReadout(kind=kind)
    assert r.fit(x[:90], y[:90]) is r
    assert r.score(x[90:], y[90:]) > 0.9
    assert set(r.classes_) == {0, 1, 2} and r.n_features_in_ == 60
    assert clone(r).get_params() == r.get_params()


def test_alpha_list_is_chosen_on_training_data_only():
    x, y = separable()
    r = LinearReadout(alpha=[0.1, 10.0, 1000.0]).fit(x[:90], y[:90])
    assert r.alpha_ in (0.1, 10.0, 1000.0)


def test_readout_errors():
    x, y = separable()
    with pytest.raises(NotFittedError, match="not fitted"):
        LinearReadout().predict(x)
    with pytest.raises(ValueError, match="kind must be"):
        LinearReadout(kind="svm").fit(x, y)
    with pytest.raises(ValueError, match="labels"):
        LinearReadout().fit(x, y[:5])
    r = LinearReadout().fit(x, y)
    with pytest.raises(ValueError, match="expected 60 features"):
        r.predict(x[:, :1])
    with pytest.raises(ValueError, match="log1p needs features > -1"):
        LinearReadout().fit(x - 5, y)  # would be NaN inside scikit-learn
    bad = x.copy()
    bad[1, 1, 1] = np.inf
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        r.predict(bad)
    assert LinearReadout(log1p=False).fit(x - 5, y).score(x - 5, y) > 0.9


def test_lsm_transformer_in_pipeline_and_grid_search():
    rng = np.random.default_rng(1)
    n, steps, ch = 60, 40, 8
    y = np.repeat([0, 1], n // 2)
    dense = (rng.random((n, steps, ch)) < 0.05).astype(np.float32)
    dense[y == 1, :, :4] += rng.random((n // 2, steps, 4)) < 0.3  # class 1: channels 0-3 busy
    batch = sl.SpikeBatch.from_dense(dense)
    net = sl.reservoirs.lsm_column(
        (4, 4, 4),
        n_inputs=ch,
        seed=0,
        input_fraction=1.0,
        input_fan_in=4,
        input_weight=60.0,
        bias_range=(0.0, 0.0),
        weight_scale=0.2,
    )
    pipe = Pipeline([("lsm", LSMTransformer(net, bin_steps=20)), ("readout", LinearReadout())])
    idx = rng.permutation(n)
    tr, te = idx[:40], idx[40:]
    pipe.fit(batch.subset(tr), y[tr])
    assert pipe.score(batch.subset(te), y[te]) > 0.8
    search = GridSearchCV(pipe, {"readout__alpha": [1.0, 100.0]}, cv=2).fit(batch.subset(tr), y[tr])
    assert search.best_params_["readout__alpha"] in (1.0, 100.0)


def test_transformer_needs_encoding_for_events():
    net = sl.reservoirs.lin2025_lsm(n_inputs=4, n_neurons=5)
    with pytest.raises(ValueError, match="no encoding"):
        LSMTransformer(net).fit().transform([np.zeros(2)])

"""scikit-learn's estimator checks for LinearReadout, OnlineReadout, LSMTransformer and FEAST.

Every check runs. A check that does not apply is listed with its reason in
``expected_failed_checks`` (scikit-learn's mechanism: it is run and marked xfail; with
``xfail_strict=True`` a listed check that starts passing fails the suite, so the list stays
true). FEAST takes structured event arrays, not a [samples, features] matrix, so the
checks that feed it a matrix are listed; its contract is tested on events below instead.
"""

from __future__ import annotations

import functools
import pickle

import numpy as np
import pytest

# scikit-learn 1.8 (xfail_strict, expected_failed_checks with a Collection for pytest) needs
# Python >= 3.11: .venv-lava (Python 3.10) has 1.7, and the checks run in .venv.
pytest.importorskip("sklearn", minversion="1.8", reason="scikit-learn >= 1.8 runs in .venv")

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

import spikelab as sl
from spikelab.datasets import EVENT_DTYPE
from spikelab.features import FEAST
from spikelab.readout import LinearReadout, OnlineReadout
from spikelab.transformer import LSMTransformer


@functools.cache
def _tiny_reservoir(n_inputs: int) -> sl.Network:
    return sl.reservoirs.lsm_column((2, 2, 2), n_inputs=n_inputs, seed=0, input_fraction=1.0)


class TinyReservoir:
    """A reservoir of 8 LIF neurons for ``n_inputs`` channels (cached: the checks refit
    often, and the same arguments give the same network). A class with a fixed repr: the
    test ids hold the estimator's repr, and pytest-xdist needs them equal in every worker
    (a function's repr holds its address)."""

    def __call__(self, n_inputs: int) -> sl.Network:
        return _tiny_reservoir(n_inputs)

    def __repr__(self) -> str:
        return "TinyReservoir()"


tiny_reservoir = TinyReservoir()


_MATRIX = (
    "FEAST learns from structured event arrays (fields x, y, t, p: tonic's layout), one per "
    "sample; a [samples, features] matrix is not events and is refused with a TypeError "
    "naming the fields"
)
FEAST_NOT_APPLICABLE = {
    name: _MATRIX
    for name in (
        "check_complex_data",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimators_dtypes",
        "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit1d",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_readonly_memmap_input",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
    )
}
FEAST_NOT_APPLICABLE |= {
    "check_estimators_empty_data_messages": _MATRIX
    + " (an empty list of samples is a ValueError; a sample with no events is valid)",
    "check_estimators_nan_inf": _MATRIX + " (event coordinates are checked against the sensor)",
    "check_positive_only_tag_during_fit": _MATRIX
    + " (negative coordinates are an error naming the sensor; it has no positive-only tag)",
}


def expected_failed_checks(estimator) -> dict[str, str]:
    if isinstance(estimator, FEAST):
        return FEAST_NOT_APPLICABLE
    if isinstance(estimator, LinearReadout) and estimator.kind == "ridge":
        return {
            "check_non_transformer_estimators_n_iter": (
                "kind='ridge' is solved in closed form: there are no iterations (n_iter_); "
                "max_iter applies to kind='logistic', which sets n_iter_"
            )
        }
    return {}


ESTIMATORS = [
    LinearReadout(),
    LinearReadout(kind="logistic", log1p=False, max_iter=200),
    OnlineReadout(epochs=2),
    LSMTransformer(tiny_reservoir),
    FEAST(n_neurons=4, radius=1),
]


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_positive_only_tag_follows_log1p():
    for cls in (LinearReadout, OnlineReadout):
        assert get_tags(cls()).input_tags.positive_only
        assert not get_tags(cls(log1p=False)).input_tags.positive_only


def test_lsm_transformer_before_fit_is_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        LSMTransformer(tiny_reservoir(3)).transform(np.ones((2, 3)))


def test_lsm_transformer_network_and_builder_agree():
    x = np.random.default_rng(0).random((4, 5, 3)) * 50
    by_net = LSMTransformer(tiny_reservoir(3)).fit(x).transform(x)
    by_builder = LSMTransformer(tiny_reservoir).fit(x).transform(x)
    np.testing.assert_array_equal(by_net, by_builder)
    with pytest.raises(ValueError, match="X has 3 channels, but the network has 2 inputs"):
        LSMTransformer(tiny_reservoir(2)).fit().transform(x)


def _events(seed: int, n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, EVENT_DTYPE)
    ev["x"], ev["y"] = rng.integers(0, 10, n), rng.integers(0, 10, n)
    ev["t"] = np.sort(rng.integers(0, 100_000, n))
    ev["p"] = rng.integers(0, 2, n)
    return ev


def test_feast_contract_on_events():
    """What the listed checks test, on the input FEAST takes: clone, fit returns self,
    not fitted before fit, sparse refused by name, pickle and refit give the same output."""
    samples = [_events(i) for i in range(4)]
    model = FEAST(n_neurons=4, radius=1, tau=5_000.0)
    with pytest.raises(NotFittedError):
        model.transform(samples[0])
    assert model.fit(samples, sensor_size=(10, 10, 2)) is model
    out = model.transform(samples)
    again = clone(model).fit(samples, sensor_size=(10, 10, 2)).transform(samples)
    restored = pickle.loads(pickle.dumps(model)).transform(samples)
    for a, b, c in zip(out, again, restored, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    from scipy.sparse import csr_matrix

    with pytest.raises(TypeError, match="sparse input is not supported"):
        model.fit(csr_matrix(np.ones((3, 4))))

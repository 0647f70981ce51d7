"""The numba reference still reproduces the checked-in golden traces."""

from __future__ import annotations

import numpy as np
import pytest

from .cases import GOLDEN_CASES, load_golden


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_numba_reproduces_golden(name: str) -> None:
    case = GOLDEN_CASES[name]()
    golden = load_golden(name)
    rec = case.net.compile("numba", dt=case.dt, record=case.record, dtype="float64").run(case.batch)
    np.testing.assert_array_equal(rec.counts, golden.counts)
    assert np.array_equal(rec.raster.dense(0), golden.raster.dense(0))
    # Same arithmetic on every IEEE machine; a tiny tolerance allows another libm's exp().
    np.testing.assert_allclose(rec.voltage, golden.voltage, rtol=0, atol=1e-10)
    assert rec.voltage_neurons == golden.voltage_neurons
    assert rec.populations == golden.populations
    assert "numba backend float64" in golden.extras["provenance"]

"""The checked-in golden traces (tests/golden/*.npz, made by the numba reference) on every
backend: Izhikevich firing patterns and LIF impulse responses, voltage and spikes."""

from __future__ import annotations

import numpy as np
import pytest
from golden.cases import GOLDEN_CASES, load_golden

from .compare import Config, assert_neuron_counts_close

# Float64 backends may sum inputs in another order: allow a few ulp of a ~100 mV trace.
VOLTAGE_ATOL_EXACT = 1e-9


@pytest.mark.parametrize("case_name", sorted(GOLDEN_CASES))
def test_golden_trace(config: Config, case_name: str) -> None:
    case = GOLDEN_CASES[case_name]()
    golden = load_golden(case_name)
    out = config.compile(case.net, dt=case.dt, record=case.record).run(case.batch)
    label = f"{config.id} on golden {case_name}"
    assert out.voltage is not None, f"{label}: no voltage recorded"
    assert out.voltage.shape == golden.voltage.shape, label
    if config.exact:
        np.testing.assert_array_equal(out.counts, golden.counts, err_msg=label)
        for b in range(len(case.batch)):
            assert np.array_equal(out.raster.dense(b), golden.raster.dense(b)), label
        np.testing.assert_allclose(
            out.voltage, golden.voltage, rtol=0, atol=VOLTAGE_ATOL_EXACT, err_msg=label
        )
    else:  # an inexact backend may shift spikes of these sensitive single neurons
        assert_neuron_counts_close(golden, out, config.rate_tolerance, label)

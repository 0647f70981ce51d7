"""Chaotic reservoirs (the LSM and Izhikevich presets, random input): identical rasters over
the first 100 steps (exact backends) and per-population rates within 5 % over 1,000 steps."""

from __future__ import annotations

import pytest

from spikelab import RecordSpec

from .compare import (
    Config,
    assert_correlated,
    assert_identical_rasters,
    assert_rates_close,
    reference,
)
from .networks import CHAOTIC

RECORD = RecordSpec(bin_steps=100, raster=True)
EXACT_STEPS = 100


@pytest.mark.parametrize("case_name", sorted(CHAOTIC))
def test_chaotic_reservoir(config: Config, case_name: str) -> None:
    case = CHAOTIC[case_name]()
    assert case.batch.n_steps >= 1000
    ref = reference(case.net, case.batch, case.dt, RECORD)
    out = config.compile(case.net, dt=case.dt, record=RECORD).run(case.batch)
    label = f"{config.id} on {case_name}"
    if config.exact:
        assert_identical_rasters(ref, out, label, n_steps=EXACT_STEPS)
    assert_rates_close(ref, out, config.rate_tolerance, label)
    assert_correlated(ref, out, label)

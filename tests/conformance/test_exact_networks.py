"""Float64, non-chaotic networks: identical spike rasters over 1,000 steps (exact backends),
rates within tolerance otherwise. One test per feature of docs/semantics.md."""

from __future__ import annotations

import pytest

from spikelab import RecordSpec

from .compare import Config, assert_conforms, reference
from .networks import NON_CHAOTIC

RECORD = RecordSpec(bin_steps=100, raster=True)


@pytest.mark.parametrize("case_name", sorted(NON_CHAOTIC))
def test_non_chaotic_network(config: Config, case_name: str) -> None:
    case = NON_CHAOTIC[case_name]()
    assert case.batch.n_steps >= 1000
    ref = reference(case.net, case.batch, case.dt, RECORD)
    assert ref.n_spikes > 0, f"{case_name}: the reference is silent, the case tests nothing"
    out = config.compile(case.net, dt=case.dt, record=RECORD).run(case.batch)
    assert_conforms(config, ref, out, f"{config.id} on {case_name}")

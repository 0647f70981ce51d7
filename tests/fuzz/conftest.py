"""Hypothesis profiles of the fuzzers (tests/fuzz/common.py picks one).

``make test`` uses the "ci" profile: derandomized (a fixed seed, the same examples every
run), no example database, a small ``max_examples`` per fuzzer. ``make fuzz`` sets
``SPIKELAB_FUZZ_EXAMPLES`` and with it the "fuzz" profile: random seeds and that many
examples per base example (see ``fuzz_settings``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

# no shrinking in make test: a failure is reported as generated, at once (shrinking a
# damaged file can take minutes); make fuzz shrinks (its failures are read by a person)
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=_QUIET,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
settings.register_profile(
    "fuzz",
    derandomize=False,
    database=None,
    deadline=None,
    suppress_health_check=_QUIET,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
)

"""What every fuzzer shares: its settings and the test of "our error".

A reader given bad input must either return valid data or raise one of *our* errors: an
exception of an allowed type (``ValueError`` and its subclasses such as ``DatasetError``,
``TypeError``, ``FileNotFoundError``, ``UnsupportedFeature``) raised by spikelab's own code.
An allowed type raised inside numpy, scipy, h5py, tonic, nir or numba (a traceback ending
there) is a foreign error and fails the test, as does any other type (IndexError,
KeyError, OverflowError, OSError, ...), which simply propagates.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import settings

import spikelab

SPIKELAB_DIR = Path(spikelab.__file__).resolve().parent
#: examples per base example in ``make fuzz`` (unset: the deterministic "ci" profile)
FUZZ_SCALE = int(os.environ.get("SPIKELAB_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(max_examples: int) -> settings:
    """``max_examples`` deterministic examples in ``make test``; ``max_examples *
    SPIKELAB_FUZZ_EXAMPLES`` random ones under ``make fuzz``."""
    if FUZZ_SCALE > 0:
        return settings(settings.get_profile("fuzz"), max_examples=max_examples * FUZZ_SCALE)
    return settings(settings.get_profile("ci"), max_examples=max_examples)


def raised_in(exc: BaseException) -> Path:
    """The file of the innermost frame of ``exc``'s traceback (where it was raised)."""
    tb = exc.__traceback__
    assert tb is not None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve()


def check_ours(exc: BaseException, name: str | None = None) -> None:
    """Fail unless ``exc`` was raised by spikelab's code (and names ``name`` when given)."""
    where = raised_in(exc)
    assert SPIKELAB_DIR in where.parents, (
        f"foreign {type(exc).__name__} raised in {where}, not wrapped into spikelab's error: {exc}"
    )
    assert str(exc).strip(), f"{type(exc).__name__} without a message"
    if name is not None:
        assert name in str(exc), f"the error does not name {name!r}: {exc}"

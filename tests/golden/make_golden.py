"""Regenerate the golden traces of tests/golden/*.npz from the numba reference.

Provenance: every file is the numba backend's float64 run (spikelab/backends/_kernels.py, the
reference implementation of docs/semantics.md) of a case in ``cases.py``; the versions of
spikelab, numba and numpy used are stored in the file's ``provenance`` field. Regenerate only
when the semantics change on purpose (and say so in the commit), never to make a failing
backend pass:

    .venv/bin/python tests/golden/make_golden.py
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make tests/ importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba
import numpy as np

import spikelab
from golden.cases import GOLDEN_CASES, save_golden


def main() -> None:
    stamp = datetime.date.today().isoformat()
    for name, make in GOLDEN_CASES.items():
        case = make()
        rec = case.net.compile("numba", dt=case.dt, record=case.record, dtype="float64").run(
            case.batch
        )
        provenance = (
            f"numba backend float64, spikelab {spikelab.__version__}, numba {numba.__version__}, "
            f"numpy {np.__version__}, generated {stamp} by tests/golden/make_golden.py"
        )
        path = save_golden(name, rec, provenance)
        print(f"{path.name}: {rec.n_spikes} spikes, voltage {rec.voltage.shape}")


if __name__ == "__main__":
    main()

"""Subprocess of the network-run fuzzer: load, compile on numba and run each network file
named on the command line for a few steps; print one JSON line per file.

Every Python exception is caught and reported (type and the file it was raised in), so
the process ends with code 0 unless it dies from a signal (a memory-safety bug)."""

from __future__ import annotations

import json
import sys
import traceback

import numpy as np

from spikelab import Network, RecordSpec, SpikeBatch


def run(path: str) -> dict:
    net = Network.load(path)
    n_in = sum(p.size for p in net.inputs)
    rng = np.random.default_rng(0)
    dense = (rng.random((2, 30, n_in)) < 0.3) * 25.0
    dt = net.dt if net.dt is not None else 1.0
    sim = net.compile("numba", dt=dt, record=RecordSpec(bin_steps=10))
    rec = sim.run(SpikeBatch.from_dense(dense, dt=dt))
    return {"file": path, "ok": True, "spikes": int(rec.counts.sum())}


def main(paths: list[str]) -> None:
    for path in paths:
        try:
            out = run(path)
        except Exception as exc:  # noqa: BLE001 - reported to the test, which judges it
            where = traceback.extract_tb(exc.__traceback__)[-1].filename
            allowed = isinstance(exc, ValueError | TypeError | NotImplementedError)
            out = {"file": path, "ok": False, "type": type(exc).__name__, "where": where,
                   "allowed": allowed, "message": str(exc)[:300]}  # fmt: skip
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

"""A multi-host set-up on this machine, as a user starts one on several hosts: a
``dask scheduler`` process and two ``dask worker tcp://127.0.0.1:PORT`` processes, a sweep
submitted with ``spikelab sweep --scheduler``; all stopped by their PIDs at the end."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spikelab.cli import main
from spikelab.config import to_toml

DASK = Path(sys.executable).parent / "dask"
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:  # by PID: what this test started, nothing else
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()


def wait_for_workers(address: str, n: int, timeout: float = 180.0) -> None:
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(n, timeout=timeout)


def test_a_sweep_on_a_scheduler_and_two_workers_started_as_on_separate_hosts(tiny_cfg, tmp_path):
    if not DASK.is_file():
        pytest.skip(f"no dask command at {DASK}: pip install 'spikelab[dask]'")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, **WORKER_ENV}
    log = open(tmp_path / "dask.log", "w")
    scheduler = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--dashboard-address", "127.0.0.1:0", "--no-dashboard"]  # fmt: skip
    worker = [str(DASK), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
              "--no-dashboard", "--local-directory", str(tmp_path / "w")]  # fmt: skip
    procs = [subprocess.Popen(scheduler, stdout=log, stderr=log, env=env)]
    try:
        time.sleep(1.0)
        procs += [subprocess.Popen(worker, stdout=log, stderr=log, env=env) for _ in range(2)]
        wait_for_workers(address, 2)
        config = tmp_path / "tiny.toml"
        config.write_text(to_toml(tiny_cfg))
        out = tmp_path / "sweep"
        argv = ["sweep", str(config), "--grid", "reservoir.weight_scale=0.05,0.1",
                "--seeds", "0-1", "--out", str(out), "--scheduler", address, "-q"]  # fmt: skip
        assert main(argv) == 0
        with open(out / "sweep.csv") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
        assert len({r["pid"] for r in rows}) >= 1
        assert all((out / "points" / r["point"] / "states.h5").is_file() for r in rows)
    finally:
        stop(procs)
        log.close()
    assert all(p.poll() is not None for p in procs)

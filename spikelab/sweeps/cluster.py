"""Dask for spikelab: the embedded local cluster, a connection to an existing one, and an
ordered map of chunks over its workers with a bounded number in flight.

``dask.distributed`` is imported only inside these functions (the optional extra
``spikelab[dask]``); ``import spikelab.sweeps.cluster`` works without it.

Every task carries the client's log level (the ``spikelab`` logger's, as ``-q``/``-v`` set it):
on the worker the task runs at that level (:func:`client_level`), so ``-q`` silences the
workers' lines as it does the client's, and ``-v`` shows their debug lines.

The client a run's chunked simulation uses (``spikelab run --scheduler``) is set for a block
with ``use_client(client)`` and read by ``spikelab.tasks.stages.run_chunked`` through
``current_client()``: a context variable, so it holds for that block and thread only.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "SCHEDULER_ENV",
    "WORKER_ENV",
    "at_level",
    "client_level",
    "connect",
    "current_client",
    "encode_and_run",
    "install_hint",
    "local_cluster",
    "ordered_map",
    "spikelab_level",
    "use_client",
    "worker_pids",
]

SCHEDULER_ENV = "SPIKELAB_SCHEDULER"
#: the environment of every local worker process: one thread each, so that N workers on N
#: cores do not oversubscribe (numba's parallel kernels, BLAS in the readout)
WORKER_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_CLIENT: ContextVar[Any] = ContextVar("spikelab_dask_client", default=None)


class _Stderr(logging.StreamHandler):
    """The worker's stderr as it is when a record is written (``sys.stderr`` may change)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


@contextmanager
def client_level(level: int | None) -> Iterator[None]:
    """Within the block (a task on a worker, or a point run here), the ``spikelab`` logger
    at the client's ``level`` (None: unchanged), restored afterwards. A process where no
    handler would receive spikelab's records (a worker) gets, for the block, one writing to
    its stderr, prefixed with the host and process id; where there is one (the command
    line's, in this process), the records go there."""
    from ..logs import LOGGER, LevelFormatter

    logger = logging.getLogger(LOGGER)
    old, handler = logger.level, None
    if level is not None:
        logger.setLevel(int(level))
    if not logger.hasHandlers():
        handler = _Stderr()
        handler.setFormatter(
            LevelFormatter(f"[{socket.gethostname()} pid {os.getpid()}] %(message)s")
        )
        logger.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
        logger.setLevel(old)


def spikelab_level() -> int:
    """The ``spikelab`` logger's effective level here (what the tasks carry)."""
    return logging.getLogger("spikelab").getEffectiveLevel()


def at_level(level: int | None, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` within :func:`client_level` (what :func:`ordered_map` submits)."""
    with client_level(level):
        return fn(*args)


def install_hint() -> str:
    return "Dask is an optional extra: pip install 'spikelab[dask]' (or 'dask[distributed]')"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as e:
        raise ImportError(f"{install_hint()}; or run without Dask (--no-dask): {e}") from None
    return distributed


@contextmanager
def local_cluster(workers: int | None = None) -> Iterator[Any]:
    """A ``LocalCluster`` of ``workers`` (default: one per core) single-threaded worker
    processes, each with numba and BLAS at one thread (:data:`WORKER_ENV`), everything
    listening on 127.0.0.1 only, no dashboard; yields its ``Client``, closes both at the end."""
    distributed = _distributed()
    n = int(workers) if workers else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    cluster = distributed.LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # the scheduler's HTTP server: loopback, any port
        scheduler_kwargs={"dashboard": False},
        env=dict(WORKER_ENV),
    )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


@contextmanager
def connect(
    address: str | None = None, workers: int | None = None, *, timeout: str = "20s"
) -> Iterator[Any]:
    """A client of the cluster at ``address`` (``tcp://HOST:PORT``; default
    ``$SPIKELAB_SCHEDULER``; given up after ``timeout``), else of an embedded
    :func:`local_cluster`."""
    address = address or os.environ.get(SCHEDULER_ENV) or None
    if address is None:
        with local_cluster(workers) as client:
            yield client
        return
    distributed = _distributed()
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ValueError(
            f"no Dask scheduler answers at {address!r} (--scheduler / ${SCHEDULER_ENV}): {e}; "
            "start one with `dask scheduler` and workers with `dask worker ADDRESS`"
        ) from None
    with client:
        yield client


@contextmanager
def use_client(client: Any) -> Iterator[Any]:
    """Within the block, chunked simulations (``run_chunked``) map their chunks over
    ``client``'s workers."""
    token = _CLIENT.set(client)
    try:
        yield client
    finally:
        _CLIENT.reset(token)


def current_client() -> Any:
    """The client set by :func:`use_client` for this block, or None (run in-process)."""
    return _CLIENT.get()


def worker_pids(client: Any) -> dict[str, int]:
    """Worker address -> the process id of that worker (for tests and diagnostics)."""
    return dict(client.run(os.getpid))


def encode_and_run(sim: Any, encoding: Any, chunk: Any) -> Any:
    """On a worker: encode a chunk of event arrays (when ``encoding`` is given) and run it;
    the ``Recording``."""
    batch = encoding.encode(list(chunk)) if encoding is not None else chunk
    return sim.run(batch)


def ordered_map(
    client: Any,
    fn: Callable[..., Any],
    items: Iterable[Any],
    *,
    shared: tuple[Any, ...] = (),
    in_flight: int | None = None,
) -> Iterator[Any]:
    """``fn(*shared, item)`` for each item on the cluster, yielded in order, with at most
    ``in_flight`` (default twice the workers) submitted and not yet consumed: the client
    holds a few results at a time. ``shared`` values are sent once to every worker; each
    task runs at this process's spikelab log level (:func:`at_level`)."""
    n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    limit = int(in_flight or 2 * n_workers)
    handles = [client.scatter(x, broadcast=True, hash=False) for x in shared]
    pending: deque[Any] = deque()
    it = iter(items)
    level = spikelab_level()

    def submit_next() -> None:
        for item in it:
            pending.append(client.submit(at_level, level, fn, *handles, item, pure=False))
            return

    try:
        for _ in range(limit):
            submit_next()
        while pending:
            future = pending.popleft()
            result = future.result()
            future.release()
            submit_next()
            yield result
    finally:
        for future in pending:
            future.cancel()

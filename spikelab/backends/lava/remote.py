"""Lava from a Python that cannot import it: the client of the Lava worker (numpy only).

When ``lava`` is not importable here (``.venv``: Python 3.11, lava-nc needs 3.10 and
numpy < 2), ``LavaBackend`` compiles and runs through a long-lived worker process running
in a Lava-capable interpreter (``worker.py``), found in this order:

1. the backend option ``python=`` (``net.compile("lava", python="/path/to/python")``);
2. the environment variable ``SPIKELAB_LAVA_PYTHON``;
3. ``.venv-lava/bin/python`` beside the checkout (``make venv-lava`` creates it), or beside
   the virtual environment this Python runs in.

The network crosses once per compile as its HDF5 file (``spikelab.network_io``), each batch
as npz (``wire``); the ``Recording`` comes back the same, bit for bit, as the same run inside
the Lava interpreter (its ``wall_time_s`` and ``extras["worker"]`` then include the
transfer). One worker serves many batches and many simulations. It stops when its owner
closes it or is garbage-collected, at interpreter exit, and by itself when this process
dies (its stdin ends).
"""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from ... import __version__
from ...network import Network
from ...spikes import Recording, RecordSpec, SpikeBatch
from ..base import BackendUnavailable, UnsupportedFeature
from ..common import check_batch
from .wire import PROTOCOL, WireError, read_message, write_message

ENV = "SPIKELAB_LAVA_PYTHON"
START_TIMEOUT_S = 300.0  # importing Lava on a loaded machine takes seconds, not minutes
FIXES = (
    "either create the Lava environment beside this checkout with `make venv-lava` (or set "
    f"{ENV} to a Python 3.10 interpreter that has lava-nc and numpy<2), and this Python "
    "runs Lava in it as a worker process; or run spikelab from that environment itself: "
    ".venv-lava/bin/spikelab (or .venv-lava/bin/python)"
)
_ERRORS: dict[str, type[Exception]] = {
    e.__name__: e
    for e in (ValueError, TypeError, KeyError, IndexError, NotImplementedError, RuntimeError,
              FileNotFoundError, MemoryError, UnsupportedFeature, BackendUnavailable)
}  # fmt: skip


def _venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _checkout_root() -> Path:
    """The folder holding the ``spikelab`` package (the checkout, for an editable install)."""
    return Path(__file__).resolve().parents[3]


def candidate_pythons() -> list[Path]:
    """Where ``.venv-lava`` is looked for: beside the checkout, beside this environment."""
    out = []
    for folder in (_checkout_root(), Path(sys.prefix).parent):
        path = _venv_python(folder / ".venv-lava")
        if path not in out:
            out.append(path)
    return out


def _usable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_lava_python(python: str | os.PathLike[str] | None = None) -> Path:
    """The interpreter the worker runs in: ``python``, else ``$SPIKELAB_LAVA_PYTHON``, else
    ``.venv-lava`` (``candidate_pythons``). ``BackendUnavailable`` naming both fixes when
    there is none (a path given but missing is an error, not skipped)."""
    here = f"this Python ({sys.version.split()[0]}, {sys.executable}) cannot import lava"
    for source, value in (("the backend option python", python), (ENV, os.environ.get(ENV))):
        if value is not None and str(value) != "":
            path = Path(value).expanduser()
            if not _usable(path):
                raise BackendUnavailable(
                    f"backend 'lava': {here}, and {source}={str(value)!r} is not an executable "
                    f"file; {FIXES}"
                )
            return path
    for path in candidate_pythons():
        if _usable(path):
            return path
    looked = ", ".join(str(p) for p in candidate_pythons())
    raise BackendUnavailable(
        f"backend 'lava': {here}, {ENV} is not set and there is no Lava interpreter at "
        f"{looked}; {FIXES}"
    )


def worker_status() -> dict[str, str] | None:
    """For the backend registry (``spikelab info``, ``available_backends``): the Lava
    interpreter this Python would use and its lava-nc version, or None when there is none
    or it cannot import lava. Starts that interpreter once (a fraction of a second); does
    not import Lava."""
    try:
        python = find_lava_python()
    except BackendUnavailable:
        return None
    code = (
        "import importlib.util as u, importlib.metadata as m, sys; "
        "ok = all(u.find_spec(x) for x in ('lava', 'numpy', 'scipy', 'h5py')); "
        "print(m.version('lava-nc') if ok else '', sys.version.split()[0])"
    )
    try:
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                             timeout=60, check=True).stdout.split()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) != 2:
        return None
    return {"python": str(python), "lava-nc": out[0], "python_version": out[1]}


def _worker_env() -> dict[str, str]:
    """The worker's environment: this one, with the checkout first on PYTHONPATH so that
    the worker runs this very spikelab (only for a source checkout: an installed package's
    folder, site-packages, holds the other interpreter's numpy)."""
    env = dict(os.environ)
    root = _checkout_root()
    if (root / "pyproject.toml").is_file() and (root / "spikelab" / "__init__.py").is_file():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


def _shutdown(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Stop a worker (finaliser: must not reference the LavaWorker): end its stdin so that
    it closes its Lava runtimes and exits; past ``timeout`` s kill its process group (the
    worker and the processes Lava started)."""
    if proc.stdin is not None and not proc.stdin.closed:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: pid == process group
        except (ProcessLookupError, PermissionError, AttributeError):
            proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


class LavaWorker:
    """A Lava-capable Python serving compile and run requests over its stdin and stdout.

    ``LavaWorker(python=None)`` starts it (``find_lava_python`` picks the interpreter) and
    waits for its hello. Share one between simulations with
    ``get_backend("lava", worker=w)``; ``close()`` (or ``with``) stops it, as does garbage
    collection and interpreter exit. ``start_s``: seconds from start to hello (s).
    """

    def __init__(self, python: str | os.PathLike[str] | None = None) -> None:
        self.python = find_lava_python(python)
        self._lock = threading.Lock()
        self._released: list[int] = []  # simulations dropped since the last request
        t0 = time.perf_counter()
        self._proc = subprocess.Popen(
            [str(self.python), "-m", "spikelab.backends.lava.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=_worker_env(),
            start_new_session=True,  # Ctrl-C reaches the client, which stops the worker
        )  # fmt: skip
        self._finalizer = weakref.finalize(self, _shutdown, self._proc)
        try:
            self.info = self._hello()
        except BaseException:
            self.close()
            raise
        self.start_s = time.perf_counter() - t0

    def _hello(self) -> dict[str, Any]:
        try:
            head, info, _ = self._receive(START_TIMEOUT_S)
        except WireError as e:
            raise BackendUnavailable(f"{e}; {FIXES}") from None
        if not head.get("ok"):
            raise BackendUnavailable(
                f"the Lava worker {self.python} cannot run Lava: {head.get('error')}: "
                f"{head.get('message')}; {FIXES}"
            )
        if info.get("protocol") != PROTOCOL or info.get("spikelab") != __version__:
            raise BackendUnavailable(
                f"the Lava worker {self.python} runs spikelab {info.get('spikelab')} (protocol "
                f"{info.get('protocol')}) but this is spikelab {__version__} (protocol "
                f"{PROTOCOL}); install this spikelab there ({self.python} -m pip install ...), "
                "or remake it with `make venv-lava`"
            )
        return info

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def exit_code(self) -> int | None:
        """The worker process's exit code (None while it runs)."""
        return self._proc.poll()

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self._proc.poll() is None

    def close(self) -> None:
        """Stop the worker process (its Lava runtimes with it)."""
        self._finalizer()

    def _abandon(self) -> None:
        """Stop a worker whose message stream is out of step (a request interrupted, or the
        worker gone): at once, not after its current batch."""
        if self._finalizer.detach() is not None:
            _shutdown(self._proc, timeout=2.0)

    def __enter__(self) -> LavaWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.alive else "closed"
        return f"LavaWorker({str(self.python)!r}, {state})"

    def release(self, sim_id: int) -> None:
        """Forget simulation ``sim_id`` (sent with the next request: safe from a finaliser)."""
        self._released.append(sim_id)

    def request(self, op: str, value: Any = None, blobs: tuple[bytes, ...] = ()) -> Any:
        """Send one request and return the worker's answer; its errors are raised here with
        their type (ValueError, UnsupportedFeature, ...) and message."""
        with self._lock:
            if not self._finalizer.alive:
                raise RuntimeError(f"{self!r} is closed; compile the network again")
            code = self._proc.poll()
            if code is not None:  # died (killed, crashed) since the last request
                self._abandon()
                raise RuntimeError(
                    f"the Lava worker {self.python} is gone (its process exited with code "
                    f"{code}); compile the network again"
                )
            if self._released:
                ids, self._released = self._released, []
                self._answer(*self._exchange("close", {"ids": ids}, ()))
            return self._answer(*self._exchange(op, value, blobs))

    def _exchange(self, op: str, value: Any, blobs: tuple[bytes, ...]) -> tuple[dict, Any]:
        """Send a request, read its answer; any failure between the two (Ctrl-C, the worker
        dying) leaves the stream out of step, so the worker is stopped."""
        try:
            write_message(self._proc.stdin, {"op": op}, value, blobs)
            head, out, _ = self._receive(None)
        except BaseException as e:
            self._abandon()
            if isinstance(e, OSError | WireError):
                raise RuntimeError(f"the Lava worker {self.python} is gone ({e})") from None
            raise
        return head, out

    @staticmethod
    def _answer(head: dict[str, Any], out: Any) -> Any:
        """The value of an answer, or the worker's error raised with its type."""
        if head.get("ok"):
            return out
        cls = _ERRORS.get(str(head.get("error")), RuntimeError)
        message = str(head.get("message"))
        if cls is RuntimeError:
            message = f"{head.get('error')} in the Lava worker: {message}\n{head.get('traceback')}"
        raise cls(message)

    def _receive(self, timeout: float | None) -> tuple[dict[str, Any], Any, list[bytes]]:
        """The next message, waiting while the worker lives (at most ``timeout`` s)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not select.select([self._proc.stdout], [], [], 1.0)[0]:
            if self._proc.poll() is not None:
                raise WireError(
                    f"the Lava worker {self.python} exited with code {self._proc.returncode} "
                    "(its error output is above)"
                )
            if deadline is not None and time.monotonic() > deadline:
                raise WireError(f"the Lava worker {self.python} did not answer in {timeout} s")
        try:
            return read_message(self._proc.stdout)
        except EOFError:
            self._proc.wait()
            raise WireError(
                f"the Lava worker {self.python} exited with code {self._proc.returncode} "
                "(its error output is above)"
            ) from None


def _network_bytes(net: Network) -> bytes:
    """``net`` as its HDF5 file (``Network.save``), in memory."""
    with tempfile.TemporaryDirectory(prefix="spikelab-lava-") as tmp:
        return net.save(Path(tmp) / "network.h5").read_bytes()


def _release(worker: LavaWorker, sim_id: int, owned: bool) -> None:
    """Finaliser of a RemoteLavaSimulation (must not reference it)."""
    if owned:
        worker.close()
    else:
        worker.release(sim_id)


class RemoteLavaSimulation:
    """A network compiled for Lava in a worker process; ``run`` as ``LavaSimulation.run``.

    Made by ``LavaBackend.compile`` when this Python cannot import Lava. Owns its worker
    unless one was shared (``get_backend("lava", worker=w)``); ``close()`` (or ``with``, or
    garbage collection) stops an owned worker, or frees the network in a shared one.
    """

    def __init__(
        self,
        net_h5: bytes,
        dt: float,
        record: RecordSpec,
        options: dict[str, Any],
        worker: LavaWorker | None = None,
        python: str | os.PathLike[str] | None = None,
    ) -> None:
        self.record, self.options, self.python = record, dict(options), python
        self._net_h5, self._dt_asked = net_h5, float(dt)
        self._connect(worker)

    def _connect(self, worker: LavaWorker | None) -> None:
        owned = worker is None
        self.worker = LavaWorker(self.python) if owned else worker
        try:
            value = {"dt": self._dt_asked, "record": self.record, "options": self.options}
            reply = self.worker.request("compile", value, (self._net_h5,))
        except BaseException:
            if owned:
                self.worker.close()
            raise
        self._id, self._n_inputs, self.dt = int(reply["id"]), int(reply["n_inputs"]), reply["dt"]
        self._repr, self.quantization_report = str(reply["repr"]), reply["quantization"]
        self._finalizer = weakref.finalize(self, _release, self.worker, self._id, owned)

    @property
    def precision(self) -> str:
        return str(self.options["precision"])

    def effective_options(self) -> dict[str, Any]:
        """The options in force (a run's ``metrics.json``), with the worker's interpreter
        and the lava-nc version it runs."""
        info = self.worker.info
        worker = {"python": str(self.worker.python), "worker_python_version": info["python"]}
        return {**self.options, **worker, "worker_lava_nc": info["lava"]}

    def run(self, batch: SpikeBatch) -> Recording:
        """Simulate ``batch`` in the worker (checked here first); the worker's ``Recording``
        with ``wall_time_s`` measured here and ``extras["worker"]`` (python, pid, run_s:
        seconds inside the worker, overhead_s: transfer and encoding)."""
        check_batch(batch, self._n_inputs, self.dt)
        if not self._finalizer.alive:
            raise RuntimeError(f"{self!r} is closed; compile the network again")
        t0 = time.perf_counter()
        reply = self.worker.request("run", {"id": self._id, "batch": batch})
        wall = time.perf_counter() - t0
        rec: Recording = reply["recording"]
        run_s = float(reply["run_s"])
        worker = {"python": str(self.worker.python), "pid": self.worker.pid, "run_s": run_s,
                  "overhead_s": wall - run_s}  # fmt: skip
        return dataclasses.replace(rec, wall_time_s=wall, extras={**rec.extras, "worker": worker})

    def close(self) -> None:
        """Free the network in the worker (stop the worker when this simulation owns it)."""
        self._finalizer()

    def __enter__(self) -> RemoteLavaSimulation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its worker: unpickling starts one (e.g. on a Dask worker)."""
        keys = ("record", "options", "python", "_net_h5", "_dt_asked")
        return {k: self.__dict__[k] for k in keys}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._connect(None)

    def __repr__(self) -> str:
        _, _, rest = self._repr.partition("(")
        return f"{type(self).__name__}({rest[:-1]}, python={str(self.worker.python)!r})"


def compile_remote(
    net: Network,
    dt: float,
    record: RecordSpec,
    options: dict[str, Any],
    worker: LavaWorker | None = None,
    python: str | os.PathLike[str] | None = None,
) -> RemoteLavaSimulation:
    """``net`` compiled with the Lava ``options`` in ``worker`` (or a new worker of its
    own, started in ``python``; see ``find_lava_python``)."""
    net.check_dt(dt)  # the compile preamble's dt check, before anything is started
    return RemoteLavaSimulation(_network_bytes(net), dt, record, options, worker, python)

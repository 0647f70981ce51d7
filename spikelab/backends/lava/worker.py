"""The Lava worker: ``python -m spikelab.backends.lava.worker`` in a Lava-capable Python.

Started by ``spikelab.backends.lava.remote.LavaWorker`` when the client's interpreter cannot
import Lava (e.g. .venv, Python 3.11). It serves requests read from its stdin and answers
on its stdout (``wire``: length-prefixed JSON + npz, no pickle) until stdin ends, which it
does when the client closes it or dies; a thread ends it (and the processes Lava started)
as soon as its parent is gone, even in the middle of a batch. Requests:

* ``compile``: a network (its HDF5 file as a blob, ``spikelab.network_io``), ``dt`` (ms), a
  ``RecordSpec`` and the backend options; compiled in-process with ``LavaBackend``, kept
  under a new id; answers the id, the repr and the quantisation report.
* ``run``: an id and a ``SpikeBatch``; answers the ``Recording`` (and the seconds it took).
* ``close``: stop the Lava runtime of some ids and forget them.

The first message it writes is a hello (protocol, versions, pid) or, when Lava cannot be
imported, the error. Anything printed by Lava goes to stderr: stdout carries only messages.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

from .wire import PROTOCOL, read_message, write_message


def _protocol_streams() -> tuple[IO[bytes], IO[bytes]]:
    """(requests, answers): the original stdin and stdout; fd 1 then points at stderr and
    fd 0 at /dev/null, so that nothing Lava prints can enter the message stream."""
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb")
    sys.stdout.flush()
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return requests, answers


def _watch_parent(interval_s: float = 1.0) -> None:
    """Kill this worker's process group (it and the processes Lava started) once its parent
    is gone, even in the middle of a batch (a thread; reading stdin alone would notice the
    end of the stream only after the batch)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        group = os.getpgrp()
        if group == os.getpid():  # our own session (the client starts us so): only ours
            os.killpg(group, signal.SIGKILL)
        os._exit(0)

    threading.Thread(target=watch, name="spikelab-lava-parent-watch", daemon=True).start()


def _hello() -> dict[str, Any]:
    """What the client checks before its first request (imports Lava: may raise)."""
    from importlib.metadata import version

    import spikelab

    from .backend import import_lava

    import_lava()
    return {
        "protocol": PROTOCOL,
        "spikelab": spikelab.__version__,
        "spikelab_path": str(Path(spikelab.__file__).resolve().parent),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "lava": version("lava-nc"),
        "pid": os.getpid(),
    }


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "error": type(exc).__name__,
        "message": str(exc),
        "traceback": traceback.format_exc(),
    }


class Server:
    """The compiled simulations of one worker, by id, and the request handlers."""

    def __init__(self) -> None:
        self.sims: dict[int, Any] = {}
        self.next_id = 1

    def compile(self, value: dict[str, Any], blobs: list[bytes]) -> dict[str, Any]:
        from ...network import Network
        from .backend import LavaBackend

        with tempfile.TemporaryDirectory(prefix="spikelab-lava-worker-") as tmp:
            path = Path(tmp) / "network.h5"
            path.write_bytes(blobs[0])
            net = Network.load(path)
        sim = LavaBackend(**value["options"]).compile(
            net, dt=float(value["dt"]), record=value["record"]
        )
        sim_id, self.next_id = self.next_id, self.next_id + 1
        self.sims[sim_id] = sim
        return {
            "id": sim_id,
            "repr": repr(sim),
            "quantization": sim.quantization_report,
            "n_inputs": int(sim.plan.n_inputs),
            "dt": float(sim.plan.dt),
        }

    def run(self, value: dict[str, Any], blobs: list[bytes]) -> dict[str, Any]:
        t0 = time.perf_counter()
        rec = self.sims[int(value["id"])].run(value["batch"])
        return {"recording": rec, "run_s": time.perf_counter() - t0}

    def close(self, value: dict[str, Any], blobs: list[bytes]) -> dict[str, Any]:
        for sim_id in value["ids"]:
            sim = self.sims.pop(int(sim_id), None)
            if sim is not None:
                sim.close()
        return {"open": len(self.sims)}

    def close_all(self) -> None:
        for sim in self.sims.values():
            sim.close()
        self.sims.clear()

    def handle(self, op: str, value: Any, blobs: list[bytes]) -> Any:
        handlers = {"compile": self.compile, "run": self.run, "close": self.close}
        if op not in handlers:
            raise ValueError(f"unknown request {op!r}; known: {', '.join(handlers)}")
        return handlers[op](value, blobs)


def serve(requests: IO[bytes], answers: IO[bytes]) -> int:
    """Answer requests until stdin ends; every error goes back to the client."""
    try:
        write_message(answers, {"ok": True, "op": "hello"}, _hello())
    except Exception as exc:  # noqa: BLE001 - e.g. Lava missing: the client names the fix
        write_message(answers, _error(exc))
        return 1
    server = Server()
    try:
        while True:
            try:
                head, value, blobs = read_message(requests)
            except EOFError:  # the client closed stdin or died
                return 0
            try:
                out = server.handle(str(head.get("op")), value, blobs)
            except Exception as exc:  # noqa: BLE001 - sent back, raised in the client
                write_message(answers, _error(exc))
                continue
            write_message(answers, {"ok": True}, out)
    finally:
        server.close_all()


def main() -> int:
    requests, answers = _protocol_streams()
    _watch_parent()
    try:
        return serve(requests, answers)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: leave quietly
        return 130
    except BrokenPipeError:  # the client went away while we answered
        return 0


if __name__ == "__main__":
    sys.exit(main())

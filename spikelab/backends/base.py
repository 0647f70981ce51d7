"""The backend contract: protocols, the registry and the errors (values live in spikes.py).

A backend turns a ``Network`` (plain data) into a ``Simulation`` that runs batches of
independent samples. Backends are looked up by name (``get_backend("numba")``); built-in
ones are listed in ``_BUILTIN`` and third parties add theirs through the
``spikelab.backends`` entry-point group. Heavy dependencies are imported only when a
backend is instantiated.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..spikes import Recording, RecordSpec, SpikeBatch

if TYPE_CHECKING:
    from ..network import Network

log = logging.getLogger(__name__)


class BackendUnavailable(ImportError):
    """A known backend whose dependency is not installed in this environment."""


class UnsupportedFeature(NotImplementedError):
    """A backend cannot compute part of a network exactly; raised at compile time."""


@runtime_checkable
class Simulation(Protocol):
    """A compiled network, ready to run batches."""

    def run(self, batch: SpikeBatch) -> Recording: ...


@runtime_checkable
class Backend(Protocol):
    name: str

    def compile(self, net: Network, *, dt: float, record: RecordSpec) -> Simulation: ...


@dataclass(frozen=True)
class _Entry:
    target: str  # "module:Class"
    requires: tuple[str, ...]  # importable modules the backend needs
    install: str  # exact command that installs them
    # "module:function" -> a dict describing another interpreter that runs the backend as a
    # worker process when ``requires`` is missing here (None: there is none); lava only
    worker: str = ""


_BUILTIN: dict[str, _Entry] = {
    "numba": _Entry("spikelab.backends.numba:NumbaBackend", ("numba",), "pip install numba"),
    "torch": _Entry(
        "spikelab.backends.torch:TorchBackend",
        ("torch", "norse"),
        "pip install 'spikelab[torch]'  (or: pip install torch norse)",
    ),
    "brian2": _Entry(
        "spikelab.backends.brian2:Brian2Backend",
        ("brian2",),
        "pip install 'spikelab[brian2]'  (or: pip install brian2)",
    ),
    "lava": _Entry(
        "spikelab.backends.lava:LavaBackend",
        ("lava",),
        "pip install 'spikelab[lava]' in a Python 3.10 environment with numpy<2 (in this "
        "repo: make venv-lava; this environment then runs Lava in .venv-lava as a worker, or "
        "set SPIKELAB_LAVA_PYTHON to such a Python; or run .venv-lava/bin/spikelab)",
        worker="spikelab.backends.lava.remote:worker_status",
    ),
    "crossbar": _Entry(
        "spikelab.backends.crossbar:CrossbarBackend", ("numba",), "pip install numba"
    ),
}
_ALIASES = {"norse": "torch", "cpu": "numba"}


def install_command(name: str) -> str:
    """The exact command that installs what built-in backend ``name`` needs."""
    if name not in _BUILTIN:
        raise ValueError(f"no built-in backend {name!r}; built-in: {', '.join(_BUILTIN)}")
    return _BUILTIN[name].install


def _entry_point_backends() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="spikelab.backends")}


def _missing_modules(entry: _Entry) -> list[str]:
    return [mod for mod in entry.requires if importlib.util.find_spec(mod) is None]


def _implemented(entry: _Entry) -> bool:
    return importlib.util.find_spec(entry.target.partition(":")[0]) is not None


def known_backends() -> list[str]:
    builtin = [n for n, e in _BUILTIN.items() if _implemented(e)]
    return sorted(set(builtin) | set(_entry_point_backends()))


def _worker_status(entry: _Entry) -> dict[str, str] | None:
    """The worker interpreter of a backend whose dependency is missing here (or None)."""
    return _load_class(entry.worker)() if entry.worker else None


def available_backends() -> list[str]:
    """Names of the backends whose dependencies are importable here (or, for lava, in a
    worker interpreter: ``spikelab.backends.lava.remote``)."""
    names = [
        n
        for n, e in _BUILTIN.items()
        if _implemented(e) and (not _missing_modules(e) or _worker_status(e))
    ]
    return sorted(set(names) | set(_entry_point_backends()))


def _load_class(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def canonical_name(name: str) -> str:
    """``name`` lower-cased with aliases resolved (``"norse"`` -> ``"torch"``)."""
    if not isinstance(name, str):
        raise TypeError(f"backend must be a name (str), got {type(name).__name__}")
    return _ALIASES.get(name.lower(), name.lower())


def backend_class(name: str) -> Callable[..., Backend]:
    """The class registered as ``name`` (not ``"auto"``), not instantiated.

    Raises ValueError naming the known backends (and the closest one) for an unknown name,
    and ``BackendUnavailable`` with the install command when its dependency is missing.
    """
    key = canonical_name(name)
    if key in _BUILTIN and _implemented(_BUILTIN[key]):
        entry = _BUILTIN[key]
        missing = _missing_modules(entry)
        if missing and not entry.worker:  # a worker backend checks its interpreter itself
            raise BackendUnavailable(
                f"backend {name!r} needs {', '.join(missing)}, which is not installed here. "
                f"Install it with: {entry.install}"
            )
        return _load_class(entry.target)
    eps = _entry_point_backends()
    if key in eps:
        return eps[key].load()
    known = known_backends()
    near = difflib.get_close_matches(key, [*known, *_ALIASES, "auto"], n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ValueError(
        f"unknown backend {name!r}{hint}; known backends: {', '.join(known)} "
        f"(aliases: {', '.join(f'{a}->{b}' for a, b in _ALIASES.items())}, and 'auto')"
    )


def get_backend(name: str, **options: Any) -> Backend:
    """Instantiate the backend registered as ``name`` with backend ``options``.

    ``"auto"`` picks the best available backend and logs which one and why.
    """
    if canonical_name(name) == "auto":
        return _auto_backend(**options)
    return backend_class(name)(**options)


def _auto_backend(**options: Any) -> Backend:
    avail = available_backends()
    if "torch" in avail:
        import torch  # only imported when torch is installed and auto was asked for

        if torch.cuda.is_available():
            log.warning("backend='auto' chose 'torch' on cuda: a CUDA GPU is present")
            return get_backend("torch", device="cuda", **options)
    if "numba" in avail:
        log.warning("backend='auto' chose 'numba': no CUDA GPU found, numba is the CPU default")
        return get_backend("numba", **options)
    for name in ("torch", "brian2"):
        if name in avail:
            log.warning("backend='auto' chose %r: numba is not installed", name)
            return get_backend(name, **options)
    raise BackendUnavailable("no backend available; install numba: pip install numba")


def backend_versions() -> list[dict[str, str]]:
    """For ``spikelab info``: each known backend, whether it is available, and versions."""
    from importlib.metadata import PackageNotFoundError, version

    dist_names = {
        "numba": "numba",
        "torch": "torch",
        "norse": "norse",
        "brian2": "brian2",
        "lava": "lava-nc",
    }
    rows = []
    for name in known_backends():
        entry = _BUILTIN.get(name)
        missing = _missing_modules(entry) if entry else []
        versions = []
        for mod in entry.requires if entry else ():
            try:
                versions.append(f"{mod} {version(dist_names.get(mod, mod))}")
            except PackageNotFoundError:
                versions.append(f"{mod} (not installed)")
        worker = _worker_status(entry) if entry and missing else None
        if worker:
            versions = [f"lava-nc {worker['lava-nc']} through a worker: {worker['python']} "
                        f"(Python {worker['python_version']})"]  # fmt: skip
            missing = []
        rows.append(
            {
                "backend": name,
                "available": "yes" if not missing else "no",
                "versions": ", ".join(versions),
                "install": entry.install if entry and missing else "",
            }
        )
    return rows

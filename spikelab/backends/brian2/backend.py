"""Brian2 reference backend: the same ``Network`` on Brian2, spike for spike equal to numba.

``get_backend("brian2", mode="runtime", target="numpy")`` or ``mode="cpp_standalone"``.

How the semantics (docs/semantics.md) map onto Brian2 (details in ``brian2_model.py``):

* dt: Brian2's dt is our dt (one ``Clock`` of dt ms shared by every object; Brian2's
  ``defaultclock`` is not touched).
* Parameters: the per-neuron constants precomputed in float64 by ``flatten`` (alpha, beta,
  bias_term, n_ref) are Brian2 constants, so Brian2 evaluates no exponential of its own.
* Update: no Brian2 integrator is used. The step of each model is explicit abstract code in a
  ``run_regularly`` operation with the operations and the order of ``_kernels.py``: LIF with
  exact exponential decay, refractoriness by a step counter, ``v > v_th``; Izhikevich with two
  dt/2 half-steps of v and one step of u, ``v >= v_peak``.
* Order within a step: input neurons fire the events of step t (``thresholds`` slot), the
  pathways deliver the events due now into ``Iin`` (``synapses`` slot), then update, threshold,
  reset and monitors run ``after_synapses`` (orders 0, 1, 2, 5, 6). Population spikes are
  pushed in the next step's ``synapses`` slot, so a delay of d steps is a Brian2 delay of
  (d-1)*dt; input delays are used as they are. An event thus acts in step t + d, as specified.
* Input values: an event of value x adds ``w * x`` (input synapses carry the value of their
  slot, see ``brian2_model.plan_inputs``).
* Exact arithmetic: Brian2's loop-invariant optimisations are switched off (they rewrite
  expressions with sympy), and C++ is compiled without ``-ffast-math`` and with
  ``-ffp-contract=off`` (no fused multiply-add), so every target does numba's float64
  operations. Only the summation order inside ``Iin`` may differ, as the semantics allows.
* Batches: the samples run back to back in one Brian2 run, separated by a gap of max-delay
  steps in which no neuron spikes, with the initial state restored at each sample start;
  spikes and voltages are cut back into samples.

Modes:

* ``runtime``: ``target="numpy"`` or ``"cython"`` (Cython extensions are cached by Brian2 in
  ``~/.cython/brian_extensions``, so only the first run of a network structure compiles).
  One Brian2 network is built and run per ``run`` call.
* ``cpp_standalone``: a C++ project in ``directory`` (default: a temporary directory per
  simulation), built once, on the first ``run``, for that batch's size. Later batches, and
  larger batches in chunks of that size, rerun the same binary with their input events as
  run arguments (no rebuild); a rebuild happens only when a chunk needs more input slots or a
  longer event table, or has another number of steps. ``threads`` > 1 uses OpenMP (which
  may change the summation order inside ``Iin``, the last bit of a float64 sum).

Preferences and the active Brian2 device are restored after every run; ``Recording.extras``
holds ``build_s`` (code generation and compilation) and ``loop_s`` (simulation) separately.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...ir import FlatNetwork
from ...network import Network
from ...progress import bar, show_bars
from ...spikes import Recording, RecordSpec, SpikeBatch
from ..base import BackendUnavailable
from ..common import check_batch, prepare, simulation_repr
from .inputs import Layout, input_arrays, make_layout, plan_inputs
from .model import Built, build
from .results import Spikes, collect, make_recording

MODES = ("runtime", "cpp_standalone")
TARGETS = ("numpy", "cython")
# C++ flags for exact float64: Brian2's defaults minus -ffast-math, and no FMA contraction.
EXACT_GCC_ARGS = ["-w", "-O3", "-march=native", "-ffp-contract=off", "-std=c++11"]


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the deprecation warnings Brian2's own calls into pyparsing raise (nothing a
    user of this backend can act on); every other warning passes."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pyparsing\b")
        yield


def _import_brian2() -> Any:
    try:
        with _quiet():
            import brian2
    except ImportError as exc:
        raise BackendUnavailable(
            "backend 'brian2' needs brian2, which is not installed here. Install it with: "
            "pip install 'spikelab[brian2]'  (or: pip install brian2)"
        ) from exc
    except AttributeError as exc:  # e.g. brian2 2.9 with numpy >= 2.4 (ndarray.ptp removed)
        raise BackendUnavailable(
            f"brian2 is installed but fails to import with numpy {np.__version__}: {exc}. "
            "brian2 <= 2.9 needs numpy < 2.4: pip install 'numpy<2.4'"
        ) from exc
    return brian2


@contextmanager
def _report(b2: Any) -> Iterator[dict[str, Any]]:
    """Keyword arguments for Brian2's ``Network.run``: its ``report=`` drives a tqdm bar
    (percent of simulated time, updated each wall-clock second) when ``spikelab.progress``
    shows bars; none otherwise."""
    if not show_bars():
        yield {}
        return
    with bar(total=100, desc="brian2", unit="%", leave=False) as shown:

        def report(elapsed: Any, completed: float, start: Any, duration: Any) -> None:
            shown.update(max(int(round(100 * completed)) - shown.n, 0))

        yield {"report": report, "report_period": 1 * b2.second}


@contextmanager
def _preferences(b2: Any, values: dict[str, Any]) -> Iterator[None]:
    """Set Brian2 preferences for the duration of a block, then restore them."""
    old = {k: b2.prefs[k] for k in values}
    try:
        for k, v in values.items():
            b2.prefs[k] = v
        yield
    finally:
        for k, v in old.items():
            b2.prefs[k] = v


@dataclass(eq=False)
class _Project:
    """A built cpp_standalone project and the device that built it."""

    device: Any
    built: Built
    directory: str


@dataclass(eq=False)
class Brian2Simulation:
    """A network compiled for Brian2 (see the module docstring for the modes)."""

    flat: FlatNetwork
    record: RecordSpec
    mode: str = "runtime"
    target: str = "numpy"
    directory: str | None = None
    threads: int = 1
    _project: _Project | None = field(default=None, repr=False)
    _tmpdir: Any = field(default=None, repr=False)

    @property
    def gap(self) -> int:
        """Steps between consecutive samples: every event of a sample lands before the next."""
        return self.flat.ring_len - 1

    def __repr__(self) -> str:
        return simulation_repr(self, self.flat, mode=self.mode, target=self.target)

    def run(self, batch: SpikeBatch) -> Recording:
        f = self.flat
        check_batch(batch, f.n_inputs, f.dt)
        b2 = _import_brian2()
        t0 = time.perf_counter()
        timing = {"loop_s": 0.0}
        if len(batch) == 0:
            spikes, voltage = Spikes.empty(), self._empty_voltage(0, batch.n_steps)
        else:
            with _quiet():
                run = self._run_runtime if self.mode == "runtime" else self._run_standalone
                spikes, voltage = run(b2, batch, timing)
        wall = time.perf_counter() - t0
        extras = {
            "backend": "brian2",
            "mode": self.mode,
            "target": self.target,
            "loop_s": timing["loop_s"],
            "build_s": max(wall - timing["loop_s"], 0.0),
        }
        return make_recording(f, self.record, batch, spikes, voltage, wall, extras)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the compiled network, not a built project (rebuilt where it is unpickled)."""
        state = dict(self.__dict__)
        state["_project"] = None
        state["_tmpdir"] = None
        return state

    # ---- runtime ------------------------------------------------------------------------
    def _prefs(self) -> dict[str, Any]:
        return {
            "codegen.target": self.target,
            "codegen.loop_invariant_optimisations": False,
            "codegen.cpp.extra_compile_args_gcc": list(EXACT_GCC_ARGS),
            "core.default_float_dtype": np.float64,
        }

    def _build(self, b2: Any, plan: Any, layout: Layout) -> Built:
        """The Brian2 objects of this network for one batch's input plan and layout."""
        inputs = input_arrays(plan, layout, self.flat.n_inputs)
        return build(b2, self.flat, layout, self.record.voltage, inputs)

    def _run_runtime(self, b2: Any, batch: SpikeBatch, timing: dict) -> tuple:
        plan = plan_inputs(batch, self.flat.n_inputs, self.gap)
        layout = make_layout(plan)
        with _preferences(b2, self._prefs()):
            built = self._build(b2, plan, layout)
            net = b2.Network(*built.objects)
            with _report(b2) as report:  # standalone runs a compiled binary: no live report
                net.run(layout.n_samples * layout.period * built.clock.dt, **report)
            timing["loop_s"] += float(b2.get_device()._last_run_time)
        return collect(self.flat, built, len(batch), self.record.voltage)

    # ---- cpp_standalone -----------------------------------------------------------------
    def _project_dir(self) -> str:
        if self.directory is not None:
            return os.fspath(self.directory)
        if self._tmpdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="spikelab_brian2_")
        return self._tmpdir.name

    def _run_standalone(self, b2: Any, batch: SpikeBatch, timing: dict) -> tuple:
        size = self._project.built.layout.n_samples if self._project else len(batch)
        parts = []
        for lo in range(0, len(batch), size):
            chunk = batch.subset(np.arange(lo, min(lo + size, len(batch))))
            plan = plan_inputs(chunk, self.flat.n_inputs, self.gap)
            proj = self._project
            if proj is not None and proj.built.layout.fits(plan):
                arrays = input_arrays(plan, proj.built.layout, self.flat.n_inputs)
                proj.device.run(
                    directory=proj.directory,
                    with_output=False,
                    run_args=proj.built.run_args(arrays),
                )
            else:
                proj = self._build_standalone(b2, plan, size)
            timing["loop_s"] += float(proj.device.timers["run_binary"])
            parts.append(collect(self.flat, proj.built, len(chunk), self.record.voltage))
        return Spikes.join(parts, size), self._join_voltage(parts)

    def _build_standalone(self, b2: Any, plan: Any, size: int) -> _Project:
        """Build (and run) a project for ``plan``, at least as large as the previous one."""
        from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
        from brian2.devices.device import reset_device, set_device

        layout = make_layout(plan)
        if self._project is not None:
            old = self._project.built.layout
            layout = Layout(
                max(size, layout.n_samples),
                layout.n_steps,
                layout.period,
                max(old.n_slots, layout.n_slots),
                max(old.capacity, layout.capacity),
            )
        directory = self._project_dir()
        device = CPPStandaloneDevice()
        threads = 0 if self.threads == 1 else self.threads  # 0: no OpenMP at all
        prefs = self._prefs() | {
            "devices.cpp_standalone.openmp_threads": threads,
            # Brian2's default is an unlimited `make -j`: dozens of compilers on a laptop
            "devices.cpp_standalone.extra_make_args_unix": [f"-j{os.cpu_count() or 1}"],
        }
        with _preferences(b2, prefs):
            set_device(device, build_on_run=False, directory=directory)
            try:
                built = self._build(b2, plan, layout)
                b2.Network(*built.objects).run(layout.n_samples * layout.period * built.clock.dt)
                device.build(directory=directory, compile=True, run=True, with_output=False)
            finally:
                reset_device()
        self._project = _Project(device, built, directory)
        return self._project

    # ---- voltage helpers ----------------------------------------------------------------
    def _empty_voltage(self, n_samples: int, n_steps: int) -> np.ndarray | None:
        k = len(self.record.voltage)
        return np.zeros((n_samples, n_steps, k)) if k else None

    @staticmethod
    def _join_voltage(parts: list[tuple]) -> np.ndarray | None:
        volts = [v for _, v in parts]
        return None if volts[0] is None else np.concatenate(volts, axis=0)


class Brian2Backend:
    """``get_backend("brian2", mode="runtime", target="numpy", directory=None, threads=1)``.

    mode : "runtime" (code generated and run from Python) or "cpp_standalone" (a compiled
        C++ project, built once and rerun for later batches).
    target : runtime code-generation target, "numpy" or "cython".
    directory : cpp_standalone project folder (default: a temporary one per simulation).
    threads : OpenMP threads for cpp_standalone (1: no OpenMP, deterministic sums).
    """

    name = "brian2"

    def __init__(
        self,
        mode: str = "runtime",
        target: str = "numpy",
        directory: str | os.PathLike | None = None,
        threads: int = 1,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"brian2 mode must be one of {MODES}, got {mode!r}")
        if target not in TARGETS:
            raise ValueError(f"brian2 target must be one of {TARGETS}, got {target!r}")
        if mode == "cpp_standalone" and target != "numpy":
            raise ValueError(
                f"target={target!r} applies to mode='runtime' only; cpp_standalone compiles C++"
            )
        if isinstance(threads, bool) or int(threads) != threads or int(threads) < 1:
            raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
        _import_brian2()
        self.mode = mode
        self.target = target
        self.directory = None if directory is None else os.fspath(directory)
        self.threads = int(threads)

    def compile(self, net: Network, *, dt: float, record: RecordSpec) -> Brian2Simulation:
        return Brian2Simulation(
            prepare(net, dt), record, self.mode, self.target, self.directory, self.threads
        )

"""The network description: populations, input ports and projections (plain data).

A ``Network`` is built once and run on any backend::

    sim = net.compile(backend="numba", dt=1.0)   # dt in ms
    rec = sim.run(batch)

Weights are ``scipy.sparse.csr_matrix`` of shape [n_source, n_target] (row = presynaptic
neuron or input channel, so a row is the fan-out of one source). Delays are whole steps,
a scalar per projection or one value per stored synapse in CSR order. Save and load with
``net.save(path)`` / ``Network.load(path)`` (HDF5, see ``spikelab.network_io``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from .neurons import Izhikevich, NeuronModel

if TYPE_CHECKING:
    from .backends.base import Simulation
    from .probe import ProbeReport
    from .spikes import RecordSpec, SpikeBatch


def normalise_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as plain JSON types (tuples become lists, numpy values Python values), so a
    network equals itself after a save/load round trip."""
    import json

    from .fileio import json_default

    try:
        return json.loads(json.dumps(dict(meta), default=json_default))
    except TypeError as e:
        raise TypeError(f"network metadata must be JSON-serialisable: {e}") from None


def _check_positive_dt(dt: Any, what: str) -> None:
    if isinstance(dt, bool) or not (isinstance(dt, numbers.Real) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"{what} must be a positive number of ms, got {dt!r}")


def _whole_size(size: Any, what: str) -> int:
    """``size`` as an int >= 1: a bool, a fraction or a non-number is an error, not truncated."""
    if (
        isinstance(size, bool)
        or not isinstance(size, numbers.Real)
        or not math.isfinite(size)
        or size != int(size)
    ):
        raise ValueError(f"{what} must have a whole size >= 1, got {size!r}")
    if int(size) < 1:
        raise ValueError(f"{what} must have size >= 1, got {size}")
    return int(size)


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"{kind} name must be a non-empty string without '/', got {name!r}")


@dataclass(frozen=True, kw_only=True, eq=False)
class Population:
    """A group of ``size`` neurons sharing one model (parameters may vary per neuron).

    positions : optional [size, 3] coordinates (grid units), used by spatial builders.
    """

    name: str
    size: int
    model: NeuronModel
    positions: np.ndarray | None = None

    def __repr__(self) -> str:
        from .describe import population_repr

        return population_repr(self)

    def __post_init__(self) -> None:
        _check_name("population", self.name)
        object.__setattr__(self, "size", _whole_size(self.size, f"population {self.name!r}"))
        if not isinstance(self.model, NeuronModel):
            raise TypeError(
                f"population {self.name!r}: model must be a neuron model (LIF, Izhikevich), "
                f"got {type(self.model).__name__}"
            )
        for n in self.model.sizes():
            if n != self.size:
                raise ValueError(
                    f"population {self.name!r} has {self.size} neurons but a model parameter "
                    f"has {n} values; give a scalar or one value per neuron"
                )
        if self.positions is not None:
            pos = np.array(self.positions, dtype=np.float64)
            if pos.shape != (self.size, 3):
                raise ValueError(
                    f"population {self.name!r}: positions must have shape ({self.size}, 3), "
                    f"got {pos.shape}"
                )
            if not np.all(np.isfinite(pos)):
                raise ValueError(
                    f"population {self.name!r}: positions contain NaN or inf; give finite "
                    "coordinates (grid units)"
                )
            pos.setflags(write=False)
            object.__setattr__(self, "positions", pos)


@dataclass(frozen=True, kw_only=True, eq=False)
class InputPort:
    """``size`` input channels; ``shape`` optionally says how they are laid out (e.g. 34x34x2)."""

    name: str
    size: int
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        _check_name("input port", self.name)
        object.__setattr__(self, "size", _whole_size(self.size, f"input port {self.name!r}"))
        if self.shape is not None:
            shape = tuple(int(s) for s in self.shape)
            if math.prod(shape) != self.size:
                raise ValueError(
                    f"input port {self.name!r}: shape {shape} holds {math.prod(shape)} channels, "
                    f"but size is {self.size}"
                )
            object.__setattr__(self, "shape", shape)


#: The longest delay (steps) a projection may have: a simulation keeps a ring buffer of
#: max_delay + 1 steps per neuron, so a larger one is a damaged file or a unit mistake.
MAX_DELAY_STEPS = 10**6


def _check_csr(label: str, w: sp.csr_matrix) -> None:
    """CSR structure a kernel can trust: indptr from 0 to nnz, non-decreasing; every column
    index within [0, n_target). (scipy checks none of this on construction.)"""
    indptr, indices = np.asarray(w.indptr), np.asarray(w.indices)
    n_rows, n_cols = w.shape
    if len(indptr) != n_rows + 1 or indptr[0] != 0 or indptr[-1] != len(indices):
        raise ValueError(
            f"projection {label!r}: damaged CSR weights: indptr must have {n_rows + 1} entries "
            f"from 0 to nnz={len(indices)}, got {len(indptr)} from {indptr[0]} to {indptr[-1]}; "
            "rebuild the weights with scipy.sparse.csr_matrix"
        )
    if np.any(np.diff(indptr) < 0):
        raise ValueError(
            f"projection {label!r}: damaged CSR weights: indptr decreases at row "
            f"{int(np.argmax(np.diff(indptr) < 0))}; it must be non-decreasing"
        )
    bad = (indices < 0) | (indices >= n_cols)
    if np.any(bad):
        raise ValueError(
            f"projection {label!r}: {int(bad.sum())} column indices outside [0, {n_cols}) "
            f"(the target's size), e.g. {int(indices[bad][0])}; fix or rebuild the weights"
        )


def _checked_delays(label: str, delays: Any) -> np.ndarray:
    """Delays as an array of whole, finite steps within [0, MAX_DELAY_STEPS]."""
    d = np.asarray(delays)
    if d.dtype.kind not in "iuf":
        raise TypeError(
            f"projection {label!r}: delays must be numbers of steps, got dtype {d.dtype}"
        )
    if d.dtype.kind == "f":  # compare in float64: 10**6 overflows a float16
        d = d.astype(np.float64)
    if d.size and not np.all(np.isfinite(d)):
        raise ValueError(f"projection {label!r}: delays must be finite whole steps")
    if d.size and not np.all(np.equal(np.mod(d, 1), 0)):
        raise ValueError(f"projection {label!r}: delays are whole steps, got {d.ravel()[:5]}")
    if d.size and d.min() < 0:
        raise ValueError(f"projection {label!r}: delays must be >= 0, got {d.min():g}")
    if d.size and d.max() > MAX_DELAY_STEPS:
        raise ValueError(
            f"projection {label!r}: delays must be at most {MAX_DELAY_STEPS} steps, got "
            f"{d.max():g}; a delay is a number of steps of dt, not ms"
        )
    return d


@dataclass(frozen=True, kw_only=True, eq=False)
class Projection:
    """Synapses from ``source`` (a population or input port) to ``target`` (a population).

    weights : CSR [n_source, n_target]; mV for LIF targets, mV/ms for Izhikevich targets.
    delays : whole steps; a scalar or an int array aligned with ``weights.data``.
    """

    source: str
    target: str
    weights: sp.csr_matrix
    delays: int | np.ndarray = 1
    name: str = ""

    def __post_init__(self) -> None:
        label = self.name or f"{self.source}->{self.target}"
        object.__setattr__(self, "name", label)
        w = self.weights
        if not sp.issparse(w):
            w = sp.csr_matrix(np.asarray(w, dtype=np.float64))
        w = sp.csr_matrix(w, dtype=np.float64, copy=True)
        if w.ndim != 2:
            raise ValueError(f"projection {label!r}: weights must be 2-D, got {w.ndim}-D")
        _check_csr(label, w)
        if not np.all(np.isfinite(w.data)):
            raise ValueError(
                f"projection {label!r}: weights contain NaN or inf; replace them with finite values"
            )
        delays = _checked_delays(label, self.delays)
        if delays.ndim == 0:
            w.sum_duplicates()
            w.sort_indices()
            object.__setattr__(self, "delays", int(delays))
        else:
            if delays.shape != (w.nnz,):
                raise ValueError(
                    f"projection {label!r}: per-synapse delays must have one entry per stored "
                    f"weight ({w.nnz}), got shape {delays.shape}"
                )
            if not (w.has_canonical_format):
                raise ValueError(
                    f"projection {label!r}: with per-synapse delays, give weights in canonical "
                    "CSR form (sorted indices, no duplicates) so delays align with weights.data"
                )
            d = delays.astype(np.int32)
            d.setflags(write=False)
            object.__setattr__(self, "delays", d)
        if self.min_delay < 0:
            raise ValueError(f"projection {label!r}: delays must be >= 0, got {self.min_delay}")
        w.data.setflags(write=False)
        object.__setattr__(self, "weights", w)

    @property
    def min_delay(self) -> int:
        d = self.delays
        return int(d) if np.ndim(d) == 0 else (int(d.min()) if d.size else 1)

    @property
    def max_delay(self) -> int:
        d = self.delays
        return int(d) if np.ndim(d) == 0 else (int(d.max()) if d.size else 1)

    def delay_array(self) -> np.ndarray:
        """Delays as an int32 array aligned with ``weights.data``."""
        if np.ndim(self.delays) == 0:
            return np.full(self.weights.nnz, self.delays, dtype=np.int32)
        return np.asarray(self.delays, dtype=np.int32)

    def __repr__(self) -> str:
        from .describe import projection_repr

        return projection_repr(self)


@dataclass(frozen=True, kw_only=True, eq=False)
class Network:
    """Populations, input ports and projections; validated on construction.

    dt : the step (ms) the network was built for, when its delays (whole steps) and weights
        assume one (the builders set it); it is then the only step it compiles and exports
        at, and another is an error. None: a network written in steps, valid at any dt.
    """

    populations: tuple[Population, ...]
    inputs: tuple[InputPort, ...] = ()
    projections: tuple[Projection, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    dt: float | None = None

    def __post_init__(self) -> None:
        for name in ("populations", "inputs", "projections"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "metadata", normalise_metadata(self.metadata))
        if self.dt is not None:
            _check_positive_dt(self.dt, "Network.dt")
            object.__setattr__(self, "dt", float(self.dt))
        if not self.populations:
            raise ValueError("a network needs at least one population")
        names = [p.name for p in self.populations] + [i.name for i in self.inputs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"population and input names must be unique; repeated: {dupes}")
        for pr in self.projections:
            self._check_projection(pr)

    def _check_projection(self, pr: Projection) -> None:
        """Its source and target exist, its weights fit them, recurrent delays are >= 1."""
        sizes = {p.name: p.size for p in self.populations} | {i.name: i.size for i in self.inputs}
        pop_names = {p.name for p in self.populations}
        if pr.source not in sizes:
            raise ValueError(
                f"projection {pr.name!r}: unknown source {pr.source!r}; "
                f"populations and inputs are {sorted(sizes)}"
            )
        if pr.target not in pop_names:
            raise ValueError(
                f"projection {pr.name!r}: unknown target population {pr.target!r}; "
                f"populations are {sorted(pop_names)}"
            )
        want = (sizes[pr.source], sizes[pr.target])
        if pr.weights.shape != want:
            raise ValueError(
                f"projection {pr.name!r}: weights have shape {pr.weights.shape}, expected "
                f"{want} ([{pr.source} size, {pr.target} size])"
            )
        if pr.source in pop_names and pr.weights.nnz and pr.min_delay < 1:
            raise ValueError(
                f"projection {pr.name!r}: a delay between populations must be >= 1 step "
                f"(a spike at step t arrives at t + delay), got {pr.min_delay}"
            )

    # ---- sizes and indexing -------------------------------------------------------------
    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    @property
    def n_inputs(self) -> int:
        return sum(i.size for i in self.inputs)

    @property
    def n_synapses(self) -> int:
        return sum(p.weights.nnz for p in self.projections)

    def population_slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for p in self.populations:
            out[p.name] = slice(start, start + p.size)
            start += p.size
        return out

    def input_slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for i in self.inputs:
            out[i.name] = slice(start, start + i.size)
            start += i.size
        return out

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population {name!r}; populations: {[p.name for p in self.populations]}")

    def is_input(self, name: str) -> bool:
        return any(i.name == name for i in self.inputs)

    def pop_table(self) -> tuple[tuple[str, int, int], ...]:
        return tuple((n, s.start, s.stop) for n, s in self.population_slices().items())

    # ---- checks that need dt ------------------------------------------------------------
    def resolve_dt(self, dt: float | None) -> float:
        """The step (ms) to compile or export at: ``dt``, else the network's own, else 1 ms;
        checked with ``check_dt``."""
        if dt is None:
            dt = 1.0 if self.dt is None else self.dt
        self.check_dt(dt)
        return float(dt)

    def check_dt(self, dt: float) -> None:
        """Raise ValueError if dt (ms) is not the step the network was built for (``dt``), or
        not small against the network's time constants."""
        _check_positive_dt(dt, "dt")
        if self.dt is not None and not math.isclose(float(dt), self.dt, rel_tol=1e-12):
            raise ValueError(
                f"dt={dt} ms differs from the step this network was built for ({self.dt} ms): "
                "its delays (whole steps) and step-based weights assume that step. Compile "
                f"with dt={self.dt}, or rebuild the network with dt={dt}"
            )
        for p in self.populations:
            tau = p.model.smallest_time_constant()
            if dt > tau:
                raise ValueError(
                    f"dt={dt} ms is not small against the time constants of population "
                    f"{p.name!r} (smallest {tau:.4g} ms); use dt <= {tau:.4g} ms"
                )
            if isinstance(p.model, Izhikevich) and dt > 1.0:
                raise ValueError(
                    f"dt={dt} ms is too large for the Izhikevich population {p.name!r}: its "
                    "2003 integration scheme needs dt <= 1 ms"
                )

    # ---- running ------------------------------------------------------------------------
    def compile(
        self,
        backend: str = "numba",
        *,
        dt: float | None = None,
        record: RecordSpec | None = None,
        **options: Any,
    ) -> Simulation:
        """Compile for ``backend`` (a registered name, or "auto"); ``options`` go to it.

        dt : step in ms (default: the network's ``dt``, else 1 ms).
        record : a ``RecordSpec`` (default: one count bin per run).
        """
        from .backends.base import get_backend
        from .spikes import RecordSpec

        dt = self.resolve_dt(dt)
        record = RecordSpec() if record is None else record
        if not isinstance(record, RecordSpec):
            raise TypeError(f"record must be a RecordSpec, got {type(record).__name__}")
        for i in record.voltage:
            if not 0 <= i < self.n_neurons:
                raise ValueError(
                    f"record.voltage index {i} out of range for {self.n_neurons} neurons"
                )
        return get_backend(backend, **options).compile(self, dt=float(dt), record=record)

    # ---- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        from .network_io import save_network

        return save_network(self, path)

    @staticmethod
    def load(path: str | Path) -> Network:
        from .network_io import load_network

        return load_network(path, Network.from_parts)

    @staticmethod
    def from_parts(parts: Mapping[str, Any]) -> Network:
        """A network from plain parts (what ``spikelab.network_io`` reads from a file)."""
        return Network(
            populations=tuple(Population(**p) for p in parts["populations"]),
            inputs=tuple(InputPort(**i) for i in parts["inputs"]),
            projections=tuple(Projection(**p) for p in parts["projections"]),
            metadata=parts["metadata"],
            dt=parts["dt"],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        from .network_io import networks_equal

        return networks_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    # ---- reading and probing ------------------------------------------------------------
    def __repr__(self) -> str:
        from .describe import network_repr

        return network_repr(self)

    def summary(self) -> str:
        """A table (str) of the populations (size, model, parameter ranges), inputs,
        projections (synapses, fan-in/fan-out mean/max, delays, weights) and memory."""
        from .describe import network_summary

        return network_summary(self)

    def probe(self, batch: SpikeBatch, backend: str = "numba", **options: Any) -> ProbeReport:
        """Simulate the first few samples of ``batch`` (``samples=8``) on ``backend`` and
        report rates, silent and saturated fractions and synchrony per population, with a
        warning when the reservoir is nearly silent or saturated (``spikelab.probe``;
        ``report.save(folder)`` writes the text, JSON and raster)."""
        from .probe import probe_network

        return probe_network(self, batch, backend, **options)

    def with_projections(self, projections: Iterable[Projection]) -> Network:
        return Network(
            populations=self.populations,
            inputs=self.inputs,
            projections=tuple(projections),
            metadata=self.metadata,
            dt=self.dt,
        )

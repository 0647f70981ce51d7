"""NIR (Neuromorphic Intermediate Representation) export and import.

``to_nir(net)`` builds a ``nir.NIRGraph``; ``export_nir(net, path)`` writes it with
``nir.write``; ``from_nir(graph_or_path)`` reads one back into a ``Network``.

Mapping (docs/export.md has the full table)
------------------------------------------
* input port -> ``nir.Input`` (one per port); population -> ``nir.CubaLIF`` with an
  ``nir.Output``; projection -> ``nir.Linear`` (dense weight [n_target, n_source]), one per
  distinct delay, followed by ``nir.Delay`` when the delay exceeds the one-step latency
  that a discrete-time simulator gives a recurrent edge (0 steps for inputs, 1 step
  between populations).
* NIR nodes are continuous-time. The exported parameters are those whose forward-Euler
  discretisation with step dt (the convention of norse's and Sinabs' NIR importers)
  reproduces spikelab's exact update bit for bit in real arithmetic::

      tau_syn = dt / (1 - beta)   w_in = 1 / (1 - beta)   (beta = exp(-dt/tau_syn), 0 if delta)
      tau_mem = dt / (1 - alpha)  r    = 1 / (1 - alpha)  (alpha = exp(-dt/tau_mem))
      v_leak = v_rest + bias,  v_threshold = v_th,  v_reset = v_reset

  (tau_nir is within dt/2 of the physical tau for tau >> dt). Times are in seconds by
  default (``time_unit="s"``; NIR's examples and norse's default dt = 1e-3 s).
* Not representable: Izhikevich neurons (no NIR node) and refractory periods (CubaLIF has
  none). Both raise ``UnsupportedFeature``; with ``strict=False`` a refractory period is
  kept only in the node's metadata (other tools ignore it).
* spikelab's exact parameters, names, sparsity, delays and the network metadata travel in
  NIR metadata, so ``from_nir(to_nir(net)) == net`` bit for bit. Graphs from other tools
  are read through the inverse Euler mapping (CubaLIF, LIF; Linear, Affine without bias;
  Delay); anything else raises ``UnsupportedFeature``.

norse 1.1's importer reproduces spikelab's spikes only for v_rest = v_reset = bias = 0 and
no refractoriness: it resets to 0 whatever v_reset says and also pulls the synaptic current
towards v_leak.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import ir as K
from ..backends.base import UnsupportedFeature
from ..fileio import atomic_path, json_default
from ..ir import flatten
from ..network import InputPort, Network, Population, Projection
from ..neurons import LIF, model_from_dict

FORMAT = "spikelab.nir"
FORMAT_VERSION = 1
TIME_UNITS = {"s": 1e-3, "ms": 1.0}  # NIR time units per ms


def _import_nir() -> Any:
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - nir is installed in both venvs
        raise ImportError(
            "NIR export needs the nir package: pip install 'spikelab[nir]' (or: pip install nir)"
        ) from exc
    return nir


def _dt_ms(net: Network, dt: float | None) -> float:
    return net.resolve_dt(None if dt is None else float(dt))


# ---- export ------------------------------------------------------------------------------


def _add(nodes: dict[str, Any], name: str, node: Any) -> None:
    if name in nodes:
        raise ValueError(
            f"NIR node name {name!r} is used twice: a population or input port is named like a "
            "generated node ('proj<k>', '<population>_output'); rename it"
        )
    nodes[name] = node


def _population_node(nir: Any, pop: Population, flat: Any, sl: slice, dt_u: float,
                     strict: bool, index: int) -> Any:  # fmt: skip
    if not isinstance(pop.model, LIF):
        raise UnsupportedFeature(
            f"population {pop.name!r} is {pop.model.kind}: NIR 1.0 has no node for it "
            "(only LIF-family neurons); export a LIF network, or use the Lava artifact"
        )
    m = pop.model.expand(pop.size)
    if strict and np.any(m["t_ref"] > 0):
        raise UnsupportedFeature(
            f"population {pop.name!r} has a refractory period (t_ref={float(m['t_ref'].max())} "
            "ms) and NIR's CubaLIF has none; pass strict=False (on the command line: "
            "`spikelab export ... --lenient`) to export without it (it is then "
            "kept only in spikelab's metadata, which other tools ignore)"
        )
    alpha, beta = flat.params[K.ALPHA, sl], flat.params[K.BETA, sl]
    meta = {"spikelab_population": index, "model": pop.model.kind}
    # 0-d arrays as Python floats: nir.write compresses arrays, and HDF5 cannot compress scalars
    meta.update({f"param_{k}": (v.item() if np.ndim(v) == 0 else np.asarray(v))
                 for k, v in pop.model.to_dict().items()})  # fmt: skip
    if pop.positions is not None:
        meta["positions"] = np.asarray(pop.positions)
    return nir.CubaLIF(
        tau_syn=dt_u / (1.0 - beta),
        tau_mem=dt_u / (1.0 - alpha),
        r=1.0 / (1.0 - alpha),
        v_leak=m["v_rest"] + m["bias"],
        v_threshold=m["v_th"].copy(),
        v_reset=m["v_reset"].copy(),
        w_in=1.0 / (1.0 - beta),
        metadata=meta,
    )


def _projection_nodes(nir: Any, net: Network, k: int, pr: Projection, dt_u: float,
                      nodes: dict, edges: list) -> None:  # fmt: skip
    w = pr.weights
    rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    d = pr.delay_array()
    natural = 0 if net.is_input(pr.source) else 1
    values = np.unique(d) if len(d) else np.array([natural])
    for part, value in enumerate(values):
        idx = np.flatnonzero(d == value)
        dense = np.zeros((w.shape[1], w.shape[0]))
        dense[w.indices[idx], rows[idx]] = w.data[idx]
        name = f"proj{k}" if len(values) == 1 else f"proj{k}_d{int(value)}"
        meta: dict[str, Any] = {
            "spikelab_projection": k, "name": pr.name, "source": pr.source,
            "target": pr.target, "delay_steps": int(value), "synapse_index": idx,
            "scalar_delay": np.ndim(pr.delays) == 0,
        }  # fmt: skip
        if part == 0:
            meta.update(indptr=w.indptr.astype(np.int64), indices=w.indices.astype(np.int64))
        _add(nodes, name, nir.Linear(weight=dense, metadata=meta))
        edges.append((pr.source, name))
        if value == natural:
            edges.append((name, pr.target))
        else:
            delay = f"{name}_delay"
            _add(nodes, delay, nir.Delay(delay=np.full(w.shape[1], (value - natural) * dt_u)))
            edges += [(name, delay), (delay, pr.target)]


def to_nir(net: Network, *, dt: float | None = None, time_unit: str = "s",
           strict: bool = True) -> Any:  # fmt: skip
    """``net`` as a ``nir.NIRGraph`` for a simulation step of ``dt`` ms (default: the
    network's ``dt``, else 1 ms); NIR times in ``time_unit`` ("s" or "ms")."""
    nir = _import_nir()
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}")
    dt_ms = _dt_ms(net, dt)
    dt_u = dt_ms * TIME_UNITS[time_unit]
    flat = flatten(net, dt_ms)
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    for i, port in enumerate(net.inputs):
        nodes[port.name] = nir.Input(
            input_type={"input": np.array([port.size])},
            metadata={"spikelab_input": i, "shape": json.dumps(port.shape)},
        )
    for i, (pop, sl) in enumerate(zip(net.populations, net.population_slices().values(),
                                      strict=True)):  # fmt: skip
        _add(nodes, pop.name, _population_node(nir, pop, flat, sl, dt_u, strict, i))
        out = f"{pop.name}_output"
        _add(nodes, out, nir.Output(output_type={"output": np.array([pop.size])}))
        edges.append((pop.name, out))
    for k, pr in enumerate(net.projections):
        _projection_nodes(nir, net, k, pr, dt_u, nodes, edges)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dt": dt_u,
        "dt_ms": dt_ms,
        "time_unit": time_unit,
        "discretisation": "forward-Euler-matched",
        "network_metadata": json.dumps(net.metadata, default=json_default),
        "network_dt_ms": json.dumps(net.dt),
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def export_nir(net: Network, path: str | Path, *, dt: float | None = None,
               time_unit: str = "s", strict: bool = True) -> Path:  # fmt: skip
    """Write ``net`` as a NIR file (HDF5, ``nir.write``) atomically; returns the path."""
    nir = _import_nir()
    graph = to_nir(net, dt=dt, time_unit=time_unit, strict=strict)
    path = Path(path)
    if not path.parent.exists():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    tmp = atomic_path(path)
    try:
        nir.write(tmp, graph)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# ---- import ------------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    """Metadata read back from HDF5 (bytes, numpy scalars) as plain Python/numpy values."""
    if isinstance(v, bytes):
        return v.decode("utf8")
    if isinstance(v, np.generic):
        return v.item()
    return v


def _meta(node: Any) -> dict[str, Any]:
    return {k: _plain(v) for k, v in (getattr(node, "metadata", None) or {}).items()}


def _euler(node: Any, dt_u: float, dt_ms: float, name: str) -> tuple[LIF, np.ndarray]:
    """A LIF model and the per-neuron gain on incoming weights, from a CubaLIF/LIF node."""
    nir = _import_nir()
    cuba = isinstance(node, nir.CubaLIF)
    tau_mem = np.asarray(node.tau_mem if cuba else node.tau, dtype=np.float64).ravel()
    if np.any(tau_mem <= dt_u):
        raise UnsupportedFeature(
            f"node {name!r}: tau_mem={float(tau_mem.min())} is not above the step dt={dt_u}; "
            "its forward-Euler update does not decay"
        )
    alpha = 1.0 - dt_u / tau_mem
    beta = np.zeros_like(alpha)
    gain = (1.0 - alpha) * np.asarray(node.r, dtype=np.float64).ravel()
    if cuba:
        tau_syn = np.asarray(node.tau_syn, dtype=np.float64).ravel()
        if np.any(tau_syn < dt_u):
            raise UnsupportedFeature(f"node {name!r}: tau_syn below the step dt={dt_u}")
        beta = 1.0 - dt_u / tau_syn
        gain = gain * (1.0 - beta) * np.asarray(node.w_in, dtype=np.float64).ravel()
    with np.errstate(divide="ignore"):
        tau_syn_ms = np.where(beta > 0, -dt_ms / np.log(np.where(beta > 0, beta, 0.5)), 0.0)
    v_leak = np.asarray(node.v_leak, dtype=np.float64).ravel()
    model = LIF(
        tau_mem=-dt_ms / np.log(alpha),
        tau_syn=tau_syn_ms,
        v_rest=v_leak,
        v_reset=np.asarray(node.v_reset, dtype=np.float64).ravel(),
        v_th=np.asarray(node.v_threshold, dtype=np.float64).ravel(),
        bias=0.0,
    )
    return model, gain


def _own_model(node: Any, meta: dict[str, Any], to_node: Any) -> Any | None:
    """spikelab's exact model from metadata, if the node's parameters still agree with it."""
    params = {k[len("param_") :]: np.asarray(v) for k, v in meta.items() if k.startswith("param_")}
    if meta.get("model") is None or not params:
        return None
    model = model_from_dict(meta["model"], params)
    expect = to_node(model)
    for key in ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"):
        if not np.allclose(
            np.asarray(getattr(node, key)), getattr(expect, key), rtol=1e-12, atol=0.0
        ):
            return None  # edited after export: trust the NIR parameters
    return model


class _Reader:
    """Turns a NIR graph into populations, inputs and projections."""

    def __init__(self, graph: Any, dt_ms: float, dt_u: float) -> None:
        self.nir = _import_nir()
        self.g, self.dt_ms, self.dt_u = graph, dt_ms, dt_u
        self.succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
        self.pred: dict[str, list[str]] = {n: [] for n in graph.nodes}
        for a, b in graph.edges:
            self.succ[a].append(b)
            self.pred[b].append(a)
        self.gain: dict[str, np.ndarray] = {}

    def inputs(self) -> list[InputPort]:
        ports = []
        for name, node in self.g.nodes.items():
            if isinstance(node, self.nir.Input):
                meta = _meta(node)
                shape = json.loads(meta["shape"]) if "shape" in meta else None
                size = int(np.prod(node.input_type["input"]))
                ports.append(
                    (
                        meta.get("spikelab_input", len(ports)),
                        InputPort(name=name, size=size, shape=tuple(shape) if shape else None),
                    )
                )
        return [p for _, p in sorted(ports, key=lambda t: t[0])]

    def populations(self) -> list[Population]:
        nir, pops = self.nir, []
        for name, node in self.g.nodes.items():
            if isinstance(node, nir.CubaLIF | nir.LIF):
                pops.append(self._population(name, node))
            elif isinstance(node, nir.NIRGraph):
                raise UnsupportedFeature(f"node {name!r}: nested NIR graphs are not supported")
            elif not isinstance(node, nir.Input | nir.Output | nir.Linear | nir.Affine | nir.Delay):
                raise UnsupportedFeature(
                    f"node {name!r} is a {type(node).__name__}; spikelab reads CubaLIF and LIF "
                    "neurons, Linear/Affine weights, Delay, Input and Output nodes"
                )
        return [p for _, p in sorted(pops, key=lambda t: t[0])]

    def _population(self, name: str, node: Any) -> tuple[int, Population]:
        meta = _meta(node)
        size = int(np.asarray(node.v_threshold).size)
        model = None
        if isinstance(node, self.nir.CubaLIF):
            model = _own_model(node, meta, lambda m: self._cuba(m, size))
        if model is not None:
            self.gain[name] = np.ones(size)
        else:
            model, self.gain[name] = _euler(node, self.dt_u, self.dt_ms, name)
        positions = meta.get("positions")
        pop = Population(
            name=name,
            size=size,
            model=model,
            positions=None if positions is None else np.asarray(positions),
        )
        return meta.get("spikelab_population", 1 << 30), pop

    def _cuba(self, model: LIF, size: int) -> Any:
        """The CubaLIF node ``to_nir`` writes for ``model``."""
        m = model.expand(size)
        alpha = np.exp(-self.dt_ms / m["tau_mem"])
        ts = m["tau_syn"]
        with np.errstate(divide="ignore"):
            beta = np.where(ts > 0, np.exp(-self.dt_ms / np.where(ts > 0, ts, 1.0)), 0.0)
        return self.nir.CubaLIF(
            tau_syn=self.dt_u / (1 - beta),
            tau_mem=self.dt_u / (1 - alpha),
            r=1 / (1 - alpha),
            v_leak=m["v_rest"] + m["bias"],
            v_threshold=m["v_th"],
            v_reset=m["v_reset"],
            w_in=1 / (1 - beta),
        )

    def _path(self, name: str) -> tuple[str, str, np.ndarray | None]:
        """(source, target, delay per target in NIR time or None) of a weight node."""
        pre, post = self.pred[name], self.succ[name]
        if len(pre) != 1 or len(post) != 1:
            raise UnsupportedFeature(
                f"weight node {name!r} must have one source and one target, has {pre} -> {post}"
            )
        target, delay = post[0], None
        if isinstance(self.g.nodes[target], self.nir.Delay):
            delay = np.asarray(self.g.nodes[target].delay, dtype=np.float64).ravel()
            if len(self.succ[target]) != 1:
                raise UnsupportedFeature(f"delay node {target!r} must have one target")
            target = self.succ[target][0]
        return pre[0], target, delay

    def projections(self, net_inputs: set[str]) -> list[Projection]:
        parts: dict[int, list[tuple[str, Any, dict]]] = {}
        projs: list[tuple[float, Projection]] = []
        for name, node in self.g.nodes.items():
            if not isinstance(node, self.nir.Linear | self.nir.Affine):
                continue
            if isinstance(node, self.nir.Affine) and np.any(np.asarray(node.bias) != 0):
                raise UnsupportedFeature(f"node {name!r}: an Affine bias has no spikelab mapping")
            meta = _meta(node)
            if "spikelab_projection" in meta:
                parts.setdefault(int(meta["spikelab_projection"]), []).append((name, node, meta))
            else:
                projs.append((math.inf, self._foreign(name, node, net_inputs)))
        for k, group in parts.items():
            projs.append((k, self._own(group, net_inputs)))
        return [p for _, p in sorted(projs, key=lambda t: t[0])]

    def _steps(self, source: str, delay: np.ndarray | None, n: int, net_inputs: set[str],
               label: str) -> np.ndarray:  # fmt: skip
        natural = 0 if source in net_inputs else 1
        if delay is None:
            return np.full(n, natural, dtype=np.int64)
        steps = delay / self.dt_u
        if not np.allclose(steps, np.rint(steps), rtol=0, atol=1e-6):
            raise UnsupportedFeature(f"{label}: delays {delay} are not whole steps of {self.dt_u}")
        return natural + np.rint(steps).astype(np.int64)

    def _foreign(self, name: str, node: Any, net_inputs: set[str]) -> Projection:
        source, target, delay = self._path(name)
        w = np.asarray(node.weight, dtype=np.float64)  # [n_target, n_source]
        d_t = self._steps(source, delay, w.shape[0], net_inputs, f"node {name!r}")
        scaled = w * self.gain[target][:, None]
        csr = sp.csr_matrix(scaled.T)
        csr.sort_indices()
        delays = d_t[csr.indices]  # the delay of each synapse's target neuron
        return Projection(
            source=source,
            target=target,
            weights=csr,
            name=name,
            delays=int(delays[0]) if len(np.unique(delays)) == 1 else delays,
        )

    def _own(self, group: list[tuple[str, Any, dict]], net_inputs: set[str]) -> Projection:
        head = next(m for _, _, m in group if "indptr" in m)
        indptr, indices = np.asarray(head["indptr"]), np.asarray(head["indices"])
        n_src = len(indptr) - 1
        rows = np.repeat(np.arange(n_src), np.diff(indptr))
        data = np.zeros(len(indices))
        delays = np.zeros(len(indices), dtype=np.int64)
        for name, node, meta in group:
            source, target, delay = self._path(name)
            idx = np.asarray(meta["synapse_index"], dtype=np.int64).ravel()
            w = np.asarray(node.weight, dtype=np.float64)
            data[idx] = w[indices[idx], rows[idx]] * self.gain[target][indices[idx]]
            delays[idx] = self._steps(source, delay, w.shape[0], net_inputs, f"node {name!r}")[
                indices[idx]
            ]
        csr = sp.csr_matrix((data, indices, indptr), shape=(n_src, len(w)))
        scalar = bool(head.get("scalar_delay")) and len(np.unique(delays)) <= 1
        return Projection(
            source=head["source"],
            target=head["target"],
            weights=csr,
            name=head["name"],
            delays=int(delays[0])
            if scalar and len(delays)
            else (delays.astype(np.int32) if len(delays) else 1),
        )


def _raised_by_spikelab(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is spikelab's code."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    package = Path(__file__).resolve().parents[1]
    return tb is not None and package in Path(tb.tb_frame.f_code.co_filename).resolve().parents


def _read_file(nir: Any, path: Path) -> Any:
    """``nir.read(path)``; what h5py and nir raise on a damaged file becomes a ValueError
    naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"no NIR file at {path}")
    try:
        return nir.read(str(path))
    except Exception as exc:  # h5py's OSError, nir's KeyError/TypeError/ValueError, ...
        raise ValueError(
            f"{path} is not a readable NIR file ({type(exc).__name__}: {exc}); write it with "
            "nir.write or `spikelab export --to nir`"
        ) from None


def from_nir(graph: Any, *, dt: float | None = None, time_unit: str = "s") -> Network:
    """A ``Network`` from a ``nir.NIRGraph`` or a NIR file.

    dt : simulation step in ms the graph's continuous-time parameters are discretised with;
        taken from the graph's metadata when spikelab wrote it, else required.
    time_unit : the graph's time unit ("s" or "ms") when the metadata does not say.
    """
    nir = _import_nir()
    source = "this NIR graph"
    if isinstance(graph, str | Path):
        source, graph = str(graph), _read_file(nir, Path(graph))
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"from_nir needs a nir.NIRGraph or a file path, got {type(graph).__name__}")
    try:
        with warnings.catch_warnings():  # numpy's warnings on damaged values become errors:
            # complex arrays losing their imaginary part, overflows, arrays used as scalars
            for category in (RuntimeWarning, DeprecationWarning):
                warnings.filterwarnings("error", category=category, module=r"spikelab\.")
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            return _network(graph, dt, time_unit)
    except (KeyError, IndexError, StopIteration, AttributeError, OverflowError, TypeError,
            ValueError, RuntimeWarning, DeprecationWarning) as exc:  # fmt: skip
        if isinstance(exc, TypeError | ValueError) and _raised_by_spikelab(exc):
            raise  # our own message (Network's checks, a missing dt, ...)
        # a graph damaged after export (missing or mistyped metadata, arrays of another
        # shape): one error naming the file instead of a traceback from numpy or scipy
        raise ValueError(
            f"{source} cannot be read as a spikelab network ({type(exc).__name__}: {exc}); "
            "re-export it, or check the graph's nodes and metadata"
        ) from exc


def _network(graph: Any, dt: float | None, time_unit: str) -> Network:
    """``from_nir`` of a ``nir.NIRGraph``."""
    meta = {k: _plain(v) for k, v in (graph.metadata or {}).items()}
    unit = meta.get("time_unit", time_unit)
    if unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {unit!r}")
    if dt is None and "dt_ms" not in meta:
        raise ValueError("this NIR graph does not state its step: pass dt (ms) to from_nir")
    dt_ms = float(meta["dt_ms"]) if dt is None else float(dt)
    if not (math.isfinite(dt_ms) and dt_ms > 0):
        what = "dt" if dt is not None else "the graph's metadata dt_ms"
        raise ValueError(f"{what} must be a finite step > 0 ms, got {dt_ms}")
    reader = _Reader(graph, dt_ms, dt_ms * TIME_UNITS[unit])
    inputs = reader.inputs()
    pops = reader.populations()
    projs = reader.projections({p.name for p in inputs})
    metadata = json.loads(meta["network_metadata"]) if "network_metadata" in meta else {}
    # the step the network is built for: spikelab's own graphs state it (null: in steps);
    # a foreign graph is discretised here with dt_ms, so it is built for that step
    net_dt = json.loads(meta["network_dt_ms"]) if "network_dt_ms" in meta else dt_ms
    net_dt = metadata.pop("dt", net_dt)  # graphs written before Network.dt kept it here
    return Network(
        populations=tuple(pops),
        inputs=tuple(inputs),
        projections=tuple(projs),
        metadata=metadata,
        dt=net_dt,
    )

"""Lava deployment artifact: a process graph that runs with Lava and numpy alone.

``export_lava(net, out, dt=1.0, precision="fixed_pt", n_steps=100)`` writes a folder::

    out/
      manifest.json       format, version, precision, dt, n_steps, process names, groups,
                          the quantisation report, how to run
      network.pickle      the process graph, saved with lava.utils.serialization.save
                          (source RingBuffer, LIF/LIFRefractory, Sparse/DelaySparse, sinks)
      params.npz          the (quantised) parameters: per group its neuron indices, scale
                          (units of v per mV), reset state; per block its weights and exponent
      lava_models.py      verbatim copy of spikelab.backends.lava.models (Lava + numpy only):
                          the bit-accurate LIFRefractory model Lava 0.10 lacks
      run_artifact.py     a runner: ``python run_artifact.py inputs.npy`` (Lava + numpy only)

The graph is the one the Lava backend runs (same pre-step, same quantisation), for runs of
``n_steps`` steps: the source holds ``n_steps + 1`` columns (column t = input events of step
t; the last column stays empty) and the sinks record ``n_steps + 1`` steps whose first is the
pre-step. Only LIF networks: Izhikevich neurons need spikelab's own Lava process, so the
artifact would not run without spikelab (``UnsupportedFeature``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.base import UnsupportedFeature
from ..backends.lava.plan import IzhGroup, LifGroup, build_plan
from ..ir import flatten
from ..network import Network

FORMAT = "spikelab.lava-artifact"
FORMAT_VERSION = 1
PROCESSES_FILE = "network.pickle"

RUNNER = '''"""Run this spikelab Lava artifact with Lava and numpy only.

    python run_artifact.py inputs.npy   # inputs: [n_inputs, n_steps] event counts
prints the spike count of each group; ``run(inputs)`` returns {group: [n, n_steps] spikes}.
"""
import importlib.util
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def _models():
    spec = importlib.util.spec_from_file_location("artifact_lava_models", HERE / "lava_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run(inputs):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.lif.process import LIFRefractory
    from lava.utils.serialization import load

    manifest = json.loads((HERE / "manifest.json").read_text())
    procs, _ = load(str(HERE / manifest["processes_file"]))
    byname = {p.name: p for p in procs}
    source = byname[manifest["source"]]
    n_steps = manifest["n_steps"]
    data = np.zeros(source.data.shape, dtype=manifest["input_dtype"])
    inputs = np.asarray(inputs)
    data[: inputs.shape[0], : min(inputs.shape[1], n_steps)] = inputs[:, :n_steps]
    source.data.init = data
    models = _models()
    refractory = getattr(models, manifest["refractory_model"])
    cfg = Loihi2SimCfg(select_tag=manifest["precision"],
                       exception_proc_model_map={LIFRefractory: refractory})
    source.run(condition=RunSteps(num_steps=n_steps + 1), run_cfg=cfg)
    try:
        return {g["name"]: np.asarray(byname[g["sink"]].data.get())[:, 1:] != 0
                for g in manifest["groups"]}
    finally:
        source.stop()


if __name__ == "__main__":
    spikes = run(np.load(sys.argv[1]))
    for name, s in spikes.items():
        print(name, int(s.sum()))
'''


def _process_list(graph: Any) -> list[Any]:
    return graph.processes()


def export_lava(
    net: Network,
    path: str | Path,
    *,
    dt: float | None = None,
    precision: str = "fixed_pt",
    n_steps: int = 100,
    merge: bool = False,
) -> Path:
    """Write the Lava artifact of ``net`` (step ``dt`` ms, runs of ``n_steps`` steps) to the
    folder ``path`` (created; must not exist or be empty). Returns the folder.

    merge : False (default) gives one Lava process per population and refractory period, as
        one would deploy them; True the backend's default single LIF process (its spikes
        then equal ``net.compile("lava", precision=precision)`` bit for bit).
    """
    from ..backends.lava.backend import PRECISIONS

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if int(n_steps) < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    dt = net.resolve_dt(dt)
    plan, fixed = _lif_plan(net, dt, precision, merge)
    out = _empty_folder(path)
    graph = _write_processes(out, plan, fixed, precision, int(n_steps))
    manifest = _manifest(net, plan, graph, fixed, precision, dt, int(n_steps))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=_json))
    return out


def _lif_plan(net: Network, dt: float, precision: str, merge: bool) -> tuple[Any, Any]:
    """The Lava plan of ``net`` at step ``dt`` (ms) and, in fixed_pt, its quantisation.

    Raises UnsupportedFeature for Izhikevich populations (they need spikelab to load).
    """
    plan = build_plan(flatten(net, dt), merge=merge)
    izh = [p for g in plan.groups if isinstance(g, IzhGroup) for p in g.population.split("+")]
    if izh:
        raise UnsupportedFeature(
            f"Izhikevich population(s) {izh}: they run on spikelab's own Lava process, so an "
            "artifact would need spikelab to load; the Lava artifact holds LIF networks only"
        )
    fixed = None
    if precision == "fixed_pt":
        from ..backends.lava.fixed import quantize

        fixed = quantize(plan)
    return plan, fixed


def _empty_folder(path: str | Path) -> Path:
    """``path`` as a created, empty folder; FileExistsError if it holds anything."""
    out = Path(path)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write_processes(out: Path, plan: Any, fixed: Any, precision: str, n_steps: int) -> Any:
    """Build the stock Lava graph and write everything but the manifest; returns the graph."""
    from ..backends.lava.backend import import_lava

    import_lava()
    from lava.utils.serialization import save

    from ..backends.lava import models as lava_models
    from ..backends.lava.graph import build_graph

    graph = build_graph(plan, n_steps, precision, fixed, stock=True)
    save(_process_list(graph), str(out / PROCESSES_FILE))
    shutil.copyfile(lava_models.__file__, out / "lava_models.py")
    (out / "run_artifact.py").write_text(RUNNER)
    np.savez_compressed(out / "params.npz", **_params(plan, fixed))
    return graph


def _json(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


def _params(plan: Any, fixed: Any) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for g in plan.groups:
        assert isinstance(g, LifGroup)
        p = f"group/{g.name}/"
        arrays[p + "index"] = g.index
        arrays[p + "v_offset_mV"] = g.v_offset
        if fixed is None:
            for key in ("du", "dv", "vth", "bias", "v_pre"):
                arrays[p + key] = np.asarray(getattr(g, key))
            arrays[p + "scale"] = np.ones(g.size)
        else:
            q = fixed.groups[g.name]
            for key in ("du", "dv", "bias_mant", "bias_exp", "v_pre", "scale"):
                arrays[p + key] = np.asarray(getattr(q, key))
            arrays[p + "vth"] = np.asarray(q.vth)
    for b in plan.blocks:
        p = f"block/{b.name}/"
        w = b.weights if fixed is None else fixed.blocks[b.name].weights
        d = b.delays if fixed is None else fixed.blocks[b.name].delays
        arrays[p + "data"], arrays[p + "indices"], arrays[p + "indptr"] = (
            w.data,
            w.indices,
            w.indptr,
        )
        if d is not None:
            arrays[p + "delays"] = d.data
        if fixed is not None:
            arrays[p + "weight_exp"] = np.asarray(fixed.blocks[b.name].weight_exp)
    return arrays


HOW_TO_RUN = (
    "Lava and numpy only: python run_artifact.py inputs.npy, or load network.pickle with "
    "lava.utils.serialization.load, set the source's data (n_inputs x (n_steps + 1), "
    "column t = events of step t), and run n_steps + 1 steps with Loihi2SimCfg("
    "select_tag=precision, exception_proc_model_map={LIFRefractory: <refractory_model "
    "from lava_models.py>}); sink column 0 is the pre-step, columns 1.. are steps 0.."
)


def _manifest(net: Network, plan: Any, graph: Any, fixed: Any, precision: str, dt: float,
              n_steps: int) -> dict[str, Any]:  # fmt: skip
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "precision": precision,
        "dt_ms": dt,
        "n_steps": n_steps,
        "lava_steps_per_run": n_steps + 1,
        "processes_file": PROCESSES_FILE,
        "source": graph.source.name,
        "n_inputs": plan.n_inputs,
        "input_dtype": "int32" if fixed is not None else "float64",
        "refractory_model": (
            "PyLifRefractoryModelBitAcc" if fixed is not None else "PyLifRefractoryModelFloatVec"
        ),
        "groups": _group_entries(plan, graph),
        "blocks": _block_entries(plan, graph),
        "populations": [list(p) for p in plan.pop_table],
        "quantization": fixed.report if fixed is not None else {},
        "network_metadata": net.metadata,
        "how_to_run": HOW_TO_RUN,
    }


def _group_entries(plan: Any, graph: Any) -> list[dict[str, Any]]:
    """Manifest entry of each neuron group: its Lava process, sink and refractory steps."""
    return [
        {
            "name": g.name,
            "population": g.population,
            "size": g.size,
            "process": graph.neurons[g.name].name,
            "sink": graph.sinks[g.name].name,
            "refractory_steps": sorted({int(r) for r in g.n_ref}),
            "per_neuron_decays": g.heterogeneous,
        }
        for g in plan.groups
    ]


def _block_entries(plan: Any, graph: Any) -> list[dict[str, Any]]:
    """Manifest entry of each synapse block: its Lava process and largest Lava delay."""
    return [
        {
            "name": b.name,
            "source": b.source,
            "target": b.target,
            "synapses": b.n_synapses,
            "process": graph.synapses[b.name].name,
            "max_lava_delay": b.max_delay,
        }
        for b in plan.blocks
    ]

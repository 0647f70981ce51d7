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
      run_artifact.py     a runner: ``python run_artifact.py inputs.npy`` (Lava + numpy only);
                          ``run(inputs)`` raises for an input longer than n_steps;
                          ``predict(samples)`` gives labels when the artifact has a readout
      readout.npz         (with ``readout=``) the trained readout: classes, log1p flag,
                          standardisation mean/scale, coef, intercept, bin_steps, n_neurons
      event_encoding.py   (with ``encoding=``) verbatim copy of spikelab.event_binning
                          (numpy only): ``run``/``predict`` then take raw event arrays
                          (fields x, y, t, p), binned exactly as spikelab's EventEncoding
                          with the settings in manifest["encoding"]

The graph is the one the Lava backend runs (same pre-step, same quantisation), for runs of
``n_steps`` steps (default 100, recorded in the manifest as a default: pass ``n_steps``,
or ``--n-steps`` on the command line, which takes it from a results folder's config): the
source holds ``n_steps + 1`` columns (column t = input events of step
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

from .. import event_binning
from ..backends.base import UnsupportedFeature
from ..backends.lava.plan import IzhGroup, LifGroup, build_plan
from ..encoding import EventEncoding
from ..ir import flatten
from ..network import Network

FORMAT = "spikelab.lava-artifact"
FORMAT_VERSION = 2  # 2: n_steps_source, the length check, the optional readout
DEFAULT_N_STEPS = 100
PROCESSES_FILE = "network.pickle"

RUNNER = '''"""Run this spikelab Lava artifact with Lava and numpy only.

    python run_artifact.py inputs.npy   # [n_inputs, T <= n_steps] event counts, or a
                                        # structured event array (fields x, y, t, p)
prints the spike count of each group (and the predicted label, when the artifact holds a
readout); ``run(inputs)`` returns {group: [n, n_steps] spikes} and raises for an input
longer than n_steps (export again with a larger n_steps); ``predict(samples)`` returns the
labels of samples (each [n_inputs, T] counts or an event array; readout.npz, numpy only).
Event arrays need an artifact exported with an encoding (event_encoding.py, numpy only).
"""
import importlib.util
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def _module(name, file):
    spec = importlib.util.spec_from_file_location(name, HERE / file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _models():
    return _module("artifact_lava_models", "lava_models.py")


def encode(events):
    """[n_inputs, T] input counts of one sample's raw events (a structured array)."""
    manifest = json.loads((HERE / "manifest.json").read_text())
    if not manifest.get("encoding"):
        raise ValueError(
            "this artifact takes input counts [n_inputs, steps], not events: "
            + (manifest.get("encoding_note") or "export it with an encoding")
        )
    binning = _module("artifact_event_encoding", "event_encoding.py")
    return binning.dense_counts(events, manifest["encoding"])


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
    if inputs.dtype.names is not None:
        inputs = encode(inputs)
    inputs = check_inputs(inputs, manifest)
    data[:, : inputs.shape[1]] = inputs
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


def check_inputs(inputs, manifest):
    """[n_inputs, T] with T <= n_steps, else a ValueError saying what to do."""
    n_in, n_steps = manifest["n_inputs"], manifest["n_steps"]
    if inputs.ndim != 2 or inputs.shape[0] != n_in:
        raise ValueError(f"inputs must be [n_inputs={n_in}, steps], got shape {inputs.shape}")
    if inputs.shape[1] > n_steps:
        raise ValueError(
            f"the input has {inputs.shape[1]} steps but this artifact runs {n_steps}; "
            "export it again with n_steps >= the input's length (spikelab export --n-steps)"
        )
    return inputs


def counts(spikes):
    """Spike counts [bins, neurons] of one run (as spikelab records them), from run()."""
    manifest = json.loads((HERE / "manifest.json").read_text())
    params = np.load(HERE / "params.npz", allow_pickle=False)
    ro = np.load(HERE / "readout.npz", allow_pickle=False)
    n_steps, width = manifest["n_steps"], int(ro["bin_steps"]) or manifest["n_steps"]
    full = np.zeros((int(ro["n_neurons"]), n_steps))
    for g in manifest["groups"]:
        full[params["group/" + g["name"] + "/index"]] = spikes[g["name"]][:, :n_steps]
    starts = np.arange(0, n_steps, width)
    return np.add.reduceat(full, starts, axis=1).T


def predict(samples):
    """Labels of samples [samples, n_inputs, T]: the readout on each run's spike counts."""
    if not (HERE / "readout.npz").is_file():
        raise FileNotFoundError("this artifact holds no readout (export it with a readout)")
    ro = np.load(HERE / "readout.npz", allow_pickle=False)
    x = np.stack([counts(run(s)).reshape(-1) for s in samples])
    if bool(ro["log1p"]):
        x = np.log1p(x)
    x = (x - ro["mean"]) / ro["scale"]
    scores = x @ ro["coef"].T + ro["intercept"]
    if scores.shape[1] == 1:
        return ro["classes"][(scores[:, 0] > 0).astype(int)]
    return ro["classes"][scores.argmax(axis=1)]


if __name__ == "__main__":
    inputs = np.load(sys.argv[1])
    spikes = run(inputs)
    for name, s in spikes.items():
        print(name, int(s.sum()))
    if (HERE / "readout.npz").is_file():
        print("label", predict([inputs])[0])
'''


def _process_list(graph: Any) -> list[Any]:
    return graph.processes()


def export_lava(
    net: Network,
    path: str | Path,
    *,
    dt: float | None = None,
    precision: str = "fixed_pt",
    n_steps: int | None = None,
    merge: bool = False,
    readout: Any = None,
    bin_steps: int | None = None,
    n_steps_source: str = "option",
    encoding: Any = None,
    encoding_note: str | None = None,
) -> Path:
    """Write the Lava artifact of ``net`` (step ``dt`` ms, runs of ``n_steps`` steps) to the
    folder ``path`` (created; must not exist or be empty). Returns the folder.

    n_steps : steps per run; an input longer than that raises when the artifact runs.
        None: 100, recorded in the manifest as a default (``n_steps_source``).
    merge : False (default) gives one Lava process per population and refractory period, as
        one would deploy them; True the backend's default single LIF process (its spikes
        then equal ``net.compile("lava", precision=precision)`` bit for bit).
    readout : a fitted LinearReadout or OnlineReadout (or the path of its readout.h5),
        trained on spike counts of ``net`` in bins of ``bin_steps`` steps (None: one bin
        over the run) over ``n_steps`` steps: saved as readout.npz, applied by the
        artifact's ``predict`` with numpy alone.
    n_steps_source : where ``n_steps`` came from, for the manifest (e.g. a results folder).
    encoding : an ``EventEncoding`` whose channels are the network's inputs: the artifact
        then takes raw event arrays (``event_encoding.py``, numpy only); its steps per
        sample must fit in ``n_steps``. None: input counts only (``encoding_note`` says why
        in the manifest).
    """
    from ..backends.lava.backend import PRECISIONS

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    n_steps, n_steps_source = check_steps(n_steps, n_steps_source)
    dt = net.resolve_dt(dt)
    ro = None if readout is None else readout_state(readout, net, n_steps, bin_steps)
    check_encoding(encoding, net, n_steps)
    plan, fixed = _lif_plan(net, dt, precision, merge)
    out = _empty_folder(path)
    graph = _write_processes(out, plan, fixed, precision, n_steps)
    manifest = _manifest(net, plan, graph, fixed, precision, dt, n_steps)
    manifest["n_steps_source"] = n_steps_source
    manifest["readout"] = None if ro is None else _write_readout(out, ro)
    manifest["encoding"] = None if encoding is None else encoding.settings()
    manifest["encoding_note"] = encoding_note if encoding is None else None
    if encoding is not None:
        shutil.copyfile(event_binning.__file__, out / "event_encoding.py")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=_json))
    return out


def check_encoding(encoding: Any, net: Network, n_steps: int) -> None:
    """ValueError unless ``encoding`` (an EventEncoding or None) feeds ``net``'s inputs
    with samples of at most ``n_steps`` steps."""
    if encoding is None:
        return
    if not isinstance(encoding, EventEncoding):
        raise TypeError(f"encoding must be an EventEncoding, got {type(encoding).__name__}")
    n_inputs = net.n_inputs
    if encoding.n_channels != n_inputs:
        raise ValueError(
            f"the encoding gives {encoding.n_channels} channels {encoding.input_shape}, but "
            f"the network has {n_inputs} inputs; pass the encoding the network was built for"
        )
    if encoding.n_steps is None and encoding.duration is None:
        return  # steps from each sample's latest event: run() checks the length
    if encoding.steps_for(0.0) > n_steps:
        raise ValueError(
            f"the encoding gives {encoding.steps_for(0.0)} steps per sample, more than the "
            f"artifact's n_steps={n_steps}; export with n_steps >= {encoding.steps_for(0.0)}"
        )


def check_steps(n_steps: Any, source: str) -> tuple[int, str]:
    """``n_steps`` as an int >= 1 and where it came from (None: the default, said so)."""
    if n_steps is None:
        return DEFAULT_N_STEPS, (
            f"default ({DEFAULT_N_STEPS} steps): longer inputs raise; export with n_steps= "
            "(--n-steps) for longer ones"
        )
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    return int(n_steps), source


def _write_readout(out: Path, ro: dict[str, np.ndarray]) -> dict[str, Any]:
    """readout.npz; returns its manifest entry."""
    np.savez_compressed(out / "readout.npz", **ro)
    return {
        "file": "readout.npz",
        "classes": ro["classes"].tolist(),
        "bin_steps": int(ro["bin_steps"]) or None,
        "n_features": int(ro["coef"].shape[1]),
    }


def readout_state(
    readout: Any, net: Network, n_steps: int, bin_steps: int | None
) -> dict[str, np.ndarray]:
    """The arrays of readout.npz; checks that the readout takes this network's counts."""
    from ..readout.io import load_readout, readout_arrays

    if isinstance(readout, str | Path):
        readout = load_readout(readout)
    state = readout_arrays(readout)
    if bin_steps is not None and (isinstance(bin_steps, bool) or int(bin_steps) < 1):
        raise ValueError(f"bin_steps must be an integer >= 1 or None, got {bin_steps!r}")
    n_bins = 1 if bin_steps is None else -(-n_steps // int(bin_steps))
    n_features = state["coef"].shape[1]
    if n_features != n_bins * net.n_neurons:
        raise ValueError(
            f"the readout takes {n_features} features, but {n_steps} steps in bins of "
            f"{bin_steps or n_steps} steps give {n_bins} bins x {net.n_neurons} neurons = "
            f"{n_bins * net.n_neurons}; pass the run's n_steps and bin_steps (record.bin_steps)"
        )
    classes = state["classes"]
    if classes.dtype.kind == "O":
        classes = classes.astype(str)
    return {
        "classes": classes,
        "log1p": np.asarray(state["log1p"]),
        "mean": state["mean"],
        "scale": state["scale"],
        "coef": state["coef"],
        "intercept": state["intercept"],
        "bin_steps": np.asarray(0 if bin_steps is None else int(bin_steps)),
        "n_neurons": np.asarray(net.n_neurons),
    }


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

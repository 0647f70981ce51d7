"""Golden-trace cases: small networks whose numba float64 trajectories are checked in.

Each case builds a network, an input batch and a RecordSpec (voltage of every neuron, the
raster, 100-step bins). ``make_golden.py`` runs them on the numba reference and writes
``<name>.npz`` beside this file; ``load_golden`` reads one back as a ``Recording``.

* ``izhikevich_patterns``: regular spiking, fast spiking and chattering neurons of
  Izhikevich (2003, Fig. 2) under a constant current I = 10 (bias), 1,000 ms.
* ``izhikevich_input``: the same three neurons driven through input synapses (tau_syn 5 ms)
  by a regular input train, so the trace covers the synaptic path.
* ``lif_impulse``: LIF impulse responses (one input event of weight 0.5 mV, tau_syn 0, 2 and
  5 ms) and a tonically firing LIF (bias above threshold, 3 ms refractory), 300 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from spikelab import (
    LIF,
    InputPort,
    Izhikevich,
    Network,
    Population,
    Projection,
    Recording,
    RecordSpec,
    SpikeBatch,
    SpikeTrains,
)
from spikelab.neurons import IZHIKEVICH_PATTERNS

HERE = Path(__file__).resolve().parent
PATTERNS = ("regular_spiking", "fast_spiking", "chattering")


@dataclass(frozen=True)
class GoldenCase:
    net: Network
    batch: SpikeBatch
    record: RecordSpec
    dt: float = 1.0


def _izh_model(bias: float | np.ndarray, tau_syn: float = 0.0) -> Izhikevich:
    p = {k: np.array([IZHIKEVICH_PATTERNS[name][k] for name in PATTERNS]) for k in "abcd"}
    return Izhikevich(**p, bias=bias, tau_syn=tau_syn, v_init=-65.0)


def _record(n: int) -> RecordSpec:
    return RecordSpec(bin_steps=100, raster=True, voltage=tuple(range(n)))


def izhikevich_patterns() -> GoldenCase:
    n_steps = 1000
    net = Network(
        populations=(Population(name="izh", size=3, model=_izh_model(10.0)),),
        inputs=(InputPort(name="in", size=1),),
        projections=(
            Projection(source="in", target="izh", weights=sp.csr_matrix((1, 3)), delays=0),
        ),
    )
    batch = SpikeBatch.from_dense(np.zeros((1, n_steps, 1), np.float32))
    return GoldenCase(net, batch, _record(3))


def izhikevich_input() -> GoldenCase:
    n_steps = 1000
    net = Network(
        populations=(Population(name="izh", size=3, model=_izh_model(0.0, tau_syn=5.0)),),
        inputs=(InputPort(name="in", size=1),),
        projections=(
            Projection(
                source="in", target="izh", weights=sp.csr_matrix(np.full((1, 3), 3.0)), delays=1
            ),
        ),
    )
    x = np.zeros((1, n_steps, 1), np.float32)
    x[0, 100:900:4, 0] = 1.0  # 250 Hz input train from 100 to 900 ms
    return GoldenCase(net, SpikeBatch.from_dense(x), _record(3))


def lif_impulse() -> GoldenCase:
    n_steps = 300
    tau_syn = np.array([0.0, 2.0, 5.0, 0.0])
    model = LIF(
        tau_mem=20.0,
        tau_syn=tau_syn,
        v_rest=-65.0,
        v_reset=-70.0,
        v_th=-50.0,
        t_ref=np.array([0.0, 0.0, 0.0, 3.0]),
        bias=np.array([0.0, 0.0, 0.0, 20.0]),
    )
    w = np.array([[0.5, 0.5, 0.5, 0.0]])
    net = Network(
        populations=(Population(name="lif", size=4, model=model),),
        inputs=(InputPort(name="in", size=1),),
        projections=(Projection(source="in", target="lif", weights=sp.csr_matrix(w), delays=0),),
    )
    x = np.zeros((1, n_steps, 1), np.float32)
    x[0, 10, 0] = 1.0
    return GoldenCase(net, SpikeBatch.from_dense(x), _record(4))


GOLDEN_CASES: dict[str, Callable[[], GoldenCase]] = {
    "izhikevich_patterns": izhikevich_patterns,
    "izhikevich_input": izhikevich_input,
    "lif_impulse": lif_impulse,
}


def golden_path(name: str) -> Path:
    return HERE / f"{name}.npz"


def save_golden(name: str, rec: Recording, provenance: str) -> Path:
    """Write a recording's counts, raster, voltage and provenance to ``<name>.npz``."""
    r = rec.raster
    path = golden_path(name)
    np.savez_compressed(
        path,
        counts=rec.counts,
        voltage=rec.voltage,
        voltage_neurons=np.array(rec.voltage_neurons),
        raster_offsets=r.offsets,
        raster_steps=r.steps,
        raster_neurons=r.neurons,
        bin_steps=rec.bin_steps,
        n_steps=rec.n_steps,
        dt=rec.dt,
        populations=np.array([f"{n}:{a}:{b}" for n, a, b in rec.populations]),
        provenance=np.array(provenance),
    )
    return path


def load_golden(name: str) -> Recording:
    """A checked-in golden trace as a ``Recording``."""
    with np.load(golden_path(name)) as z:
        pops = tuple(
            (s.split(":")[0], int(s.split(":")[1]), int(s.split(":")[2]))
            for s in z["populations"].tolist()
        )
        counts = z["counts"]
        raster = SpikeTrains(
            n_steps=int(z["n_steps"]),
            n_neurons=counts.shape[2],
            offsets=z["raster_offsets"],
            steps=z["raster_steps"],
            neurons=z["raster_neurons"],
        )
        return Recording(
            counts=counts,
            bin_steps=int(z["bin_steps"]),
            n_steps=int(z["n_steps"]),
            dt=float(z["dt"]),
            populations=pops,
            raster=raster,
            voltage=z["voltage"],
            voltage_neurons=tuple(z["voltage_neurons"].tolist()),
            n_spikes=int(counts.sum()),
            extras={"provenance": str(z["provenance"])},
        )

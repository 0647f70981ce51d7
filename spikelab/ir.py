"""A network flattened to global indices: what every backend compiles from.

``flatten(net, dt)`` turns populations into one neuron index space with packed per-neuron
parameters (float64, precomputed from dt exactly as docs/semantics.md says) and merges all
projections into two CSR matrices with per-synapse delays:

* input CSR   [n_inputs,  n_neurons]: input channel -> neuron, delays >= 0 steps
* recurrent   [n_neurons, n_neurons]: neuron -> neuron, delays >= 1 step

Synapses are ordered by row, then delay, then column (ties keep projection order), so a
kernel looks up the delay-ring slot once per delay group; backends that sum in another
order can differ by rounding only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network
from .neurons import LIF, Izhikevich

# Row indices into the parameter matrix ``FlatNetwork.params`` [N_PARAMS, n_neurons]; the
# two models use the rows differently. Every backend reads parameters by these names.
BETA = 0  # both models: synaptic decay per step, exp(-dt/tau_syn) (0 for delta synapses)
ALPHA, V_REST, V_RESET, V_TH, BIAS_TERM = 1, 2, 3, 4, 5  # LIF
A, B, C, D, V_PEAK, BIAS, V_INIT = 1, 2, 3, 4, 5, 6, 7  # Izhikevich
N_PARAMS = 8
KIND_LIF, KIND_IZH = 0, 1
# The rows by parameter name, as the neuron models name them (beta: synaptic decay).
LIF_ROWS = {
    "alpha": ALPHA,
    "beta": BETA,
    "v_rest": V_REST,
    "v_reset": V_RESET,
    "v_th": V_TH,
    "bias_term": BIAS_TERM,
}
IZH_ROWS = {
    "a": A,
    "b": B,
    "c": C,
    "d": D,
    "v_peak": V_PEAK,
    "bias": BIAS,
    "v_init": V_INIT,
    "beta": BETA,
}


@dataclass(frozen=True)
class FlatCSR:
    """CSR with a delay per stored synapse (int32 steps)."""

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def rows(self) -> np.ndarray:
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))

    def split_by_delay(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(dvals [D], indptr2 [D, rows + 1], indices, weights): one sub-CSR per distinct
        delay. Within a group synapses keep this CSR's (row, column) order, so a kernel that
        walks group by group adds into each ring slot in the same order as one that tests
        the delay of every synapse."""
        dvals = np.unique(self.delays).astype(np.int32)
        if not len(dvals):
            dvals = np.zeros(1, np.int32)
        rows = self.rows()
        order = np.lexsort((np.arange(self.nnz), rows, self.delays))  # stable: delay, row
        indptr2 = np.zeros((len(dvals), self.shape[0] + 1), dtype=np.int64)
        start = 0
        for g, d in enumerate(dvals):
            counts = np.bincount(rows[self.delays == d], minlength=self.shape[0])
            indptr2[g] = start + np.concatenate([[0], np.cumsum(counts)])
            start = indptr2[g, -1]
        return dvals, indptr2, self.indices[order], self.weights[order]


@dataclass(frozen=True)
class FlatNetwork:
    n_neurons: int
    n_inputs: int
    dt: float
    pop_names: tuple[str, ...]
    pop_start: np.ndarray  # int64 [n_pops]
    pop_stop: np.ndarray
    pop_kind: np.ndarray  # int64, KIND_LIF or KIND_IZH
    params: np.ndarray  # float64 [N_PARAMS, n_neurons]
    n_ref: np.ndarray  # int32 refractory steps (LIF)
    inputs: FlatCSR
    recurrent: FlatCSR

    @property
    def ring_len(self) -> int:
        """Length of a delay ring buffer: max delay + 1."""
        d = [0]
        for c in (self.inputs, self.recurrent):
            if c.nnz:
                d.append(int(c.delays.max()))
        return max(d) + 1

    def pop_table(self) -> tuple[tuple[str, int, int], ...]:
        return tuple(
            (n, int(a), int(b))
            for n, a, b in zip(self.pop_names, self.pop_start, self.pop_stop, strict=True)
        )


def _pack_lif(P: np.ndarray, sl: slice, m: dict[str, np.ndarray], dt: float) -> np.ndarray:
    alpha = np.exp(-dt / m["tau_mem"])
    P[BETA, sl] = _syn_decay(m["tau_syn"], dt)
    P[ALPHA, sl] = alpha
    P[V_REST, sl] = m["v_rest"]
    P[V_RESET, sl] = m["v_reset"]
    P[V_TH, sl] = m["v_th"]
    P[BIAS_TERM, sl] = (1.0 - alpha) * m["bias"]
    return np.rint(m["t_ref"] / dt).astype(np.int32)


def _pack_izh(P: np.ndarray, sl: slice, m: dict[str, np.ndarray], dt: float) -> None:
    P[BETA, sl] = _syn_decay(m["tau_syn"], dt)
    for name, row in IZH_ROWS.items():
        if name != "beta":
            P[row, sl] = m[name]


def _syn_decay(tau_syn: np.ndarray, dt: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(tau_syn > 0, np.exp(-dt / np.where(tau_syn > 0, tau_syn, 1.0)), 0.0)


def _merge(net: Network, sources: dict[str, slice], n_rows: int) -> FlatCSR:
    targets = net.population_slices()
    rows, cols, ws, ds = [], [], [], []
    for pr in net.projections:
        if pr.source not in sources:
            continue
        w = pr.weights
        r = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr)) + sources[pr.source].start
        rows.append(r)
        cols.append(w.indices.astype(np.int64) + targets[pr.target].start)
        ws.append(w.data)
        ds.append(pr.delay_array())
    n = net.n_neurons
    if not rows:
        return FlatCSR(
            np.zeros(n_rows + 1, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0),
            np.zeros(0, np.int32),
            (n_rows, n),
        )
    r, c = np.concatenate(rows), np.concatenate(cols)
    w, d = np.concatenate(ws), np.concatenate(ds)
    order = np.lexsort((c, d, r))  # by row, then delay, then column (stable across projections)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n_rows))]).astype(np.int64)
    cols = c[order].astype(np.int32)  # int32 column indices: less memory traffic per synapse
    return FlatCSR(indptr, cols, w[order], d[order].astype(np.int32), (n_rows, n))


def flatten(net: Network, dt: float) -> FlatNetwork:
    """Flatten ``net`` for a step of ``dt`` ms (parameters precomputed in float64)."""
    n = net.n_neurons
    P = np.zeros((N_PARAMS, n), dtype=np.float64)
    n_ref = np.zeros(n, dtype=np.int32)
    slices = net.population_slices()
    kinds = []
    for pop in net.populations:
        sl = slices[pop.name]
        m = pop.model.expand(pop.size)
        if isinstance(pop.model, LIF):
            n_ref[sl] = _pack_lif(P, sl, m, dt)
            kinds.append(KIND_LIF)
        elif isinstance(pop.model, Izhikevich):
            _pack_izh(P, sl, m, dt)
            kinds.append(KIND_IZH)
        else:  # pragma: no cover - the model registry only holds these two
            raise TypeError(f"no kernel for neuron model {type(pop.model).__name__}")
    return FlatNetwork(
        n_neurons=n,
        n_inputs=net.n_inputs,
        dt=float(dt),
        pop_names=tuple(p.name for p in net.populations),
        pop_start=np.array([slices[p.name].start for p in net.populations], dtype=np.int64),
        pop_stop=np.array([slices[p.name].stop for p in net.populations], dtype=np.int64),
        pop_kind=np.array(kinds, dtype=np.int64),
        params=P,
        n_ref=n_ref,
        inputs=_merge(net, net.input_slices(), net.n_inputs),
        recurrent=_merge(net, slices, n),
    )

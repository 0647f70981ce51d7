"""How a flattened network maps onto Lava processes (numpy only; Lava is not imported here).

The plan is shared by the Lava backend (``spikelab.backends.lava``), the deployment
artifact (``spikelab.export.lava``) and the resource report (``spikelab.export.resources``).

Neurons
-------
By default (``merge=True``, the backend's choice) all LIF neurons of the network form one
Lava ``LIF`` process (``LIFRefractory`` when any has t_ref > 0) and all Izhikevich neurons
one process of spikelab's custom process: Lava runs every process as an OS process that
synchronises every step, so fewer processes run much faster. With ``merge=False`` (the
deployment view: artifact and resource report) each population is its own process, split
by refractory period. Lava's LIF resets v to 0, so the membrane is measured from
``v_reset`` (``v' = v - v_reset``), which maps our update exactly (docs/semantics.md,
"Lava-compatible LIF", generalised to ``v_reset != v_rest``)::

    u  = u (1 - du) + a_in                 du   = 1 - beta
    v' = v' (1 - dv) + u + bias'           dv   = 1 - alpha
    spike if v' > vth;  v' = 0             vth  = v_th - v_reset
                                           bias' = (1 - alpha) bias + (1 - alpha)(v_rest - v_reset)

``du`` and ``dv`` are chosen so that ``1 - du`` and ``1 - dv`` equal beta and alpha bit for
bit whenever float64 allows it (always for tau >= dt / ln 2). Lava's ``LIF`` declares du, dv
and vth, and ``LIFRefractory`` the refractory period, as one value per process; a process
whose neurons differ passes per-neuron arrays, which Lava's CPU models compute element by
element (spikelab's refractory models in ``lava_models`` accept per-neuron periods). On a
Loihi 2 chip that needs a programmable (microcoded) neuron rather than the stock LIF; the
resource report says so.

Time
----
Lava's ``Sparse``/``DelaySparse`` deliver a spike one step after it was sent (Lava delay k
arrives k + 1 steps later). So a recurrent delay of d steps is Lava delay d - 1, and an input
delay of d steps is Lava delay d, with one *pre-step*: every sample runs T + 1 Lava steps;
Lava step 0 only feeds the input events of our step 0 into the synapses, and Lava step
k >= 1 is our step k - 1. The pre-step also updates the LIF neurons (Lava's LIF has no idle
step), so each starts from a potential ``v_pre`` chosen such that one input-free update
lands exactly (or within one rounding) on the initial potential v_rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ... import ir as K
from ...ir import FlatCSR, FlatNetwork
from ..base import UnsupportedFeature

#: Above this many Lava neuron processes the graph becomes impractically slow (every
#: Lava process is an OS process); with merge=False, refractory periods split populations.
MAX_GROUPS = 32


@dataclass(frozen=True, eq=False)
class LifGroup:
    """The LIF neurons of one Lava process (see "Neurons" above for which).

    Per-neuron arrays; potentials in mV, measured from ``v_offset`` (= v_reset), the frame in
    which Lava's LIF resets to 0.
    """

    name: str
    population: str
    index: np.ndarray  # int64 global neuron indices (sorted)
    du: np.ndarray  # 1 - du == beta
    dv: np.ndarray  # 1 - dv == alpha
    vth: np.ndarray  # v_th - v_reset
    n_ref: np.ndarray  # refractory steps per neuron
    bias: np.ndarray  # bias' per neuron, mV per step
    v_start: np.ndarray  # v' at the start of our step 0 (v_rest - v_reset)
    v_pre: np.ndarray  # v' before the pre-step
    v_offset: np.ndarray  # v_reset per neuron: v = v' + v_offset
    alpha: np.ndarray  # exact decays the group was built from
    beta: np.ndarray
    kind: str = "LIF"

    @property
    def size(self) -> int:
        return len(self.index)

    @property
    def heterogeneous(self) -> bool:
        """True when du, dv, vth or t_ref differ between neurons (per-neuron Lava parameters)."""
        return any(len(np.unique(x)) > 1 for x in (self.du, self.dv, self.vth, self.n_ref))

    @property
    def refractory(self) -> bool:
        """True when some neuron has a refractory period (a ``LIFRefractory`` process)."""
        return bool(np.any(self.n_ref > 0))


def scalar_or_array(x: np.ndarray) -> float | np.ndarray:
    """A Lava per-process parameter: the scalar when all neurons share it, else the array."""
    x = np.asarray(x)
    return x.flat[0].item() if x.size and np.all(x == x.flat[0]) else x


@dataclass(frozen=True, eq=False)
class IzhGroup:
    """An Izhikevich population, run by spikelab's custom Lava process (floating point)."""

    name: str
    population: str
    index: np.ndarray
    params: dict[str, np.ndarray]  # a, b, c, d, v_peak, bias, beta, v_init per neuron
    dt: float
    kind: str = "Izhikevich"

    @property
    def size(self) -> int:
        return len(self.index)


Group = LifGroup | IzhGroup


@dataclass(frozen=True, eq=False)
class Block:
    """The synapses from one source (a group or the input port) onto one group.

    ``weights`` is in Lava's orientation [n_target, n_source]; ``delays`` holds the Lava
    delay of each stored synapse (same sparsity) or is None when all are 0 (plain Sparse).
    """

    name: str
    source: str  # a group name, or INPUT
    target: str
    weights: sp.csr_matrix
    delays: sp.csr_matrix | None
    graded: bool  # input events carry counts (graded spikes)

    @property
    def n_synapses(self) -> int:
        return int(self.weights.nnz)

    @property
    def max_delay(self) -> int:
        return 0 if self.delays is None or self.delays.nnz == 0 else int(self.delays.max())


INPUT = "input"


@dataclass(frozen=True, eq=False)
class LavaPlan:
    """Everything needed to build the Lava process graph of a network for a step dt (ms)."""

    dt: float
    n_neurons: int
    n_inputs: int
    groups: tuple[Group, ...]
    blocks: tuple[Block, ...]
    pop_table: tuple[tuple[str, int, int], ...]
    in_rowlen: np.ndarray  # synapses per input channel (for the synaptic-event counter)
    rc_rowlen: np.ndarray  # synapses per neuron
    notes: dict[str, float] = field(default_factory=dict)

    def group(self, name: str) -> Group:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f"no group {name!r}")


# ---- exact float decays ----------------------------------------------------------------


def complement_exact(x: float) -> float:
    """A value c with ``1 - c == x`` in float64 when one exists (else the nearest try)."""
    c = 1.0 - x
    best, err = c, abs((1.0 - c) - x)
    for direction in (np.inf, -np.inf):
        y = c
        for _ in range(4):
            if (1.0 - y) == x:
                return float(y)
            e = abs((1.0 - y) - x)
            if e < err:
                best, err = y, e
            y = float(np.nextafter(y, direction))
    return float(best)


def complements(x: np.ndarray) -> np.ndarray:
    """``complement_exact`` element-wise (computed once per distinct value)."""
    uniq, inverse = np.unique(x, return_inverse=True)
    return np.array([complement_exact(float(u)) for u in uniq])[inverse]


def prestep_start(target: np.ndarray, decay: float, bias: np.ndarray) -> np.ndarray:
    """v_pre with ``fl(fl(v_pre * decay) + bias) == target`` (Lava's float LIF update with
    u = 0), searched over neighbouring floats; where no exact value exists the nearest."""
    target = np.asarray(target, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    x = (target - bias) / decay
    best = x.copy()
    best_err = np.abs((x * decay + bias) - target)
    for _ in range(48):
        val = x * decay + bias
        err = val - target
        better = np.abs(err) < best_err
        best = np.where(better, x, best)
        best_err = np.where(better, np.abs(err), best_err)
        if not np.any(best_err > 0):
            break
        x = np.where(err > 0, np.nextafter(x, -np.inf), np.nextafter(x, np.inf))
    return best


# ---- grouping ----------------------------------------------------------------------------


def _check_start(flat: FlatNetwork, p: int) -> None:
    lo, hi = int(flat.pop_start[p]), int(flat.pop_stop[p])
    v_rest, v_th = flat.params[K.V_REST, lo:hi], flat.params[K.V_TH, lo:hi]
    if np.any(v_rest > v_th):
        bad = int(np.flatnonzero(v_rest > v_th)[0])
        raise UnsupportedFeature(
            f"population {flat.pop_names[p]!r}: v_rest={v_rest[bad]} mV is above "
            f"v_th={v_th[bad]} mV; Lava's LIF needs a neuron that starts below threshold (the "
            "pre-step that compensates Lava's synaptic latency would make it spike)"
        )


def _lif_group(flat: FlatNetwork, name: str, population: str, idx: np.ndarray) -> LifGroup:
    """One Lava LIF process holding the neurons ``idx`` (global indices, sorted)."""
    P = flat.params[:, idx]
    v_rest, v_reset, v_th = P[K.V_REST], P[K.V_RESET], P[K.V_TH]
    alpha, beta = P[K.ALPHA], P[K.BETA]
    dv, du = complements(alpha), complements(beta)
    # bias' = bias_term + (1 - alpha)(v_rest - v_reset); exact when v_rest == v_reset
    bias = P[K.BIAS_TERM] + (1.0 - alpha) * (v_rest - v_reset)
    v_start = v_rest - v_reset
    return LifGroup(
        name=name,
        population=population,
        index=idx,
        du=du,
        dv=dv,
        vth=v_th - v_reset,
        n_ref=flat.n_ref[idx].astype(np.int64),
        bias=bias,
        v_start=v_start,
        v_pre=prestep_start(v_start, 1.0 - dv, bias),
        v_offset=v_reset.copy(),
        alpha=alpha.copy(),
        beta=beta.copy(),
    )


def _lif_groups(flat: FlatNetwork, pops: list[int], merge: bool) -> list[LifGroup]:
    """All LIF neurons in one group (merge), else one per (population, refractory period)."""
    for p in pops:
        _check_start(flat, p)
    ranges = [np.arange(flat.pop_start[p], flat.pop_stop[p], dtype=np.int64) for p in pops]
    if merge:
        names = [flat.pop_names[p] for p in pops]
        label = names[0] if len(names) == 1 else "lif"
        return [_lif_group(flat, label, "+".join(names), np.concatenate(ranges))]
    groups = []
    for p, idx in zip(pops, ranges, strict=True):
        name = flat.pop_names[p]
        periods = np.unique(flat.n_ref[idx])
        for r in periods:
            sel = idx[flat.n_ref[idx] == r]
            label = name if len(periods) == 1 else f"{name}#ref{int(r)}"
            groups.append(_lif_group(flat, label, name, sel))
    return groups


def _izh_group(flat: FlatNetwork, pops: list[int]) -> IzhGroup:
    """The Izhikevich populations ``pops`` as one process of spikelab's Izhikevich process."""
    idx = np.concatenate(
        [np.arange(flat.pop_start[p], flat.pop_stop[p], dtype=np.int64) for p in pops]
    )
    P = flat.params[:, idx]
    rows = K.IZH_ROWS
    names = [flat.pop_names[p] for p in pops]
    return IzhGroup(
        name=names[0] if len(names) == 1 else "izhikevich",
        population="+".join(names),
        index=idx,
        params={k: P[r].copy() for k, r in rows.items()},
        dt=flat.dt,
    )


# ---- synapse blocks ----------------------------------------------------------------------


def _blocks_from(
    csr: FlatCSR, source_of: np.ndarray, source_local: np.ndarray, src_names: list[str],
    src_sizes: list[int], group_of: np.ndarray, local: np.ndarray, groups: list[Group],
    delay_shift: int, graded: bool,
) -> list[Block]:  # fmt: skip
    """Split a flat CSR into one block per (source, target group, delay class)."""
    rows = csr.rows()
    if csr.nnz == 0:
        return []
    cols = csr.indices
    lava_delay = csr.delays.astype(np.int64) - delay_shift
    s_id, t_id = source_of[rows], group_of[cols]
    out = []
    for s in np.unique(s_id):
        for t in np.unique(t_id[s_id == s]):
            sel = np.flatnonzero((s_id == s) & (t_id == t))
            out.extend(
                _make_blocks(
                    src_names[s], groups[t].name, src_sizes[s], groups[t].size,
                    local[cols[sel]], source_local[rows[sel]], csr.weights[sel],
                    lava_delay[sel], graded,
                )
            )  # fmt: skip
    return out


def _make_blocks(
    src: str, tgt: str, n_src: int, n_tgt: int, r: np.ndarray, c: np.ndarray,
    w: np.ndarray, d: np.ndarray, graded: bool,
) -> list[Block]:  # fmt: skip
    """One block if every (target, source) pair is unique across delays, else one per delay.

    Synapses of weight 0 are left out (they deliver nothing; Lava's bit-accurate models would
    drop them and then trip over their delays)."""
    keep = w != 0
    r, c, w, d = r[keep], c[keep], w[keep], d[keep]
    if len(r) == 0:
        return []
    pair = r * n_src + c
    classes: list[np.ndarray]
    if len(np.unique(pair)) == len(pair) or len(np.unique(d)) == 1:
        classes = [np.arange(len(r))]
    else:
        classes = [np.flatnonzero(d == k) for k in np.unique(d)]
    blocks = []
    for sel in classes:
        wm = sp.csr_matrix((w[sel], (r[sel], c[sel])), shape=(n_tgt, n_src))  # sums duplicates
        wm.sort_indices()
        dm = None
        if np.any(d[sel] != 0):
            dsel = d[sel]
            # duplicates within one class share the class delay, so summing is exact
            first = np.unique(pair[sel], return_index=True)[1]
            dm = sp.csr_matrix(
                (dsel[first].astype(int), (r[sel][first], c[sel][first])), shape=(n_tgt, n_src)
            )
            dm.sort_indices()
            if dm.nnz != wm.nnz or not np.array_equal(dm.indices, wm.indices):
                # a zero delay is not stored in dm; add explicit entries where needed
                dm = _align_delays(wm, r[sel][first], c[sel][first], dsel[first])
        suffix = "" if len(classes) == 1 else f"@d{int(d[sel][0])}"
        blocks.append(Block(f"{src}->{tgt}{suffix}", src, tgt, wm, dm, graded))
    return blocks


def _align_delays(wm: sp.csr_matrix, r: np.ndarray, c: np.ndarray, d: np.ndarray) -> sp.csr_matrix:
    """Delays as a CSR matrix with exactly the sparsity of ``wm`` (zeros stored explicitly)."""
    lookup = dict(zip(zip(r.tolist(), c.tolist(), strict=True), d.tolist(), strict=True))
    rows = np.repeat(np.arange(wm.shape[0]), np.diff(wm.indptr))
    data = np.array([lookup[(i, j)] for i, j in zip(rows, wm.indices, strict=True)], dtype=int)
    return sp.csr_matrix((data, wm.indices.copy(), wm.indptr.copy()), shape=wm.shape)


def _make_groups(flat: FlatNetwork, merge: bool, max_groups: int) -> list[Group]:
    """The Lava neuron processes: LIF groups first, then Izhikevich groups.

    Raises UnsupportedFeature when more than ``max_groups`` processes would be needed.
    """
    lif = [p for p in range(len(flat.pop_names)) if flat.pop_kind[p] == K.KIND_LIF]
    izh = [p for p in range(len(flat.pop_names)) if flat.pop_kind[p] == K.KIND_IZH]
    groups: list[Group] = list(_lif_groups(flat, lif, merge)) if lif else []
    if izh:
        groups.extend([_izh_group(flat, izh)] if merge else [_izh_group(flat, [p]) for p in izh])
    if len(groups) > max_groups:
        raise UnsupportedFeature(
            f"the network needs {len(groups)} Lava neuron processes (more than {max_groups}): "
            "Lava's LIFRefractory holds one refractory period per process, and the "
            "populations have that many distinct t_ref values; make t_ref homogeneous per "
            "population"
        )
    return groups


def _neuron_index(groups: list[Group], n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of the ``n`` global neurons: its group number and its index within the group."""
    group_of = np.zeros(n, dtype=np.int64)
    local = np.zeros(n, dtype=np.int64)
    for gi, g in enumerate(groups):
        group_of[g.index] = gi
        local[g.index] = np.arange(g.size)
    return group_of, local


def _plan_blocks(
    flat: FlatNetwork, groups: list[Group], group_of: np.ndarray, local: np.ndarray
) -> list[Block]:
    """Input blocks (graded, no delay shift) followed by recurrent blocks (delay shifted by 1)."""
    names = [g.name for g in groups]
    sizes = [g.size for g in groups]
    blocks = _blocks_from(
        flat.recurrent, group_of, local, names, sizes, group_of, local, groups,
        delay_shift=1, graded=False,
    )  # fmt: skip
    n_in = flat.n_inputs
    return _blocks_from(
        flat.inputs, np.zeros(n_in, dtype=np.int64), np.arange(n_in), [INPUT], [n_in],
        group_of, local, groups, delay_shift=0, graded=True,
    ) + blocks  # fmt: skip


def _plan_notes(groups: list[Group]) -> dict[str, float]:
    """Worst-case mapping errors of the LIF groups: pre-step voltage (mV) and decay factors."""
    notes = {}
    lif = [g for g in groups if isinstance(g, LifGroup)]
    if lif:
        notes["prestep_max_error_mV"] = max(
            float(np.max(np.abs((g.v_pre * (1.0 - g.dv) + g.bias) - g.v_start), initial=0.0))
            for g in lif
        )
        notes["decay_max_error"] = max(
            float(
                max(np.max(np.abs((1.0 - g.dv) - g.alpha)), np.max(np.abs((1.0 - g.du) - g.beta)))
            )
            for g in lif
        )
    return notes


def build_plan(flat: FlatNetwork, *, merge: bool = True, max_groups: int = MAX_GROUPS) -> LavaPlan:
    """Map ``flat`` onto Lava processes; raises UnsupportedFeature for what Lava cannot do.

    merge : one Lava process for all LIF neurons and one for all Izhikevich neurons (fast);
        else one per population and refractory period (the deployment view).
    """
    groups = _make_groups(flat, merge, max_groups)
    n = flat.n_neurons
    group_of, local = _neuron_index(groups, n)
    blocks = _plan_blocks(flat, groups, group_of, local)
    return LavaPlan(
        dt=flat.dt,
        n_neurons=n,
        n_inputs=flat.n_inputs,
        groups=tuple(groups),
        blocks=tuple(blocks),
        pop_table=flat.pop_table(),
        in_rowlen=np.diff(flat.inputs.indptr),
        rc_rowlen=np.diff(flat.recurrent.indptr),
        notes=_plan_notes(groups),
    )

"""Synaptic input of the torch backend: the delay ring, recurrent weights grouped by delay,
and input events expanded to per-synapse ring additions.

Layout: the ring of future inputs is ``[L, N, batch]`` (neuron-major, L = max delay + 1);
slot ``(t + d) % L`` collects what arrives at step t + d. ``ring[t % L]`` read at step t is
the per-step synaptic input ``I_in`` of docs/semantics.md, one visible array.

* Recurrent spikes: the recurrent CSR of ``flatten`` is regrouped by delay into one
  ``[N_target, N_source]`` matrix per distinct delay, stacked to ``[G*N, N]`` (dense), or
  ``[G*N, G*N + N]`` with identity "carry" columns (torch sparse CSR), so one product gives
  the arrivals of all G delay groups (``DelayedWeights``).
* Input events: every (event, synapse) pair of a batch is expanded, a window of steps at a
  time outside the per-step work, to a flat ring index and a value ``w * count``; step t
  adds its slice with one ``index_add_``. On the CPU that adds event by event in CSR order,
  as numba does (``InputSchedule``).
"""

from __future__ import annotations

import bisect
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ...ir import FlatCSR
from ...spikes import SpikeBatch

# Recurrent weight density (stored synapses / (G * N * N)) above which "auto" uses dense
# matrices (float32 only; float64 keeps CSR's exact summation order). Measured on the CPU:
# at the 1,000-neuron LSM (0.5 % dense) CSR is 4.5-7x faster than dense; all-to-all
# lin2025 networks (100 %) run 1.2x (200 neurons) to 1.7x (1,000) faster dense.
DENSE_ABOVE = 0.1
# Input additions expanded at once (a window of steps): bounds the schedule's memory.
SCHEDULE_BUDGET = 1 << 22


def to_csr(matrix: torch.Tensor) -> torch.Tensor:
    """A matrix as torch sparse CSR (silencing torch's 'beta' note about CSR tensors)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse CSR tensor support.*")
        return matrix.to_sparse_csr()


@dataclass(frozen=True, eq=False)
class DelayedWeights:
    """Recurrent weights stacked by delay group, targets as rows.

    delays : the distinct delays (steps), one per group (G groups).
    matrix : dense [G*N_target, N_source], or torch sparse CSR [G*N_target, G*N_target +
        N_source] whose first G*N_target columns are an identity ("carry" columns).
    ring_len : L; the spikes of step t arrive in the ring slots ``(t + delays) % L``.

    With CSR, ``propagate`` multiplies the matrix with ``[ring slots; spikes]``: each row
    then starts from the slot's current value and adds its synapses in source order, which
    is the order in which the numba kernel adds spikes into its ring (MKL's CSR product on
    the CPU sums each row sequentially in stored order), so float64 sums agree bit for bit.
    The dense product sums in BLAS order (rounding-level differences).
    """

    delays: tuple[int, ...]
    matrix: torch.Tensor
    ring_len: int
    n_target: int

    @property
    def carry(self) -> bool:
        return self.matrix.layout == torch.sparse_csr

    def workspace(self, batch: int) -> torch.Tensor | None:
        """The [ring slots; spikes] buffer of the CSR product, for ``batch`` samples."""
        if not self.carry:
            return None
        n = self.matrix.shape[1]
        return torch.zeros(n, batch, dtype=self.matrix.dtype, device=self.matrix.device)

    def propagate(
        self, z: torch.Tensor, ring: torch.Tensor, t: int, work: torch.Tensor | None
    ) -> None:
        """Add the arrivals caused by spikes ``z`` [N, batch] of step t to the ring."""
        n = self.n_target
        slots = [(k * n, (t + d) % self.ring_len) for k, d in enumerate(self.delays)]
        if work is None:
            out = self.matrix @ z
            for row, slot in slots:
                ring[slot].add_(out[row : row + n])
            return
        for row, slot in slots:
            work[row : row + n].copy_(ring[slot])
        work[len(slots) * n :].copy_(z)
        out = torch.sparse.mm(self.matrix, work)
        for row, slot in slots:
            ring[slot].copy_(out[row : row + n])


def density(csr: FlatCSR) -> float:
    """Stored synapses over the entries of the delay-stacked dense matrix."""
    groups = max(len(np.unique(csr.delays)), 1)
    return csr.nnz / max(groups * csr.shape[0] * csr.shape[1], 1)


def delayed_weights(
    csr: FlatCSR, ring_len: int, *, sparse: bool, dtype: torch.dtype, device: torch.device
) -> DelayedWeights | None:
    """Regroup ``csr`` (rows: sources) by delay; None when it stores no synapse."""
    if csr.nnz == 0:
        return None
    delays, group = np.unique(csr.delays, return_inverse=True)
    n_src, n_tgt = csr.shape
    n_rows = len(delays) * n_tgt
    rows = group.astype(np.int64) * n_tgt + csr.indices  # target within its delay group
    cols = csr.rows()
    weights = csr.weights
    if sparse:  # identity "carry" columns first, then the sources
        rows = np.concatenate([np.arange(n_rows), rows])
        cols = np.concatenate([np.arange(n_rows), cols + n_rows])
        weights = np.concatenate([np.ones(n_rows), weights])
    # Duplicated synapses (same pair and delay from two projections) are summed by coalesce;
    # numba adds them one after the other (a rounding-level difference).
    coo = torch.sparse_coo_tensor(  # indices are valid by construction
        torch.from_numpy(np.stack([rows, cols])),
        torch.from_numpy(weights).to(dtype),
        (n_rows, n_rows + n_src if sparse else n_src),
        check_invariants=False,
    ).coalesce()
    matrix = to_csr(coo) if sparse else coo.to_dense()
    return DelayedWeights(
        delays=tuple(int(d) for d in delays),
        matrix=matrix.to(device),
        ring_len=ring_len,
        n_target=n_tgt,
    )


class InputSchedule:
    """The input events of a batch as ring additions, expanded window by window.

    Every (event, synapse) pair becomes a flat index into the ring ``[L, N, batch]``
    (``slot * N*B + target * B + sample``) and a value ``w * count``, ordered by step, then
    sample, then event order within the sample, then CSR order (delay, target): per
    (sample, target) the order in which the numba kernel adds. The expansion is vectorised
    in numpy for a window of steps at a time, holding at most about ``budget`` additions
    (so that dense input projections do not need memory for the whole run).

    n_synaptic_events : synapses reached by the batch's events (numba's count, including
    arrivals after the last step, which are dropped).
    """

    def __init__(
        self,
        batch: SpikeBatch,
        csr: FlatCSR,
        ring_len: int,
        *,
        np_dtype: type,
        device: torch.device,
        budget: int | None = None,
    ) -> None:
        B, N = len(batch), csr.shape[1]
        self.n_steps, self.ring_len, self.device = batch.n_steps, ring_len, device
        self.it = np.int32 if ring_len * N * B < 2**31 and csr.nnz < 2**31 else np.int64
        self.slot_stride = N * B  # a target's stride is B, a sample's 1
        order = np.argsort(batch.steps, kind="stable")  # events sorted by sample, then step
        self.ch = batch.channels[order]
        self.steps = batch.steps[order].astype(self.it)
        self.sample = np.repeat(np.arange(B, dtype=self.it), np.diff(batch.offsets))[order]
        self.values = batch.values[order].astype(np_dtype)
        self.fan = np.diff(csr.indptr).astype(self.it)[self.ch]
        self.ends = np.cumsum(self.fan, dtype=np.int64)
        self.n_synaptic_events = int(self.ends[-1]) if len(self.ends) else 0
        self.indptr, self.delays = csr.indptr, csr.delays.astype(self.it)
        self.targets = csr.indices.astype(self.it) * self.it(B)
        self.weights = csr.weights.astype(np_dtype)
        self.d0 = int(csr.delays.min()) if csr.nnz else 0
        self.delayed = bool(csr.nnz) and int(csr.delays.max()) > self.d0
        # additions before step t (all steps), and windows of at most ~budget additions
        self.event_at = np.searchsorted(self.steps, np.arange(self.n_steps + 1))
        per_step = np.concatenate([[0], self.ends])[self.event_at]
        budget = SCHEDULE_BUDGET if budget is None else budget
        cuts = [0]
        while cuts[-1] < self.n_steps:
            t0 = cuts[-1]
            t1 = int(np.searchsorted(per_step, per_step[t0] + budget, side="right")) - 1
            cuts.append(min(max(t1, t0 + 1), self.n_steps))
        self.cuts = cuts
        self._window = (0, 0)
        self._bounds: list[int] = [0]
        self._index = self._value = torch.zeros(0)

    def deliver(self, ring_flat: torch.Tensor, t: int) -> None:
        """Add the input events of step t to the ring (slots t + d)."""
        if not self._window[0] <= t < self._window[1]:
            w = bisect.bisect_right(self.cuts, t) - 1
            self._expand((self.cuts[w], self.cuts[w + 1]))
        lo, hi = self._bounds[t - self._window[0]], self._bounds[t - self._window[0] + 1]
        if hi > lo:
            ring_flat.index_add_(0, self._index[lo:hi], self._value[lo:hi])

    def _expand(self, window: tuple[int, int]) -> None:
        """The additions of the events of steps [t0, t1), vectorised, moved to the device."""
        t0, t1 = window
        e0, e1 = self.event_at[t0], self.event_at[t1]
        it, slot_stride = self.it, self.slot_stride
        fan, steps = self.fan[e0:e1], self.steps[e0:e1]
        ends = self.ends[e0:e1] - (self.ends[e0 - 1] if e0 else 0)
        total = int(ends[-1]) if len(ends) else 0
        first = (self.indptr[self.ch[e0:e1]] - (ends - fan)).astype(it)
        k = np.arange(total, dtype=it) + np.repeat(first, fan)  # the synapse of each addition
        base = ((steps + self.d0) % self.ring_len) * it(slot_stride) + self.sample[e0:e1]
        index = np.repeat(base, fan) + self.targets[k]
        value = self.weights[k] * np.repeat(self.values[e0:e1], fan)
        bounds = np.concatenate([[0], ends])[self.event_at[t0 : t1 + 1] - e0]
        if self.delayed:  # per-synapse delays: move each addition to its own slot
            delays = self.delays[k]
            arrive = np.repeat(steps, fan) + delays
            index += (arrive % self.ring_len - (arrive - delays + self.d0) % self.ring_len) * it(
                slot_stride
            )
            keep = arrive < self.n_steps  # arrivals after the last step are dropped
            if not keep.all():
                index, value = index[keep], value[keep]
                bounds = np.concatenate([[0], np.cumsum(keep)])[bounds]
        self._window, self._bounds = window, bounds.tolist()
        self._index = torch.from_numpy(index).to(self.device)
        self._value = torch.from_numpy(value).to(self.device)

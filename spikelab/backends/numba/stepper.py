"""Closed-loop simulation: one sample, one step at a time, on the numba kernels.

``sim.stepper()`` (a compiled numba simulation) returns a :class:`NumbaStepper`. Each
``step(inputs)`` delivers this step's input values (one per input channel, 0: no event),
advances every neuron by one step and returns the indices of the neurons that spiked, so
that a caller can compute a readout from them and feed it back as the next step's input
(FORCE with feedback, closed-loop control, online learning). The arithmetic is the
reference kernel's (``spikelab.backends.numba.kernels``): stepping a sample through gives the
same spikes, voltages and counters, bit for bit, as ``sim.run`` on the batch with the same
input values (tested). Input values are rounded to float32 first, as a ``SpikeBatch``
stores them.

    st = net.compile("numba", dt=1.0, record=RecordSpec()).stepper()
    for t in range(T):
        spikes = st.step(u)            # u: [n_inputs] this step's input values
        u = feedback(spikes)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...ir import FlatNetwork
from . import kernels as K


@njit(cache=True)
def _step(
    t, channels, values, in_dvals, in_indptr, in_indices, in_w,
    rc_dvals, rc_indptr, rc_indices, rc_w, pop_start, pop_stop, pop_kind, P, n_ref, uniform,
    izk, L, v, u, i_syn, refr, ring, spk, flags, counts,
):  # fmt: skip
    """Step t: the input events (channels, values) of this step, the neurons, then the
    recurrent spikes; returns (spikes, synaptic events). The stages of
    ``kernels.simulate_sample``, one step."""
    steps = np.full(channels.shape[0], t, np.int64)
    _, n_syn = K.deliver_inputs_split(
        0, channels.shape[0], t, steps, channels, values, in_dvals, in_indptr, in_indices,
        in_w, ring, L,
    )  # fmt: skip
    I_in = ring[t % L]
    K.update_neurons(
        I_in, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P, n_ref, izk, flags, uniform
    )  # fmt: skip
    n = K.collect_spikes(flags, flags.view(np.uint64), spk, counts[0], counts[0], False)
    n_syn += K.propagate_split(t, spk, n, rc_dvals, rc_indptr, rc_indices, rc_w, ring, L)
    return n, n_syn


class NumbaStepper:
    """One sample simulated step by step (float64 or float32, as compiled).

    ``step(inputs)`` -> indices of the neurons that spiked this step (int64, ascending
    within a population). ``v`` and ``u`` are the live membrane state after the last step
    (mV; read them, or copy them to keep them: writing changes the simulation, and
    ``reset()`` replaces the arrays), ``t`` the number of steps taken, ``n_spikes`` and
    ``n_synaptic_events`` the counters so far. ``reset()`` starts a new sample.
    """

    def __init__(self, flat: FlatNetwork, splits: tuple, dtype: type) -> None:
        self.flat, self._dtype = flat, dtype
        (self._in, self._rc) = (
            tuple(a.astype(dtype) if i == 3 else a for i, a in enumerate(s)) for s in splits
        )
        self._P = flat.params.astype(dtype)
        self._izk = K.izh_constants(flat.dt, dtype)
        self._uniform = K.uniform_populations(
            self._P, flat.n_ref, flat.pop_start, flat.pop_stop, flat.pop_kind
        )  # once, not every step
        self.reset()

    def reset(self) -> None:
        """Initial state (LIF at v_rest, Izhikevich at v_init), empty delay ring, t = 0."""
        f, N = self.flat, self.flat.n_neurons
        self.v = np.zeros(N, self._dtype)
        self.u = np.zeros(N, self._dtype)
        self._i_syn = np.zeros(N, self._dtype)
        self._refr = np.zeros(N, np.int32)
        self._ring = np.zeros((f.ring_len, N), self._dtype)
        self._spk = np.zeros(N, np.int64)
        self._counts = np.zeros((1, N), np.int32)
        self._flags = np.zeros(8 * ((N + 7) // 8), np.uint8)  # spike flags, whole words
        K.init_state(self._P, f.pop_start, f.pop_stop, f.pop_kind, self.v, self.u)
        self.t = 0
        self.n_spikes = 0
        self.n_synaptic_events = 0

    @property
    def spike_counts(self) -> np.ndarray:
        """Spikes per neuron since the last reset [neurons]."""
        return self._counts[0].copy()

    def step(self, inputs: np.ndarray | None = None) -> np.ndarray:
        """Advance one step with ``inputs`` [n_inputs] (the value of each input channel's
        event this step, 0: none; None: no input). Returns the neurons that spiked."""
        f = self.flat
        if inputs is None:
            channels = np.zeros(0, np.int64)
            values = np.zeros(0, self._dtype)
        else:
            x = np.asarray(inputs)
            if x.shape != (f.n_inputs,):
                raise ValueError(
                    f"inputs must have one value per input channel, shape ({f.n_inputs},), "
                    f"got {x.shape}"
                )
            if x.dtype.kind not in "biuf":
                raise ValueError(f"inputs must be real numbers, got dtype {x.dtype}")
            with np.errstate(over="ignore"):
                x = x.astype(np.float32)  # as a SpikeBatch stores event values
            if not np.isfinite(x).all():
                raise ValueError(
                    "inputs hold NaN or infinite values (or values beyond float32's range)"
                )
            channels = np.flatnonzero(x).astype(np.int64)
            values = x[channels].astype(self._dtype)
        n, n_syn = _step(
            self.t, channels, values, *self._in, *self._rc,
            f.pop_start, f.pop_stop, f.pop_kind, self._P, f.n_ref, self._uniform, self._izk,
            f.ring_len,
            self.v, self.u, self._i_syn, self._refr, self._ring, self._spk, self._flags,
            self._counts,
        )  # fmt: skip
        self.t += 1
        self.n_spikes += n
        self.n_synaptic_events += n_syn
        return self._spk[:n].copy()

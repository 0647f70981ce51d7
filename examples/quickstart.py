"""A liquid-state machine on N-MNIST in a script (run from the repo root).

    .venv/bin/python examples/quickstart.py [DATA_DIR]

DATA_DIR is any folder in N-MNIST's layout (default ../shared/data/nmnist-small; make
one with `spikelab datasets generate nmnist-like DIR`).
"""

import sys

import numpy as np

import spikelab as sl
from spikelab.datasets import nmnist, stratified_split
from spikelab.encoding import EventEncoding
from spikelab.readout import LinearReadout
from spikelab.transformer import run_chunked

root = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/nmnist-small"
ds = nmnist(root)
train_idx, test_idx = stratified_split(ds.labels, test_fraction=0.2, seed=0)

enc = EventEncoding(sensor_size=(34, 34, 2), dt=1.0, duration=300.0)  # ms
batch = enc.encode([ds[i][0] for i in range(len(ds))], labels=ds.labels, progress=True)

net = sl.reservoirs.lsm_column(
    shape=(10, 10, 10),
    n_inputs=enc.n_channels,
    input_shape=enc.input_shape,
    seed=0,
    input_fraction=1.0,
    input_receptive_field=2.0,
    input_fan_in=24,
    input_weight=40.0,
    weight_scale=0.1,
    bias_range=(0.0, 0.0),
)
sim = net.compile(backend="numba", dt=1.0, record=sl.RecordSpec(bin_steps=50))
run = run_chunked(sim, batch, chunk_size=128, progress=True)

readout = LinearReadout(alpha=[1.0, 10.0, 100.0, 1000.0]).fit(
    run.counts[train_idx], ds.labels[train_idx]
)
acc = readout.score(run.counts[test_idx], ds.labels[test_idx])
rate = run.counts.sum() / len(batch) / net.n_neurons / 0.3
print(f"{net.n_neurons} neurons, {rate:.1f} Hz mean rate, alpha={readout.alpha_}")
print(f"test accuracy {acc:.3f} on {len(test_idx)} samples ({np.bincount(ds.labels).size} classes)")

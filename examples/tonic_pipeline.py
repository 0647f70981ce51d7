"""A tonic user's habits in spikelab: a loader's ``transform=``, tonic's ``Compose`` ending in
``EventEncoding`` (and one with a fitted FEAST inside), then a scikit-learn ``Pipeline`` of
``LSMTransformer`` and ``LinearReadout``.

    .venv/bin/python examples/tonic_pipeline.py [--data ../shared/data/nmnist-small]
        [--per-class 20] [--seed 0]

``--data`` is a folder in N-MNIST's layout; when it is missing, a generated N-MNIST-like
set is written to results/data/nmnist-like (once). Prints the accuracy of the reservoir
pipeline on a stratified split and what the FEAST chain gives for one sample. The same
transforms in a config are a ``[[transforms]]`` list (docs/datasets.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import tonic.transforms as T
from sklearn.pipeline import Pipeline

from spikelab.datasets import generate_nmnist_like, nmnist, stratified_split
from spikelab.encoding import EventEncoding
from spikelab.features import FEAST
from spikelab.readout import LinearReadout
from spikelab.reservoirs import lsm_column
from spikelab.spikes import SpikeBatch
from spikelab.transformer import LSMTransformer

ROOT = Path(__file__).resolve().parents[1]
SENSOR = (34, 34, 2)


def data_root(path: Path, seed: int) -> Path:
    """``path`` when it holds N-MNIST's layout, else a generated stand-in (made once)."""
    if (path / "Train").is_dir():
        return path
    out = Path("results/data/nmnist-like")
    if not (out / "Train").is_dir():
        print(f"{path} not found: generating an N-MNIST-like set into {out}")
        generate_nmnist_like(out, per_class=20, seed=seed, progress=True)
    return out


def first_per_class(labels: np.ndarray, n: int) -> np.ndarray:
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:n] for c in np.unique(labels)]))


def reservoir_pipeline(root: Path, per_class: int, seed: int) -> float:
    """Denoise + RefractoryPeriod + EventEncoding as the loader's transform; test accuracy."""
    enc = EventEncoding(sensor_size=SENSOR, dt=1.0, duration=300.0, downsample=2)
    chain = T.Compose([T.Denoise(filter_time=10_000), T.RefractoryPeriod(delta=1_000), enc])
    ds = nmnist(root, transform=chain)
    idx = first_per_class(ds.labels, per_class)
    batch = SpikeBatch.concatenate([ds[int(i)][0] for i in idx])  # one SpikeBatch per sample
    y = ds.labels[idx]
    net = lsm_column(
        (5, 5, 8), n_inputs=enc.n_channels, dt=enc.dt, seed=seed, input_fraction=1.0,
        input_fan_in=24, input_weight=40.0, weight_scale=0.1, bias_range=(0.0, 0.0),
    )  # fmt: skip
    pipe = Pipeline(
        [
            ("lsm", LSMTransformer(net, bin_steps=100)),
            ("readout", LinearReadout(alpha=[1.0, 10.0, 100.0, 1000.0])),
        ]
    )
    train, test = stratified_split(y, 0.25, seed=seed)
    pipe.fit(batch.subset(train), y[train])
    return float(pipe.score(batch.subset(test), y[test]))


def feast_chain(root: Path, seed: int) -> SpikeBatch:
    """Denoise -> a fitted FEAST -> EventEncoding on one sample."""
    raw = nmnist(root)
    idx = first_per_class(raw.labels, 2)
    feast = FEAST(n_neurons=8, radius=2, tau=20_000.0, seed=seed)
    feast.fit([raw[int(i)][0] for i in idx], sensor_size=SENSOR)
    enc = EventEncoding(sensor_size=(34, 34, feast.n_neurons), dt=1.0, duration=300.0)
    return T.Compose([T.Denoise(filter_time=10_000), feast, enc])(raw[int(idx[0])][0])


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/nmnist-small")
    parser.add_argument("--per-class", type=int, default=20, help="samples per digit (both splits)")
    parser.add_argument("--seed", type=int, default=0, help="reservoir, split and FEAST seed")
    args = parser.parse_args(argv)
    root = data_root(args.data, args.seed)
    acc = reservoir_pipeline(root, args.per_class, args.seed)
    print(f"tonic Compose -> LSMTransformer -> LinearReadout: test accuracy {acc:.3f} "
          f"({args.per_class} samples per digit, 25 % held out)")  # fmt: skip
    batch = feast_chain(root, args.seed)
    print(f"tonic Compose with FEAST: {batch}")
    return {"accuracy": acc, "feast_events": float(batch.n_events)}


if __name__ == "__main__":
    main()

"""Closing the loop: does feeding the "when" prediction back into the reservoir, as Yamada
& Chao (2025) do, help our reservoir keep time? (A probe with ``sim.stepper()``.)

The reservoir and cues are those of examples/what_when.py, plus one feedback input per
event channel: each step the when readouts' own outputs (clipped to [-2, 2]) enter every
neuron through fixed random weights N(0, gain) (mV/ms, the Izhikevich neurons' input
unit).
The readouts learn online, inside the loop, with the three-factor rule (when: every step,
gated to the channel that occurs; what: once per trial); then, plasticity off, cue-only
test trials run in the same closed loop. gain 0 is the open loop, run the same way.

Reported: the test error |y - p x bump| / |p x bump| per cue and gain (one block, p(A) =
0.8, t_A = 25 % and t_B = 75 % of the trial), in metrics.json and feedback.png.

    python examples/what_when_feedback.py [--gains 0 2 5] [--cues sequence burst]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm
from what_when import WHAT, WHEN, cue_trials, reservoir

from spikelab.fileio import atomic_folder
from spikelab.network import InputPort, Network, Projection
from spikelab.readout import WhatWhenReadout
from spikelab.readout.what_when import bump
from spikelab.spikes import RecordSpec


def with_feedback(net: Network, gain: float, seed: int) -> Network:
    """``net`` plus an input port ``fb`` of 2 channels, dense random weights N(0, gain)."""
    rng = np.random.default_rng(seed)
    proj = tuple(
        Projection(source="fb", target=p.name, delays=0,
                   weights=sp.csr_matrix(rng.normal(0.0, gain, (2, p.size))))
        for p in net.populations
    )  # fmt: skip
    ports = net.inputs + (InputPort(name="fb", size=2),)
    return dataclasses.replace(net, inputs=ports, projections=net.projections + proj)


def closed_loop_trial(st, ww, cue, read, decay, channel=None, step=None, learn=False):  # noqa: ANN001
    """One trial through the stepper; the when outputs of step t-1 are fed back at step t.
    Returns the trial's traces [steps, read]."""
    st.reset()
    steps = len(cue)
    r, z, xs = np.zeros(len(read)), np.zeros(2), np.zeros((steps, len(read)))
    target, timing = np.zeros(2), np.zeros(steps)
    if channel is not None:
        target[channel], timing = 1.0, bump(steps, step, ww.width)
    for t in range(steps):
        spikes = st.step(np.concatenate([cue[t], np.clip(z, -2.0, 2.0)]))
        r *= decay
        r[np.isin(read, spikes)] += 1.0
        xs[t] = r
        if learn and channel is not None:
            ww.when.update(r, target * timing[t], target)
        z = ww.when.output(r)
    if learn:
        ww.what.update(xs.mean(axis=0), target)
    return xs


def run(args: argparse.Namespace, cue_kind: str, gain: float) -> float:
    steps = args.steps
    net = reservoir(args.seed)
    st = (
        with_feedback(net, gain, args.seed + 3)
        .compile("numba", dt=1.0, record=RecordSpec())
        .stepper()
    )
    n = args.train + args.test
    batch = cue_trials(n, steps, np.random.default_rng(args.seed + 1), cue_kind)
    cues = np.stack([batch.dense(b) for b in range(n)])
    read = np.arange(0, net.n_neurons, net.n_neurons // args.read)[: args.read]
    decay = np.exp(-1.0 / 20.0)
    ww = WhatWhenReadout(len(read), 2, width=15.0, when_options=WHEN, what_options=WHAT)
    t_a, t_b, p_a = 0.25 * steps, 0.75 * steps, 0.8
    rng = np.random.default_rng(args.seed + 20)
    for k in tqdm(range(args.train), desc=f"{cue_kind}, gain {gain}", leave=False):
        a = rng.random() < p_a
        closed_loop_trial(st, ww, cues[k], read, decay, 0 if a else 1, t_a if a else t_b, True)
    ideal = ww.expected(steps, np.array([p_a, 1 - p_a]), np.array([t_a, t_b]))
    errors = []
    for k in range(args.train, n):
        y = ww.predict(closed_loop_trial(st, ww, cues[k], read, decay))
        errors.append(np.linalg.norm(y - ideal) / np.linalg.norm(ideal))
    return float(np.mean(errors))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gains", type=float, nargs="+", default=[0.0, 2.0, 5.0])
    p.add_argument("--cues", nargs="+", choices=("sequence", "burst"),
                   default=["sequence", "burst"])  # fmt: skip
    p.add_argument("--train", type=int, default=140, help="training trials")
    p.add_argument("--test", type=int, default=20, help="test trials (cue only)")
    p.add_argument("--steps", type=int, default=400, help="trial length (ms)")
    p.add_argument("--read", type=int, default=200, help="neurons read out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/what_when_feedback")
    args = p.parse_args(argv)
    errors = {c: {str(g): run(args, c, g) for g in args.gains} for c in args.cues}
    out = Path(args.out)
    with atomic_folder(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps({"test_error": errors}, indent=2) + "\n")
        plot(tmp / "feedback.png", errors)
    for c, row in errors.items():
        print(f"{c:9s} " + "  ".join(f"gain {g}: {e:.3f}" for g, e in row.items()))
    print(f"results: {out}")


def plot(path: Path, errors: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(5.5, 3.6), dpi=110)
    ax = fig.add_subplot(111)
    width = 0.8 / max(1, len(errors))
    for i, (cue, row) in enumerate(errors.items()):
        xs = np.arange(len(row)) + i * width
        ax.bar(xs, list(row.values()), width, label=f"{cue} cue")
    ax.set_xticks(np.arange(len(row)) + width * (len(errors) - 1) / 2, [f"gain {g}" for g in row])
    ax.set_ylabel("test error (closed loop)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()

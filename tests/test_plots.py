"""Plots as a library user expects: every plotting function draws into the Axes (or
Figure) it is given and returns the Figure; none saves a file or switches the backend."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

from spikelab import plots
from spikelab.spikes import Recording, SpikeTrains

BACKEND_CHECK = """
import importlib
import sys
import spikelab.plots
print("matplotlib" in sys.modules)  # importing spikelab.plots imports no matplotlib
import matplotlib
matplotlib.use("svg")
importlib.reload(spikelab.plots)  # the module's code runs again after the user's choice
assert "matplotlib.pyplot" not in sys.modules, "importing the plot module imported pyplot"
fig = spikelab.plots.plot_confusion([0, 1, 1], [0, 1, 0])  # no ax: a new pyplot figure
print(matplotlib.get_backend(), type(fig.canvas).__module__)
"""


def test_importing_and_plotting_keep_the_users_backend():
    """The issue's check (matplotlib.use("svg"), then spikelab.plots: still svg), and
    ``import spikelab.plots`` alone imports no matplotlib, in one fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", BACKEND_CHECK], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "svg", "matplotlib.backends.backend_svg"]


def test_confusion_counts_by_hand():
    classes, cm = plots.confusion_counts([0, 0, 1, 2, 2], [0, 1, 1, 2, 0])
    assert classes.tolist() == [0, 1, 2]
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    with pytest.raises(ValueError, match="one length"):
        plots.confusion_counts([0, 1], [0])


def test_plots_draw_into_the_given_axes_and_return_its_figure():
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    got = plots.plot_confusion([0, 0, 1], [0, 1, 1], ax=ax1, title="run", colorbar=False)
    assert got is fig
    assert sorted(t.get_text() for t in ax1.texts) == ["1", "1", "1"]
    assert ax1.get_title() == "run accuracy 66.7% (n=3)"
    history = [
        {"epoch": e, "train_accuracy": 0.5 + e / 10, "updated_fraction": 0.3} for e in (1, 2)
    ]
    assert plots.plot_learning_curve(history, test_accuracy=0.6, ax=ax2) is fig
    assert len(ax2.lines) == 3  # train accuracy, samples that learned, test accuracy
    assert len(fig.axes) == 2  # nothing added around them


def recording_with_raster() -> Recording:
    raster = np.zeros((1, 20, 3), np.uint8)
    raster[0, [2, 5, 5, 9], [0, 1, 2, 0]] = 1
    counts = raster.reshape(1, 2, 10, 3).sum(axis=2).astype(np.int32)
    return Recording(
        counts=counts, bin_steps=10, n_steps=20, dt=0.5,
        populations=(("exc", 0, 2), ("inh", 2, 3)), raster=SpikeTrains.from_dense(raster),
    )  # fmt: skip


def test_raster_into_given_axes_or_a_new_figure():
    import matplotlib.pyplot as plt

    rec = recording_with_raster()
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.plot_raster(rec, ax=ax) is fig  # the raster alone
    xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    assert sorted(xs.tolist()) == [1.0, 2.5, 2.5, 4.5]  # steps x dt (ms)
    fig2 = plots.new_figure(plots.RASTER_SIZE)
    ax, rate_ax = plots.raster_axes(fig2)
    plots.plot_raster(rec, ax=ax, rate_ax=rate_ax, title="t")
    assert len(rate_ax.lines) == 2  # one rate per population
    before = len(plt.get_fignums())
    fig3 = plots.plot_raster(rec)  # a new pyplot figure with both panels
    assert len(plt.get_fignums()) == before + 1 and len(fig3.axes) == 2
    plt.close(fig3)
    with pytest.raises(ValueError, match="out of range"):
        plots.plot_raster(rec, sample=1, ax=ax)


def test_save_figure_writes_and_releases_a_pyplot_figure(tmp_path):
    import matplotlib.pyplot as plt

    fig = plots.plot_confusion([0, 1], [0, 1])
    n = len(plt.get_fignums())
    path = plots.save_figure(fig, tmp_path / "c.svg")
    assert path.read_text().lstrip().startswith("<?xml")
    assert len(plt.get_fignums()) == n - 1
    bare = plots.new_figure((2, 2))
    bare.add_subplot().plot([0, 1])
    assert plots.save_figure(bare, tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


def test_multi_panel_plots_fill_a_given_subfigure():
    from spikelab.features.feast.plots import plot_feast_learning
    from spikelab.tasks.zero_shot.trace import plot_epoch_trace

    fig = Figure(layout="constrained")
    left, right = fig.subfigures(1, 2)
    model = SimpleNamespace(
        events_history_=np.arange(1, 11) * 100, threshold_history_=np.ones((10, 4)),
        miss_rate_history_=np.linspace(0.5, 0.1, 10), win_counts_=np.array([3, 4, 5, 6]),
        n_neurons=4, record_every=100,
    )  # fmt: skip
    assert plot_feast_learning(model, fig=left) is left
    assert len(left.axes) == 3 and len(left.axes[0].lines) == 4
    curve = {"zero_shot": [0.2, 0.4], "in_class": [0.5, 0.6]}
    trace = {"audio_to_image": curve, "image_to_audio": curve}
    chance = {"audio_to_image": 0.5, "image_to_audio": 0.5}
    assert plot_epoch_trace([trace, trace], [0, 1], chance, fig=right) is right
    assert len(right.axes) == 2 and len(fig.axes) == 5

"""Activity you can see before you train: rates, silent and saturated neurons, synchrony.

``probe_network(net, batch, backend=...)`` (or ``net.probe(batch, ...)``) simulates a
handful of samples with a raster and returns a ``ProbeReport``; ``spikelab probe CONFIG``
does the same for a config's dataset, reservoir and backend (``spikelab.tasks.probe``).
``measure_activity`` and ``activity_warning`` work on spike counts alone, so every run
checks its reservoir with them (``spikelab.tasks.classify``). Definitions (docs/probe.md):

* rate: spikes per neuron per second; ``spikes_per_neuron``: per neuron per sample.
* silent fraction: neurons without a spike in any probed sample.
* saturated fraction: neurons firing, on average over the samples, in more than half of
  the steps they can fire in, ``n_steps / (1 + n_ref)`` (``n_ref``: refractory steps,
  ``round(t_ref / dt)`` for LIF, 0 for Izhikevich): more than 50 % of the steps without
  refractoriness, more than half the refractory limit with it.
* synchrony: Golomb's chi (2007) on spike counts in bins of ``bin_ms`` (5 ms), over the
  neurons that fired in the sample, averaged over samples: ``chi^2 = Var_t(mean_i x_i) /
  mean_i Var_t(x_i)``; 1 when they fire together, about ``1 / sqrt(K)`` for ``K``
  independent neurons.

Numpy only; never imports ``spikelab.network`` (``Network.probe`` imports this module).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .fileio import json_safe, write_bytes_atomic, write_json_atomic, write_text_atomic
from .spikes import Recording, RecordSpec, SpikeBatch

if TYPE_CHECKING:
    from .network import Network

SILENT_BELOW = 0.5  # spikes per neuron per sample: the reservoir is nearly silent under it
SATURATED_ABOVE = 0.5  # a neuron fires in more than this fraction of the steps it can
SATURATED_WARN = 0.25  # warn when more than this fraction of the neurons are saturated
BIN_MS = 5.0  # synchrony: spike counts in bins of this width (ms)
FILES = ("probe.txt", "probe.json", "probe_raster.png")

# option -> (advice when silent, advice when saturated); None: not the lever for that case
FIXES: dict[str, tuple[str | None, str | None]] = {
    "input_weight": ("raise", "lower"),
    "input_scale": ("raise", "lower"),
    "weight_scale": ("raise", "lower"),
    "exc_weight": ("raise", "lower"),
    "bias_range": ("raise", "lower"),
    "bias": ("raise", "lower"),
    "input_fraction": ("raise", None),
    "input_fan_in": ("raise", "lower"),
    "inh_scale": (None, "raise"),
    "inh_weight": (None, "raise"),
    "v_th": ("lower", "raise"),
}
NOTES = {"bias_range": "background drive", "bias": "background drive"}
AT_MOST = {"input_fraction": 1.0}  # no use suggesting to raise these past their bound


@dataclass(frozen=True)
class PopulationActivity:
    """What one population (or the whole reservoir, ``name="all"``) did in the probe."""

    name: str
    size: int
    rate_hz: float
    spikes_per_neuron: float  # per sample
    silent_fraction: float
    saturated_fraction: float
    synchrony_chi: float | None = None  # None: not measured (too few bins or no spikes)


def refractory_steps(net: Network, dt: float) -> np.ndarray:
    """Refractory steps of every neuron: ``round(t_ref / dt)`` for models with a ``t_ref``
    (LIF, as ``spikelab.ir`` packs it), 0 for the others (Izhikevich)."""
    parts = []
    for pop in net.populations:
        t_ref = getattr(pop.model, "t_ref", None)
        if t_ref is None:
            parts.append(np.zeros(pop.size, dtype=np.int64))
        else:
            t_ref = np.broadcast_to(np.asarray(t_ref, dtype=np.float64), (pop.size,))
            parts.append(np.rint(t_ref / dt).astype(np.int64))
    return np.concatenate(parts)


def synchrony_chi(counts: np.ndarray) -> float | None:
    """Golomb's chi of spike counts [samples, bins, neurons], over the neurons that fired in
    each sample, averaged over the samples where it is defined (None if none is)."""
    chis = []
    for x in counts:
        x = x[:, x.sum(axis=0) > 0].astype(np.float64)
        if x.shape[0] < 2 or x.shape[1] < 1:
            continue
        denominator = x.var(axis=0).mean()
        if denominator > 0:
            chis.append(np.sqrt(x.mean(axis=1).var() / denominator))
    return float(np.mean(chis)) if chis else None


def population_activity(
    name: str,
    counts: np.ndarray,
    seconds: float,
    capacity: np.ndarray,
    synchrony: bool = False,
) -> PopulationActivity:
    """Statistics of counts [samples, bins, neurons]; ``capacity``: the most spikes each
    neuron can fire in a sample (``n_steps / (1 + n_ref)``)."""
    per_sample = counts.sum(axis=1)  # [samples, neurons]
    mean = per_sample.mean(axis=0) if len(per_sample) else np.zeros(counts.shape[2])
    spikes = float(mean.mean()) if mean.size else 0.0
    return PopulationActivity(
        name=name,
        size=int(counts.shape[2]),
        rate_hz=spikes / seconds,
        spikes_per_neuron=spikes,
        silent_fraction=float(np.mean(per_sample.sum(axis=0) == 0)) if mean.size else 1.0,
        saturated_fraction=float(np.mean(mean > SATURATED_ABOVE * capacity)) if mean.size else 0.0,
        synchrony_chi=synchrony_chi(counts) if synchrony else None,
    )


def measure_activity(
    net: Network,
    counts: np.ndarray,
    n_steps: int,
    dt: float,
    *,
    synchrony: bool = False,
) -> tuple[tuple[PopulationActivity, ...], PopulationActivity]:
    """(per population, whole reservoir) from counts [samples, bins, neurons] of runs of
    ``n_steps`` steps of ``dt`` ms. ``synchrony`` also measures chi (meaningful with short
    bins, e.g. 5 ms)."""
    counts = np.asarray(counts)
    if counts.ndim != 3 or counts.shape[2] != net.n_neurons:
        raise ValueError(
            f"counts must have shape [samples, bins, {net.n_neurons}] for this network, got "
            f"{counts.shape}"
        )
    seconds = n_steps * dt / 1000.0
    capacity = n_steps / (1.0 + refractory_steps(net, dt))
    pops = tuple(
        population_activity(name, counts[:, :, sl], seconds, capacity[sl], synchrony)
        for name, sl in net.population_slices().items()
    )
    return pops, population_activity("all", counts, seconds, capacity, synchrony)


def _advice(
    case: int, options: Mapping[str, Any] | None, valid: Iterable[str] | None, prefix: str
) -> str:
    """The options that usually fix a silent (case 0) or saturated (case 1) reservoir."""
    valid = None if valid is None else set(valid)
    options = options or {}
    out = []
    for key, verbs in FIXES.items():
        if verbs[case] is None or (valid is not None and key not in valid):
            continue
        value = options.get(key)
        if verbs[case] == "raise" and key in AT_MOST and _at_least(value, AT_MOST[key]):
            continue
        notes = [f"now {json.dumps(json_safe(value))}"] if key in options else []
        notes += [NOTES[key]] if case == 0 and key in NOTES else []
        out.append(f"{verbs[case]} {prefix}{key}" + (f" ({'; '.join(notes)})" if notes else ""))
    return "; ".join(out)


def _at_least(value: Any, bound: float) -> bool:
    try:
        return float(value) >= bound
    except (TypeError, ValueError):
        return False


def activity_warning(
    pops: Sequence[PopulationActivity],
    total: PopulationActivity,
    *,
    options: Mapping[str, Any] | None = None,
    valid: Iterable[str] | None = None,
    prefix: str = "",
) -> str | None:
    """A warning when the reservoir is nearly silent (under ``SILENT_BELOW`` spikes per
    neuron per sample) or saturated (more than ``SATURATED_WARN`` of its neurons), naming
    the options that usually fix it (those in ``valid``, when given, shown with their
    value in ``options``, each as ``prefix + name``); None when the activity looks sane."""
    each = ", ".join(f"{p.name} {p.spikes_per_neuron:.3g}" for p in pops)
    if total.spikes_per_neuron < SILENT_BELOW:
        what = (
            f"the reservoir is nearly silent: {total.spikes_per_neuron:.3g} spikes per neuron "
            f"per sample ({each}; {total.silent_fraction:.0%} of neurons never fire), under "
            f"{SILENT_BELOW}"
        )
        case = 0
    elif total.saturated_fraction > SATURATED_WARN:
        what = (
            f"the reservoir is saturated: {total.saturated_fraction:.0%} of its neurons fire "
            f"in more than {SATURATED_ABOVE:.0%} of the steps they can ({each} spikes per "
            "neuron per sample)"
        )
        case = 1
    else:
        return None
    fixes = _advice(case, options, valid, prefix) or "the builder's input and recurrent weights"
    which = "" if valid is not None else " (those the builder takes)"
    return (
        f"{what}. Options that usually fix it{which}: {fixes}. `spikelab probe CONFIG` shows the "
        "activity of a few samples in seconds (docs/probe.md)"
    )


@dataclass(frozen=True)
class FixHints:
    """How a warning names the fixes: the options given (``options``, their values shown),
    the options the builder takes (``valid``; None: all of ``FIXES``), a prefix for their
    names (``"reservoir."`` for config keys)."""

    options: Mapping[str, Any] = field(default_factory=dict)
    valid: tuple[str, ...] | None = None
    prefix: str = ""

    def warning(self, pops: Sequence[PopulationActivity], total: PopulationActivity) -> str | None:
        return activity_warning(
            pops, total, options=self.options, valid=self.valid, prefix=self.prefix
        )


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


@dataclass(frozen=True, eq=False)
class ProbeReport:
    """A probe's result: activity per population and of the whole reservoir (``total``),
    the run's sizes, the warning (None: activity looks sane) and the recording (counts in
    ``bin_ms`` bins and the raster)."""

    populations: tuple[PopulationActivity, ...]
    total: PopulationActivity
    n_samples: int
    n_steps: int
    dt: float
    backend: str
    n_inputs: int
    input_events_per_sample: float
    bin_ms: float
    wall_time_s: float
    warning: str | None = None
    recording: Recording | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        t = self.total
        return (
            f"ProbeReport({self.n_samples} samples on {self.backend}: "
            f"{t.spikes_per_neuron:.3g} spikes/neuron/sample, {t.rate_hz:.3g} Hz, "
            f"{t.silent_fraction:.0%} silent, {t.saturated_fraction:.0%} saturated, "
            f"chi {_fmt(t.synchrony_chi, '.2f')}; {'WARNING' if self.warning else 'ok'})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values (what ``probe.json`` holds), with the thresholds used."""
        keys = ("n_samples", "n_steps", "dt", "backend", "n_inputs", "input_events_per_sample")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys}
        out["populations"] = [asdict(p) for p in self.populations]
        out["total"] = asdict(self.total)
        out["warning"] = self.warning
        out["wall_time_s"] = self.wall_time_s
        out["definitions"] = {
            "silent_below_spikes_per_neuron_per_sample": SILENT_BELOW,
            "saturated_above_fraction_of_possible_steps": SATURATED_ABOVE,
            "warn_above_saturated_fraction": SATURATED_WARN,
            "synchrony": f"Golomb chi of spike counts in {self.bin_ms:g} ms bins",
        }
        return out

    def to_text(self) -> str:
        """The report as a table a person reads."""
        head = (
            f"probe: {self.n_samples} samples x {self.n_steps} steps (dt {self.dt:g} ms) on "
            f"{self.backend}; {self.n_inputs} input channels, "
            f"{self.input_events_per_sample:.4g} input events per sample; "
            f"simulated in {self.wall_time_s:.2f} s"
        )
        cols = f"{'population':14} {'size':>7} {'rate Hz':>9} {'spikes/neuron':>14} "
        cols += f"{'silent':>7} {'saturated':>10} {'chi':>6}"
        rows = [
            f"{p.name:14} {p.size:7d} {p.rate_hz:9.3g} {p.spikes_per_neuron:14.3g} "
            f"{p.silent_fraction:7.1%} {p.saturated_fraction:10.1%} "
            f"{_fmt(p.synchrony_chi, '6.2f'):>6}"
            for p in (*self.populations, self.total)
        ]
        tail = f"WARNING: {self.warning}" if self.warning else "activity: ok"
        note = (
            f"(spikes/neuron: per sample; silent: no spike in any sample; saturated: firing in "
            f"over {SATURATED_ABOVE:.0%} of the steps it can; chi: Golomb's synchrony, "
            f"{self.bin_ms:g} ms bins)"
        )
        return "\n".join([head, cols, *rows, note, tail]) + "\n"

    def save(self, folder: str | Path) -> Path:
        """Write ``probe.txt``, ``probe.json`` and ``probe_raster.png`` (first sample) into
        ``folder`` (created; other files in it are left alone); returns the folder."""
        folder = Path(folder)
        write_text_atomic(folder / "probe.txt", self.to_text())
        write_json_atomic(folder / "probe.json", self.to_dict())
        if self.recording is not None and self.recording.raster is not None:
            from . import plots

            fig = plots.new_figure(plots.RASTER_SIZE)
            ax, rate_ax = plots.raster_axes(fig)
            title = f"probe, sample 0 of {self.n_samples}"
            plots.plot_raster(self.recording, ax=ax, rate_ax=rate_ax, title=title)
            with tempfile.TemporaryDirectory() as tmp:
                png = plots.save_figure(fig, Path(tmp) / "raster.png")
                write_bytes_atomic(folder / "probe_raster.png", png.read_bytes())
        return folder


def probe_network(
    net: Network,
    batch: SpikeBatch,
    backend: str = "numba",
    *,
    samples: int | None = 8,
    bin_ms: float = BIN_MS,
    hints: FixHints | None = None,
    **options: Any,
) -> ProbeReport:
    """Simulate the first ``samples`` samples of ``batch`` (None: all) on ``backend``
    (``options`` go to it) with a raster, and report their activity (see the module
    docstring for the definitions). The step is the batch's ``dt``."""
    if not isinstance(batch, SpikeBatch):
        raise TypeError(f"probe takes a SpikeBatch, got {type(batch).__name__}")
    if samples is not None and int(samples) < 1:
        raise ValueError(f"samples must be >= 1 (or None: the whole batch), got {samples}")
    if not len(batch):
        raise ValueError("probe needs a batch with at least one sample")
    if not bin_ms > 0:
        raise ValueError(f"bin_ms must be > 0 ms, got {bin_ms}")
    if samples is not None and len(batch) > int(samples):
        batch = batch.subset(np.arange(int(samples)))
    record = RecordSpec(bin_steps=max(1, round(bin_ms / batch.dt)), raster=True)
    rec = net.compile(backend, dt=batch.dt, record=record, **options).run(batch)
    pops, total = measure_activity(net, rec.counts, rec.n_steps, rec.dt, synchrony=True)
    return ProbeReport(
        populations=pops,
        total=total,
        n_samples=len(batch),
        n_steps=rec.n_steps,
        dt=rec.dt,
        backend=backend,
        n_inputs=batch.n_channels,
        input_events_per_sample=float(batch.values.sum() / len(batch)),
        bin_ms=record.bin_steps * batch.dt,
        wall_time_s=rec.wall_time_s,
        warning=(hints or FixHints()).warning(pops, total),
        recording=rec,
    )

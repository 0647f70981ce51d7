"""The sections of an experiment (dataset, encoding, features, reservoir, backend, record,
readout, baseline, output) and the classify task's whole config (``ClassifyConfig``); the
zero-shot task's is in ``spikelab.tasks.zero_shot.config``. See docs/experiments.md."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any

from ..encoding import EventEncoding, check_time_options
from .limits import check_reservoir_size
from .schema import (
    ChoiceSection,
    ConfigError,
    Section,
    TaskConfig,
    at_least,
    closest,
    positive_numbers,
    signature_options,
    takes_any_keyword,
    type_hints,
)

DATASET_NAMES = ("nmnist", "ntidigits", "fsdd")
GENERATORS = ("nmnist-like", "ntidigits-like")


@dataclass(frozen=True)
class DatasetConfig(Section):
    """``[dataset]``: which events, where, how many, how split (docs/experiments.md)."""

    NAME = "dataset"
    name: str = "nmnist"
    root: str = "../shared/data/nmnist-small"
    generate: str = ""  # "nmnist-like" / "ntidigits-like": generate root when it is missing
    per_class: int = 100  # for generation
    test_fraction: float = 0.2  # stratified split when the folder has no Test/
    max_per_class: int = 0  # 0: every sample
    on_error: str = "raise"  # nmnist: "raise" or "skip" unreadable files
    label_map: str = "tonic"  # ntidigits: the labels' map (spikelab.datasets.LABEL_MAPS)
    seed: int | None = None  # the split, sample limits, generation; None: the top-level seed
    download: bool = False  # fetch the full set through tonic into root (opt-in, network)
    disk_cache: str = ""  # folder of the one-file-per-split event cache (docs/datasets.md)
    split: str = "auto"  # fsdd: "auto", "fsdd" (indices 0-4 test), "stratified", "speakers"
    test_speakers: tuple[str, ...] = ()  # fsdd, split = "speakers": the held-out speakers
    cochlea: dict[str, Any] = field(default_factory=dict)  # fsdd: CochleaConfig overrides
    cochlea_cache: str = "results/cache/cochlea"  # fsdd: cochlea events on disk; "": none

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", os.fspath(self.root))
        self.set_tuple("test_speakers")
        self.check_fsdd()
        object.__setattr__(self, "disk_cache", os.fspath(self.disk_cache))
        if self.download and self.generate:
            raise ConfigError(
                "dataset.download = true and dataset.generate are both set; download the "
                "real set or generate a stand-in, not both"
            )
        if self.download and self.name not in ("nmnist", "ntidigits"):
            raise ConfigError(
                f"dataset.download = true works for 'nmnist' and 'ntidigits' (through tonic), "
                f"not {self.name!r}; set download = false"
            )
        if self.name not in DATASET_NAMES:
            raise ConfigError(
                f"dataset.name {self.name!r} is unknown; use 'nmnist', 'ntidigits' or 'fsdd'"
            )
        if self.generate and self.generate not in GENERATORS:
            raise ConfigError(
                f"dataset.generate must be one of {sorted(GENERATORS)}, got {self.generate!r}"
            )
        at_least("dataset.max_per_class", self.max_per_class, 0)  # 0: every sample
        at_least("dataset.per_class", self.per_class, 1)
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"dataset.test_fraction must be in (0, 1), got {self.test_fraction}")

    def check_fsdd(self) -> None:
        """The FSDD keys (docs/audio.md): the split, its speakers, the cochlea options."""
        from ..datasets.cochlea import fsdd_cochlea

        splits = ("auto", "fsdd", "stratified", "speakers")
        if self.split not in splits:
            raise ConfigError(f"dataset.split must be one of {splits}, got {self.split!r}")
        if self.split == "speakers" and not self.test_speakers:
            raise ConfigError(
                'dataset.split = "speakers" needs dataset.test_speakers, e.g. ["george"]'
            )
        if not all(isinstance(s, str) for s in self.test_speakers):
            raise ConfigError(f"dataset.test_speakers must be names, got {self.test_speakers!r}")
        try:
            fsdd_cochlea(**self.cochlea)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"dataset.cochlea: {e} (keys: CochleaConfig's fields)") from None

    def cochlea_config(self) -> Any:
        """The ``CochleaConfig`` of an FSDD run: ``fsdd_cochlea()`` with ``cochlea``'s keys."""
        from ..datasets.cochlea import fsdd_cochlea

        return fsdd_cochlea(**self.cochlea)


class _EncodingSection(Section):
    """What ``EncodingConfig`` adds to its fields (which are ``EventEncoding``'s)."""

    NAME = "encoding"

    def __post_init__(self) -> None:
        self.set_tuple("crop")
        try:  # the options that do not need the sensor: checked before any data is loaded
            check_time_options(**self.kwargs())
        except ValueError as e:
            raise ConfigError(f"encoding: {e}") from None

    def make(self, sensor_size: tuple[int, int, int]) -> EventEncoding:
        """The ``EventEncoding`` for events of this sensor size."""
        return EventEncoding(sensor_size=tuple(sensor_size), **self.kwargs())


#: ``[encoding]``: the fields of ``spikelab.encoding.EventEncoding`` (the one owner of the
#: options and their defaults) but ``sensor_size``, which comes from the data.
EncodingConfig = make_dataclass(
    "EncodingConfig",
    [
        (f.name, f.type, field(default=f.default))
        for f in fields(EventEncoding)
        if f.name != "sensor_size"
    ],
    bases=(_EncodingSection,),
    frozen=True,
    namespace={"__module__": __name__, "__doc__": _EncodingSection.__doc__},
)
EncodingConfig.__doc__ = (
    "``[encoding]``: ``spikelab.encoding.EventEncoding``'s options but the sensor size, "
    "which comes from the data; defaults are EventEncoding's."
)


FEATURE_KINDS = ("none", "feast")


@dataclass(frozen=True)
class FeaturesConfig(ChoiceSection):
    """``[features]``: ``kind = "none"`` or ``"feast"`` with FEAST's parameters and
    ``fit_samples`` (training samples FEAST learns from; 0: all)."""

    NAME = "features"
    CHOICE = "kind"
    kind: str = "none"
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def options(cls, kind: Any) -> list[str]:
        if kind in ("none", ""):
            return []
        if kind != "feast":
            raise ConfigError(f"features.kind {kind!r} is unknown; use 'none' or 'feast'")
        from ..features import FEAST

        return [*signature_options(FEAST), "fit_samples"]


BUILDERS = ("lsm_column", "izhikevich_network", "lin2025_lsm")
FROM_ENCODING = ("n_inputs", "dt")  # builder arguments the encoding sets


@dataclass(frozen=True)
class ReservoirConfig(ChoiceSection):
    """``[reservoir]``: ``builder`` (a function of ``spikelab.reservoirs``), ``n_neurons``
    and the builder's keyword arguments (``n_inputs`` and ``dt`` come from the encoding)."""

    NAME = "reservoir"
    CHOICE = "builder"
    builder: str = "lsm_column"
    n_neurons: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def options(cls, builder: Any) -> list[str]:
        if builder not in BUILDERS:
            near = closest(builder, BUILDERS)
            hint = f" (did you mean {near!r}?)" if near else ""
            raise ConfigError(
                f"reservoir.builder {builder!r} is unknown{hint}; use lsm_column, "
                "izhikevich_network or lin2025_lsm"
            )
        from .. import reservoirs

        return signature_options(getattr(reservoirs, builder), (*FROM_ENCODING, "n_neurons"))

    @classmethod
    def option_types(cls, builder: Any) -> dict[str, Any]:
        from .. import reservoirs

        return type_hints(getattr(reservoirs, builder))

    def __post_init__(self) -> None:
        at_least("reservoir.n_neurons", self.n_neurons, 1)
        if self.builder in BUILDERS:  # the size guard, before any data is loaded
            check_reservoir_size(self.builder, self.n_neurons, self.params)


def backend_options(name: str) -> list[str] | None:
    """The options backend ``name`` takes (its class's constructor, through the backend
    registry), or None when they cannot be read here (``auto``, a missing dependency, a
    constructor taking any keyword): the backend then checks them itself."""
    from ..backends.base import BackendUnavailable, backend_class, canonical_name

    if canonical_name(name) == "auto":
        return None
    try:
        cls = backend_class(name)
    except BackendUnavailable:  # torch, brian2 or lava not installed: the backend says so
        return None
    except ValueError as e:  # unknown name: the registry's message lists the known ones
        raise ConfigError(str(e)) from None
    names = signature_options(cls)
    extra = getattr(cls, "keyword_options", None)  # what its ``**kwargs`` takes, if it says
    if takes_any_keyword(cls):
        if extra is None:
            return None
        names += list(extra())
    return names


@dataclass(frozen=True)
class BackendConfig(ChoiceSection):
    """``[backend]``: ``name`` (a registered backend) and its constructor's options."""

    NAME = "backend"
    CHOICE = "name"
    name: str = "numba"
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def options(cls, name: Any) -> list[str] | None:
        if not isinstance(name, str):
            raise ConfigError(f"backend.name must be a backend name, got {name!r}")
        return backend_options(name)

    @classmethod
    def option_types(cls, name: Any) -> dict[str, Any]:
        from ..backends.base import backend_class

        return type_hints(backend_class(name).__init__)  # options() found the class


READOUT_PRESETS: dict[str, dict[str, Any]] = {
    "ridge": {"alpha": [1.0, 10.0, 100.0, 1000.0, 10000.0], "log1p": True, "standardize": True},
    "online": {"rule": "three_factor", "log1p": True, "standardize": True},
}
READOUT_PRESETS["logistic"] = READOUT_PRESETS["ridge"]


def _readout_options(kind: str) -> list[str]:
    from ..readout import READOUT_KINDS

    return signature_options(READOUT_KINDS[kind][0], ("kind",))


@dataclass(frozen=True)
class ReadoutConfig(ChoiceSection):
    """``[readout]``: ``kind`` (``spikelab.readout.READOUT_KINDS``) and the options of that
    kind's estimator. Options of another kind are accepted and ignored with a warning
    (``--set readout.kind=online`` on a ridge config: docs/readouts.md)."""

    NAME = "readout"
    CHOICE = "kind"
    kind: str = "ridge"
    params: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(READOUT_PRESETS["ridge"]))

    def __post_init__(self) -> None:
        if self.kind in ("ridge", "logistic") and "alpha" in self.params:
            positive_numbers("readout.alpha", self.params["alpha"])

    @classmethod
    def preset(cls, kind: Any) -> ReadoutConfig:
        return cls(kind=kind, params=copy.deepcopy(READOUT_PRESETS.get(kind, {})))

    @classmethod
    def options(cls, kind: Any) -> list[str]:
        from ..readout import READOUT_KINDS, make_readout

        if kind not in READOUT_KINDS:
            make_readout({"kind": kind})  # raises its message (kinds, renamed kinds)
        return _readout_options(kind)

    @classmethod
    def option_types(cls, kind: Any) -> dict[str, Any]:
        from ..readout import READOUT_KINDS

        hints = type_hints(READOUT_KINDS[kind][0].__init__)
        hints.pop("alpha", None)  # a number or a list (checked in __post_init__)
        return hints

    @classmethod
    def tolerated(cls, kind: Any) -> set[str]:
        from ..readout import READOUT_KINDS

        return {k for other in READOUT_KINDS if other != kind for k in _readout_options(other)}

    def make(self, **overrides: Any) -> Any:
        """The readout estimator (``spikelab.readout.make_readout``)."""
        from ..readout import make_readout

        return make_readout(self.to_dict(), **overrides)


@dataclass(frozen=True)
class RecordConfig(Section):
    """``[record]``: ``bin_steps``, the width of a spike-count bin in steps (0: one bin)."""

    NAME = "record"
    bin_steps: int = 50

    def __post_init__(self) -> None:
        at_least("record.bin_steps", self.bin_steps, 0)


@dataclass(frozen=True)
class BaselineConfig(Section):
    """``[baseline]``: logistic regression on event-count histograms of ``n_time_bins``
    time bins (0: no baseline), regularisation ``C``."""

    NAME = "baseline"
    n_time_bins: int = 3
    C: float = 1.0

    def __post_init__(self) -> None:
        at_least("baseline.n_time_bins", self.n_time_bins, 0)  # 0: no baseline
        if isinstance(self.C, int | float) and not self.C > 0:
            raise ConfigError(f"baseline.C must be > 0, got {self.C}")


@dataclass(frozen=True)
class OutputConfig(Section):
    """``[output]``: the results folder and what goes in it."""

    NAME = "output"
    dir: str = "results/experiment"
    chunk_size: int = 128  # samples simulated at once: bounds memory
    save_states: bool = True
    plots: bool = True
    overwrite: bool = False  # replace an earlier results folder (never anything else)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dir", os.fspath(self.dir))


@dataclass(frozen=True)
class ClassifyConfig(TaskConfig):
    """The classify task (``spikelab.tasks.classify``): dataset -> (features) -> encoding
    -> reservoir on a backend -> readout, beside a histogram baseline."""

    TASK = "classify"
    NESTED = {
        "dataset": DatasetConfig,
        "encoding": EncodingConfig,
        "features": FeaturesConfig,
        "reservoir": ReservoirConfig,
        "backend": BackendConfig,
        "record": RecordConfig,
        "readout": ReadoutConfig,
        "baseline": BaselineConfig,
        "output": OutputConfig,
    }
    FREE = ("reference",)
    task: str = "classify"
    seed: int = 0  # the default of dataset.seed (split), reservoir.seed and FEAST's seed
    name: str = "experiment"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    encoding: EncodingConfig = field(default_factory=lambda: EncodingConfig(duration=300.0))
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    reservoir: ReservoirConfig = field(default_factory=ReservoirConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    reference: dict[str, Any] = field(default_factory=dict)  # free-form: published figures
    output: OutputConfig = field(default_factory=OutputConfig)
    #: ``[[transforms]]``: tonic transforms applied to every sample before encoding
    #: (``spikelab.datasets.transforms``), checked here, before any data is loaded.
    transforms: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.check_task()
        at_least("seed", self.seed, 0)
        if self.transforms:
            self.event_transform()

    def event_transform(self) -> Any:
        """The ``[[transforms]]`` list as one seeded callable (a loader's ``transform=``),
        seeded by the data seed; ConfigError naming the entry when one is wrong."""
        from ..datasets.transforms import build_transforms

        seed = self.seed if self.dataset.seed is None else self.dataset.seed
        try:
            return build_transforms(self.transforms, dataset=self.dataset.name, seed=int(seed))
        except ValueError as e:
            raise ConfigError(str(e)) from None

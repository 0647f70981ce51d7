"""Experiment configuration: TOML files, ``--set`` overrides, typed strict sections.

A config is TOML: a few top-level keys (``task``, ``name``, ``seed``) and tables, the
sections. Each section is read into a frozen dataclass by its ``from_dict``, which starts
from the defaults (the dataclass's own, or a task's preset) and rejects a key the section
does not have, naming the key, the section and the closest valid key::

    unknown key 'max_per_clas' in [dataset]; did you mean 'max_per_class'? valid keys: ...

Sections whose keys depend on a choice are checked against that choice: ``[reservoir]``
against the signature of the chosen ``spikelab.reservoirs`` builder, ``[backend]`` against
the chosen backend's constructor, ``[readout]`` against the chosen kind's estimator and
``[features]`` against FEAST's parameters. ``[reference]`` is free-form: published figures,
printed and stored beside ours.

``ClassifyConfig`` is the classify task's whole config; the zero-shot task's is
``spikelab.tasks.zero_shot.ZeroShotConfig``, and ``spikelab.tasks.parse`` picks one by the
``task`` key. ``to_dict`` gives the resolved config as plain TOML values: the
``config.toml`` of a results folder, which ``spikelab run`` reads back.

Modules: ``files`` (TOML, overrides, packaged configs), ``schema`` (the strict-section
machinery), ``sections`` (the experiment's sections and ``ClassifyConfig``); the TOML files
shipped with the package are in ``packaged/`` (``packaged_config("demo.toml")``).
"""

from __future__ import annotations

from .files import (
    apply_overrides,
    load_config,
    loads_config,
    packaged_config,
    parse_value,
    set_value,
    to_toml,
    tomllib,
)
from .schema import (
    ChoiceSection,
    ConfigError,
    Section,
    TaskConfig,
    check_keys,
    closest,
    plain,
    signature_options,
    table,
    takes_any_keyword,
    unknown_key,
)
from .sections import (
    BUILDERS,
    DATASET_NAMES,
    FEATURE_KINDS,
    FROM_ENCODING,
    GENERATORS,
    BackendConfig,
    BaselineConfig,
    ClassifyConfig,
    DatasetConfig,
    EncodingConfig,
    FeaturesConfig,
    OutputConfig,
    ReadoutConfig,
    RecordConfig,
    ReservoirConfig,
    backend_options,
)

__all__ = [
    "BUILDERS",
    "BackendConfig",
    "BaselineConfig",
    "ChoiceSection",
    "ClassifyConfig",
    "ConfigError",
    "DATASET_NAMES",
    "DatasetConfig",
    "EncodingConfig",
    "FEATURE_KINDS",
    "FROM_ENCODING",
    "FeaturesConfig",
    "GENERATORS",
    "OutputConfig",
    "ReadoutConfig",
    "RecordConfig",
    "ReservoirConfig",
    "Section",
    "TaskConfig",
    "apply_overrides",
    "backend_options",
    "check_keys",
    "closest",
    "load_config",
    "loads_config",
    "packaged_config",
    "parse_value",
    "plain",
    "set_value",
    "signature_options",
    "table",
    "takes_any_keyword",
    "to_toml",
    "tomllib",
    "unknown_key",
]

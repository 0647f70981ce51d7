"""Readouts trained on reservoir states.

``LinearReadout`` (ridge / logistic, solved), ``OnlineReadout`` (learned online by a
plasticity rule: three-factor, Hebbian / instar or FORCE), ``WhatWhenReadout`` (time-resolved
what x when predictions after a cue) and ``ContrastiveAligner`` (two modalities into one
embedding). The contrastive readout needs torch and is imported on
first use, so ``import spikelab.readout`` stays free of torch.
"""

import inspect
import warnings
from typing import Any

from .io import load_readout, save_readout
from .linear import LinearReadout, reservoir_features
from .online import OnlineReadout
from .what_when import WhatWhenReadout

__all__ = [
    "READOUT_KINDS",
    "WhatWhenReadout",
    "ContrastiveAligner",
    "LinearReadout",
    "OnlineReadout",
    "load_readout",
    "make_readout",
    "save_readout",
    "reservoir_features",
]

# config ``[readout] kind`` -> (class, whether ``kind`` is one of the class's parameters)
READOUT_KINDS: dict[str, tuple[type, bool]] = {
    "ridge": (LinearReadout, True),
    "logistic": (LinearReadout, True),
    "online": (OnlineReadout, False),
}


def make_readout(params: dict[str, Any], **overrides: Any) -> LinearReadout | OnlineReadout:
    """The readout a config's ``[readout]`` table describes (``kind`` picks the class)."""
    params = {**params, **overrides}
    kind = params.get("kind", "ridge")
    if kind == "hebbian":
        raise ValueError(
            'readout kind "hebbian" is now kind "online" with rule "hebbian" (or '
            '"three_factor", "force"); see docs/readouts.md'
        )
    if kind not in READOUT_KINDS:
        raise ValueError(f"readout kind must be one of {sorted(READOUT_KINDS)}, got {kind!r}")
    cls, takes_kind = READOUT_KINDS[kind]
    if not takes_kind:
        params.pop("kind")
    known = _options(cls)
    foreign = sorted(
        k for k in set(params) - known if any(k in _options(c) for c, _ in READOUT_KINDS.values())
    )
    if foreign:  # e.g. a ridge config's alpha list after --set readout.kind=online
        hint = (
            " (FORCE's penalty is force_alpha)" if "alpha" in foreign and kind == "online" else ""
        )
        warnings.warn(
            f"readout kind {kind!r} ignores {foreign} (options of another readout kind){hint}",
            stacklevel=2,
        )
        params = {k: v for k, v in params.items() if k not in foreign}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"readout kind {kind!r} has no option(s) {unknown}; its options are {sorted(known)}"
        )
    return cls(**params)


def _options(cls: type) -> set[str]:
    return set(inspect.signature(cls).parameters)


def __getattr__(name: str) -> Any:
    if name == "ContrastiveAligner":
        from .contrastive import ContrastiveAligner

        return ContrastiveAligner
    raise AttributeError(f"module 'spikelab.readout' has no attribute {name!r}")

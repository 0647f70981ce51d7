"""Readouts trained on reservoir states.

``ContrastiveAligner`` (and the rest of ``spikelab.readout.contrastive``) needs torch and
is imported on first use, so ``import spikelab.readout`` stays free of torch.
"""

from typing import Any

from .linear import LinearReadout, reservoir_features

__all__ = ["ContrastiveAligner", "LinearReadout", "reservoir_features"]


def __getattr__(name: str) -> Any:
    if name == "ContrastiveAligner":
        from .contrastive import ContrastiveAligner

        return ContrastiveAligner
    raise AttributeError(f"module 'spikelab.readout' has no attribute {name!r}")

"""The zero-shot multimodal LSM of Lin et al. (2025): config -> run -> results folder.

    spikelab run examples/lin2025_zero_shot.toml [--backend crossbar]

Two frozen random reservoirs (``spikelab.reservoirs.lin2025_lsm``) turn N-MNIST-style
images and N-TIDIGITS-style spoken digits into spike counts; two small heads
(``spikelab.readout.contrastive.ContrastiveAligner``) are trained to align them with the
CLIP loss on same-class pairs of the training digits (1-7 by default). Evaluation is
top-1 cross-modal retrieval by cosine similarity, both ways, on held-out samples of the
training digits ("in-class") and on the digits never seen in training (8 and 9:
"zero-shot"), with a prototypical-network baseline beside it, each as mean ± std over
the run ``seeds`` (a seed drives both reservoirs, the pairing and the head
initialisation; the top-level ``seed`` fixes the data: generation and train/test split).

Modules: ``config`` (the typed sections and the paper's preset), ``data`` (load, relabel,
encode), ``run`` (one seed, the results folder, the run), ``report`` (table, chance
levels, figure), ``trace`` (accuracy per epoch and what epoch selection would report).
Importing this package does not import torch; ``run_zero_shot`` does.
"""

from .config import (
    AudioConfig,
    ContrastiveConfig,
    EvaluationConfig,
    ModalityConfig,
    SplitConfig,
    ZeroShotConfig,
    ZeroShotOutputConfig,
)
from .data import ModalityData, check_coverage, load_modality, masks
from .report import chance_levels, format_table, plot_retrieval, retrieval_table
from .run import evaluate_seed, run_zero_shot, simulate_modality
from .trace import selection_summary, selections

__all__ = [
    "AudioConfig",
    "ContrastiveConfig",
    "EvaluationConfig",
    "ModalityConfig",
    "ModalityData",
    "SplitConfig",
    "ZeroShotConfig",
    "ZeroShotOutputConfig",
    "chance_levels",
    "check_coverage",
    "evaluate_seed",
    "format_table",
    "load_modality",
    "masks",
    "plot_retrieval",
    "retrieval_table",
    "run_zero_shot",
    "selection_summary",
    "selections",
    "simulate_modality",
]

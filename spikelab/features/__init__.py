"""Event-based feature extraction: FEAST (Afshar et al. 2020) and its helpers."""

from spikelab.features.feast import FEAST
from spikelab.features.feast_histogram import event_histogram
from spikelab.features.feast_io import load_feast, save_feast
from spikelab.features.feast_plots import convergence_summary, plot_feast_learning
from spikelab.features.feast_size import SizeRecommendation, recommend_n_neurons

__all__ = [
    "FEAST",
    "SizeRecommendation",
    "convergence_summary",
    "event_histogram",
    "load_feast",
    "plot_feast_learning",
    "recommend_n_neurons",
    "save_feast",
]

"""Event-based feature extraction: FEAST (Afshar et al. 2020, ``spikelab.features.feast``)
and the event-count histogram of its output (``spikelab.encoding.event_histogram``)."""

from spikelab.encoding import event_histogram
from spikelab.features.feast import (
    FEAST,
    SizeRecommendation,
    convergence_summary,
    load_feast,
    plot_feast_learning,
    recommend_n_neurons,
    save_feast,
)

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

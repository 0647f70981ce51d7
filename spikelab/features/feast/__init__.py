"""FEAST (Afshar et al. 2020): event-based feature extraction with adaptive thresholds.

* ``extractor`` — the ``FEAST`` estimator (scikit-learn contract);
* ``kernels`` — its numba kernels; ``checks`` — argument checks;
* ``io`` — ``save_feast`` / ``load_feast`` (HDF5); ``plots`` — learning signals;
* ``size`` — ``recommend_n_neurons`` (noise-event method).
"""

from .extractor import FEAST
from .io import load_feast, save_feast
from .plots import convergence_summary, plot_feast_learning
from .size import SizeRecommendation, add_noise_events, recommend_n_neurons

__all__ = [
    "FEAST",
    "SizeRecommendation",
    "add_noise_events",
    "convergence_summary",
    "load_feast",
    "plot_feast_learning",
    "recommend_n_neurons",
    "save_feast",
]

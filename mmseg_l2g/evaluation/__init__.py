"""Pseudo-mask evaluation: confusion matrices and the background-threshold sweep."""

from .confusion import confusion_matrix, scores_from_confusion
from .sweep_metric import ThresholdSweepMetric
from .threshold_sweep import ThresholdSweep, parse_thresholds, threshold_range

__all__ = [
    "ThresholdSweep",
    "ThresholdSweepMetric",
    "confusion_matrix",
    "parse_thresholds",
    "scores_from_confusion",
    "threshold_range",
]

"""The pseudo-mask threshold sweep as an mmengine metric, gathered across ranks by mmengine."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine import dist
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from .threshold_sweep import ThresholdSweep


@METRICS.register_module()
class ThresholdSweepMetric(BaseMetric):
    """Sums one confusion matrix per threshold over the images; scores the sweep.

    Each rank keeps one running sum (not one entry per image), so gathering
    moves ``world_size`` matrices. :meth:`evaluate` (mmengine's) gathers them
    on rank 0, which computes the report, and broadcasts it to every rank.

    Args:
        thresholds: the swept thresholds (sorted and deduplicated).
        class_names: the K = C+1 class names, background first.
        chosen_thr: the threshold of the written masks (reported as ``chosen``).
        collect_device: ``'cpu'`` or ``'gpu'`` (mmengine's gathering).
        prefix: key prefix of the metrics (none by default).
    """

    default_prefix = ""  # keys as they are (metrics.json's), no "prefix/" added

    def __init__(
        self,
        thresholds: Sequence[float],
        class_names: Sequence[str],
        chosen_thr: float,
        collect_device: str = "cpu",
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thresholds = sorted({round(float(t), 6) for t in thresholds})
        self.class_names = list(class_names)
        self.chosen_thr = round(float(chosen_thr), 6)
        self.sweep: Optional[ThresholdSweep] = None  # the last report's (rank 0)

    @property
    def num_classes(self) -> int:
        """K, the number of classes including background."""
        return len(self.class_names)

    def _running_sum(self) -> Dict[str, Any]:
        if not self.results:
            k = self.num_classes
            shape = (len(self.thresholds), k, k + 1)
            self.results.append(dict(confusion=np.zeros(shape, dtype=np.int64), num_images=0))
        return self.results[0]

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Adds images' matrices: each sample a dict with ``confusion`` int (T, K, K+1)."""
        total = self._running_sum()
        for sample in data_samples:
            confusion = np.asarray(sample["confusion"])
            if confusion.shape != total["confusion"].shape:
                raise ValueError(
                    f"expected confusion matrices of shape {total['confusion'].shape}, "
                    f"got {confusion.shape}"
                )
            total["confusion"] += confusion
            total["num_images"] += 1

    def compute_metrics(self, results: List[Dict[str, Any]]) -> Dict[str, Any]:
        """The sweep report of the summed matrices (``{}`` when no image was scored)."""
        sweep = ThresholdSweep(self.thresholds, self.class_names)
        for part in results:
            sweep.confusion += part["confusion"]
            sweep.num_images += int(part["num_images"])
        self.sweep = sweep
        return sweep.summary(self.chosen_thr) if sweep.num_images else {}

    def evaluate_ranks(self) -> Dict[str, Any]:
        """:meth:`evaluate` over every rank's running sum (call on every rank)."""
        self._running_sum()
        return self.evaluate(dist.get_world_size())

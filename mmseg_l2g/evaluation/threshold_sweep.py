"""Pseudo-mask scores over a sweep of background thresholds, in one pass.

One confusion matrix per threshold is accumulated while the masks are made,
so the sweep needs no second pass over the data. Across ranks the matrices
are gathered by :class:`~mmseg_l2g.evaluation.ThresholdSweepMetric` (mmengine).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from .confusion import scores_from_confusion

MAX_THRESHOLDS = 1001  # a step of 0.001 over [0, 1]


def threshold_range(start: float, stop: float, step: float) -> List[float]:
    """Thresholds ``start, start+step, ..., stop`` (stop included), rounded to 6 digits.

    Args:
        start: the first threshold.
        stop: the last threshold (included when on the grid).
        step: the spacing, positive.

    Returns:
        The thresholds in increasing order.
    """
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise ValueError(f"the sweep start, stop and step must be finite, got {start, stop, step}")
    if step <= 0:
        raise ValueError(f"the sweep step must be positive, got {step}")
    if stop < start:
        raise ValueError(f"the sweep stop {stop} is below its start {start}")
    count = int(math.floor((stop - start) / step + 1e-6)) + 1
    if count > MAX_THRESHOLDS:
        raise ValueError(
            f"the sweep {start}:{stop}:{step} has {count} thresholds, more than "
            f"{MAX_THRESHOLDS}; use a larger step"
        )
    return [round(start + i * step, 6) for i in range(count)]


def parse_thresholds(tokens: Sequence[str]) -> List[float]:
    """Thresholds from text: ``['START:STOP:STEP']`` (stop included) or numbers, each in [0, 1].

    Raises:
        ValueError: malformed, non-finite, outside [0, 1] or too many (naming the text).
    """
    text = " ".join(tokens)
    try:
        if len(tokens) == 1 and ":" in tokens[0]:
            start, stop, step = (float(part) for part in tokens[0].split(":"))
            values = threshold_range(start, stop, step)
        else:
            values = [float(token) for token in tokens]
    except ValueError as exc:
        raise ValueError(f"thresholds {text!r}: {exc} (START:STOP:STEP or numbers)") from exc
    bad = [v for v in values if not (math.isfinite(v) and 0.0 <= v <= 1.0)]
    if bad or not values:
        raise ValueError(f"thresholds {text!r} must be in [0, 1] (at least one), got {bad}")
    return values


class ThresholdSweep:
    """Accumulates one confusion matrix per threshold and scores them.

    Args:
        thresholds: the thresholds, one matrix each (sorted, deduplicated).
        class_names: the K = C+1 class names, background first.
    """

    def __init__(self, thresholds: Sequence[float], class_names: Sequence[str]) -> None:
        if not thresholds:
            raise ValueError("a threshold sweep needs at least one threshold")
        self.thresholds: List[float] = sorted({round(float(t), 6) for t in thresholds})
        self.class_names = list(class_names)
        k = len(self.class_names)
        self.confusion = np.zeros((len(self.thresholds), k, k + 1), dtype=np.int64)
        self.num_images = 0

    @property
    def num_classes(self) -> int:
        """K, the number of classes including background."""
        return len(self.class_names)

    def update(self, confusion: np.ndarray) -> None:
        """Adds one image's matrices.

        Args:
            confusion: int (T, K, K+1), one matrix per threshold in
                :attr:`thresholds` order.
        """
        if confusion.shape != self.confusion.shape:
            raise ValueError(
                f"expected confusion matrices of shape {self.confusion.shape}, got "
                f"{confusion.shape}"
            )
        self.confusion += confusion
        self.num_images += 1

    def index_of(self, threshold: float) -> int:
        """Position of ``threshold`` in :attr:`thresholds`."""
        key = round(float(threshold), 6)
        if key not in self.thresholds:
            raise KeyError(f"threshold {threshold} is not in the sweep {self.thresholds}")
        return self.thresholds.index(key)

    def scores(self, threshold: float) -> Dict[str, object]:
        """The scores of one threshold (see :func:`scores_from_confusion`)."""
        return scores_from_confusion(self.confusion[self.index_of(threshold)])

    def best_threshold(self) -> Optional[float]:
        """The threshold of the highest mIoU (the lowest one on ties); None without pixels."""
        best, best_miou = None, -1.0
        for threshold in self.thresholds:
            miou = self.scores(threshold)["miou"]
            if not math.isnan(miou) and miou > best_miou:
                best, best_miou = threshold, miou
        return best

    def summary(self, chosen: float) -> dict:
        """A JSON-ready report: the sweep, the best threshold and the chosen one.

        Args:
            chosen: the threshold the written masks used (must be swept).

        Returns:
            Dict with ``classes``, ``num_images``, ``sweep`` (one entry per
            threshold: ``thr``, ``miou``, ``mprecision``, ``mrecall``,
            ``accuracy``, ``ignored_ratio``), ``best_thr``, ``best_miou``,
            ``chosen_thr`` and per-class ``iou``/``precision``/``recall`` at
            the chosen and the best thresholds; every score in percent, as
            mmseg logs it (NaN, written as null, where undefined).
        """
        sweep = []
        for threshold in self.thresholds:
            scores = self.scores(threshold)
            entry = dict(thr=threshold)
            entry.update({key: _percent(scores[key]) for key in _MEAN_KEYS})
            sweep.append(entry)
        best = self.best_threshold()
        report = dict(
            classes=self.class_names,
            num_images=self.num_images,
            sweep=sweep,
            best_thr=best,
            best_miou=_percent(self.scores(best)["miou"]) if best is not None else float("nan"),
            chosen_thr=round(float(chosen), 6),
            chosen=self._per_class(chosen),
        )
        if best is not None:
            report["best"] = self._per_class(best)
        return report

    def _per_class(self, threshold: float) -> dict:
        """Means and per-class scores of one threshold, keyed by class name."""
        scores = self.scores(threshold)
        entry: dict = dict(thr=round(float(threshold), 6))
        entry.update({key: _percent(scores[key]) for key in _MEAN_KEYS})
        for key in ("iou", "precision", "recall"):
            entry[key] = {name: _percent(v) for name, v in zip(self.class_names, scores[key])}
        return entry

    def format_table(self, chosen: Optional[float] = None) -> str:
        """The sweep as a text table (percent), marking the best and chosen rows.

        Args:
            chosen: the threshold of the written masks, marked ``chosen``.

        Returns:
            The table, then the per-class scores at the best threshold.
        """
        best = self.best_threshold()
        lines = [f"pseudo-mask scores over {self.num_images} images (%)"]
        lines.append(f"{'bg_thr':>8} {'mIoU':>7} {'mPrec':>7} {'mRec':>7} {'ignored':>8}")
        for threshold in self.thresholds:
            scores = self.scores(threshold)
            flags = []
            if chosen is not None and threshold == round(float(chosen), 6):
                flags.append("chosen")
            if threshold == best:
                flags.append("best")
            marks = ("  <- " + ", ".join(flags)) if flags else ""
            lines.append(
                f"{threshold:>8.3f} {_pct(scores['miou']):>7} {_pct(scores['mprecision']):>7} "
                f"{_pct(scores['mrecall']):>7} {_pct(scores['ignored_ratio']):>8}{marks}"
            )
        if best is not None:
            scores = self.scores(best)
            width = max(len(name) for name in self.class_names)
            lines.append(f"per class at the best bg_thr {best:.3f}:")
            lines.append(f"{'class':<{width}} {'IoU':>7} {'Prec':>7} {'Rec':>7}")
            for index, name in enumerate(self.class_names):
                lines.append(
                    f"{name:<{width}} {_pct(scores['iou'][index]):>7} "
                    f"{_pct(scores['precision'][index]):>7} {_pct(scores['recall'][index]):>7}"
                )
        return "\n".join(lines)


_MEAN_KEYS = ("miou", "mprecision", "mrecall", "accuracy", "ignored_ratio")


def _percent(value: float) -> float:
    """A fraction as a percentage (NaN stays NaN)."""
    return 100.0 * float(value)


def _pct(value: float) -> str:
    """A score as a percentage with two decimals, ``-`` for NaN."""
    return "-" if math.isnan(value) else f"{100.0 * value:.2f}"

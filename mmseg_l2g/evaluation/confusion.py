"""Confusion matrices of pseudo masks and the scores read from them.

A confusion matrix here has K = C+1 rows (ground-truth class, background 0)
and K+1 columns: the K predicted classes and, last, "predicted ignore" (255,
the saliency-fused mode's unsure pixels). Ground-truth pixels marked 255 are
left out. Counting an ignored prediction as a miss matches mmseg's
``IoUMetric``: it lowers recall and IoU, not precision.
"""

from __future__ import annotations

from typing import Dict, Union

import numpy as np
import torch

from ..io import IGNORE_INDEX

ArrayLike = Union[np.ndarray, torch.Tensor]


def confusion_matrix(
    pred: ArrayLike, gt: ArrayLike, num_classes: int, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """Counts (ground truth, prediction) pixel pairs.

    Args:
        pred: (H, W) predicted mask, or (T, H, W) several predictions of the
            same image (one matrix each); values 0..K-1 or ``ignore_index``.
        gt: (H, W) ground-truth mask; ``ignore_index`` pixels are skipped.
        num_classes: K, the number of classes including background.
        ignore_index: the ignore value of both masks.

    Returns:
        int64 (K, K+1), or (T, K, K+1) for a stacked ``pred``.

    Raises:
        ValueError: shapes differ or a value is out of range.
    """
    pred_t = torch.as_tensor(pred)
    gt_t = torch.as_tensor(gt, device=pred_t.device)
    single = pred_t.ndim == gt_t.ndim
    preds = pred_t[None] if single else pred_t
    if gt_t.ndim != 2 or preds.ndim != 3 or preds.shape[1:] != gt_t.shape:
        raise ValueError(
            f"prediction {tuple(pred_t.shape)} and ground truth {tuple(gt_t.shape)} must be "
            "(H, W) and (H, W) or (T, H, W)"
        )
    k = num_classes
    valid = gt_t != ignore_index
    gt_valid = gt_t[valid].long()
    pred_valid = preds[:, valid].long()
    if gt_valid.numel() and (gt_valid.min() < 0 or gt_valid.max() >= k):
        raise ValueError(
            f"ground-truth values must be in 0..{k - 1} or {ignore_index}, found "
            f"{sorted(set(torch.unique(gt_valid).tolist()) - set(range(k)))}"
        )
    pred_ignored = pred_valid == ignore_index
    bad = ~pred_ignored & ((pred_valid < 0) | (pred_valid >= k))
    if bad.any():
        raise ValueError(
            f"predicted values must be in 0..{k - 1} or {ignore_index}, found "
            f"{sorted(torch.unique(pred_valid[bad]).tolist())}"
        )
    column = torch.where(pred_ignored, torch.full_like(pred_valid, k), pred_valid)
    num_preds = preds.shape[0]
    offset = torch.arange(num_preds, device=column.device)[:, None] * k
    index = (offset + gt_valid[None]) * (k + 1) + column
    counts = torch.bincount(index.reshape(-1), minlength=num_preds * k * (k + 1))
    matrix = counts.reshape(num_preds, k, k + 1).cpu().numpy().astype(np.int64)
    return matrix[0] if single else matrix


def scores_from_confusion(confusion: np.ndarray) -> Dict[str, object]:
    """IoU, precision and recall per class, and their means.

    A class with no ground-truth and no predicted pixel has IoU NaN (left
    out of the mean, as mmseg does); precision is NaN without predicted
    pixels, recall NaN without ground-truth pixels.

    Args:
        confusion: int (K, K+1) matrix from :func:`confusion_matrix`.

    Returns:
        Dict with float64 (K,) arrays ``iou``, ``precision``, ``recall`` and
        floats ``miou``, ``mprecision``, ``mrecall``, ``accuracy`` (share of
        scored pixels predicted right), ``ignored_ratio`` (share predicted 255).
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    k = confusion.shape[0]
    if confusion.shape != (k, k + 1):
        raise ValueError(f"a confusion matrix must be (K, K+1), got {confusion.shape}")
    true_pos = np.diag(confusion[:, :k])
    gt_count = confusion.sum(axis=1)
    pred_count = confusion[:, :k].sum(axis=0)
    union = gt_count + pred_count - true_pos
    total = confusion.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, true_pos / union, np.nan)
        precision = np.where(pred_count > 0, true_pos / pred_count, np.nan)
        recall = np.where(gt_count > 0, true_pos / gt_count, np.nan)
    return dict(
        iou=iou,
        precision=precision,
        recall=recall,
        miou=_nanmean(iou),
        mprecision=_nanmean(precision),
        mrecall=_nanmean(recall),
        accuracy=float(true_pos.sum() / total) if total > 0 else float("nan"),
        ignored_ratio=float(confusion[:, k].sum() / total) if total > 0 else float("nan"),
    )


def _nanmean(values: np.ndarray) -> float:
    """Mean of the non-NaN values; NaN when there are none."""
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")

"""Post-processing of CAMs and segmentation scores: pseudo-mask rules and the dense CRF."""

from .dense_crf import (
    crf_image,
    crf_refine_labels,
    crf_settings,
    dense_crf,
    label_unary_probs,
)
from .pseudo_mask import cam_peaks, make_mask, saliency_fused_mask, sweep_masks, threshold_mask

__all__ = [
    "cam_peaks",
    "crf_image",
    "crf_refine_labels",
    "crf_settings",
    "dense_crf",
    "label_unary_probs",
    "make_mask",
    "saliency_fused_mask",
    "sweep_masks",
    "threshold_mask",
]

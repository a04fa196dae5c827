"""Post-processing of segmentation scores and pseudo masks: the dense CRF."""

from .dense_crf import crf_refine_labels, crf_settings, dense_crf, label_unary_probs

__all__ = ["crf_refine_labels", "crf_settings", "dense_crf", "label_unary_probs"]

"""Stage 2: CAMs of a trained L2G classifier -> pseudo masks, CAM files, overlays, scores.

One job per file: ``settings`` (what to make), ``planning`` (one plan per
image, output folder, resume check), ``loading`` (what each plan needs),
``processing`` (per batch, one ``image_result`` per image),
``outputs`` (files and reports; ``async_writer``, ``prefetch``) and ``runner``
(across ranks). The model and the dataset come from :mod:`mmseg_l2g.apis.builders`
and :mod:`mmseg_l2g.datasets.builders`; the overlays from :mod:`mmseg_l2g.visualization`.
"""

from .planning import ImagePlan, dataset_identity, prepare_out_dir
from .runner import GenerationResult, check_out_dir, generate_pseudo_masks
from .settings import DEFAULT_SWEEP, SALIENCY_FROM_DATASET, PseudoMaskSettings

__all__ = [
    "DEFAULT_SWEEP",
    "SALIENCY_FROM_DATASET",
    "GenerationResult",
    "ImagePlan",
    "PseudoMaskSettings",
    "check_out_dir",
    "dataset_identity",
    "generate_pseudo_masks",
    "prepare_out_dir",
]

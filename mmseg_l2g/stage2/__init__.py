"""Stage 2: CAMs of a trained L2G classifier -> pseudo masks, CAM files, overlays, scores.

One job per file: ``settings`` (what to make), ``planning`` (one record per
image, output folder, resume check), ``loading``, ``processing`` (per batch),
``outputs`` (files and reports; ``async_writer``, ``prefetch``, ``overlay``),
``runner`` (across ranks) and ``builders`` (model and dataset from a config).
"""

from .builders import (
    build_cam_model,
    build_stage2_dataset,
    cams_source_identity,
    checkpoint_identity,
    dataset_config,
    load_config,
    readout_settings,
    spread_indices_with_masks,
)
from .planning import ImageRecord, dataset_identity, prepare_out_dir
from .runner import GenerationResult, check_out_dir, generate_pseudo_masks
from .settings import DEFAULT_SWEEP, SALIENCY_FROM_DATASET, PseudoMaskSettings

__all__ = [
    "DEFAULT_SWEEP",
    "SALIENCY_FROM_DATASET",
    "GenerationResult",
    "ImageRecord",
    "PseudoMaskSettings",
    "build_cam_model",
    "build_stage2_dataset",
    "cams_source_identity",
    "check_out_dir",
    "checkpoint_identity",
    "dataset_config",
    "dataset_identity",
    "generate_pseudo_masks",
    "load_config",
    "prepare_out_dir",
    "readout_settings",
    "spread_indices_with_masks",
]

"""Stage 2, shared by ``tools/gen_pseudo.py`` and the CAM-generation hook.

CAM inference of the global network, pseudo masks (threshold or
saliency-fused), atomic mask / CAM files and the resumable, shard-parallel
generation over a dataset.
"""

from .builders import (
    build_cam_model,
    build_stage2_dataset,
    dataset_config,
    load_config,
    load_state_dict,
    load_weights_strict,
    spread_indices_with_masks,
)
from .cam_inference import (
    DEFAULT_SCALES,
    CAMInferenceConfig,
    infer_cams,
    infer_cams_batch,
    present_classes,
    scaled_size,
)
from .cam_overlay import colorize_mask, render_cam_panel, save_cam_panel
from .generation import (
    DEFAULT_SWEEP,
    GenerationResult,
    PseudoMaskSettings,
    generate_pseudo_masks,
    prepare_out_dir,
)
from .mask_io import (
    atomic_write_bytes,
    atomic_write_json,
    encode_palette_png,
    load_cams_npz,
    save_cams_npz,
    save_palette_png,
)
from .pseudo_mask import (
    IGNORE_INDEX,
    cam_peaks,
    make_pseudo_mask,
    saliency_fused_mask,
    sweep_masks,
    threshold_mask,
)

__all__ = [
    "CAMInferenceConfig",
    "DEFAULT_SCALES",
    "DEFAULT_SWEEP",
    "GenerationResult",
    "IGNORE_INDEX",
    "PseudoMaskSettings",
    "atomic_write_bytes",
    "atomic_write_json",
    "build_cam_model",
    "build_stage2_dataset",
    "cam_peaks",
    "colorize_mask",
    "dataset_config",
    "encode_palette_png",
    "generate_pseudo_masks",
    "infer_cams",
    "infer_cams_batch",
    "load_cams_npz",
    "load_config",
    "load_state_dict",
    "load_weights_strict",
    "make_pseudo_mask",
    "prepare_out_dir",
    "present_classes",
    "render_cam_panel",
    "saliency_fused_mask",
    "save_cam_panel",
    "save_cams_npz",
    "save_palette_png",
    "scaled_size",
    "spread_indices_with_masks",
    "sweep_masks",
    "threshold_mask",
]

"""The user-facing facade, as mmseg's ``apis``: a model from a config, the CAMs of one image.

Stage 2 over a dataset is :mod:`mmseg_l2g.stage2`; the I/O layer :mod:`mmseg_l2g.io`.
"""

from .builders import (
    build_cam_model,
    cams_source_identity,
    checkpoint_identity,
    load_config,
    merge_readout,
)
from .inference import inference_l2g, init_l2g_model

__all__ = [
    "build_cam_model",
    "cams_source_identity",
    "checkpoint_identity",
    "inference_l2g",
    "init_l2g_model",
    "load_config",
    "merge_readout",
]

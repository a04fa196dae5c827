"""The user-facing facade, as mmseg's ``apis``: a model from a config, the CAMs of one image."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config

from ..datasets.transforms.loading import read_bgr_image
from .builders import build_cam_model, load_config


def init_l2g_model(
    config: Union[str, Config], checkpoint: Optional[str] = None, device: str = "cpu"
) -> torch.nn.Module:
    """An ``L2GClassifier`` from a config file (or a loaded config), weights loaded strictly.

    Args:
        config: the L2G config (path or ``Config``).
        checkpoint: trained weights; ``None`` keeps the initialisation.
        device: where the model runs.

    Returns:
        The model in eval mode; its ``test_cfg`` is the CAM readout.
    """
    cfg = load_config(config) if isinstance(config, str) else config
    return build_cam_model(cfg, checkpoint, device)


def inference_l2g(
    model: torch.nn.Module,
    img: Union[str, np.ndarray],
    classes: Optional[Sequence[int]] = None,
    tta: bool = False,
) -> Any:
    """The CAMs and pseudo mask of one image, through the model's own ``predict``.

    Args:
        model: an ``L2GClassifier``.
        img: an image path, or a uint8 BGR (H, W, 3) array.
        classes: 0-based foreground classes of the image; ``None``: those the
            network predicts.
        tta: read the scales and flips of ``test_cfg`` (stage 2's readout);
            default one pass at the image's size, as mmseg's ``inference_model``.

    Returns:
        A ``SegDataSample`` with ``pred_cam`` (C, H, W) and ``pred_sem_seg``
        (1, H, W; 0 = background, c = class c).
    """
    from mmseg.structures import SegDataSample

    image = read_bgr_image(img) if isinstance(img, str) else np.asarray(img)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"img must be a uint8 BGR (H, W, 3) array, got {image.dtype} {image.shape}"
        )
    sample = SegDataSample(metainfo=dict(ori_shape=image.shape[:2], img_shape=image.shape[:2]))
    if classes is not None:
        label = torch.zeros(model.num_classes)
        label[list(classes)] = 1
        sample.gt_label = label
    batch = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    inputs = model.data_preprocessor(dict(inputs=batch), False)["inputs"]
    model.eval()
    with torch.no_grad():
        return model.predict(inputs, [sample], tta=tta)[0]

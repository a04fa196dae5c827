"""One image's processed result: what its files and its score are made of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch

from .planning import ImagePlan


@dataclass
class ImageResult:
    """An image's CAMs, peaks and mask, on the device until copied for the files.

    Attributes:
        plan: the image's plan (the files to write, whether it is scored).
        classes: int64 (n,) classes of the CAMs, on the host.
        cams16: float16 (n, H, W) CAMs on the device (the reference: masks from
            a CAM file equal fresh ones).
        score: float (H, W) highest CAM per pixel (see ``cam_peaks``).
        value: int64 (H, W) its class.
        mask: uint8 (H, W) mask (a host array when a CRF made it), ``None``
            when no mask file or overlay is written.
        sal: float32 (H, W) saliency on the device, in saliency-fused mode.
        img: the uint8 BGR image, when it was read.
        gt: the ground truth, when it is scored or drawn.
    """

    plan: ImagePlan
    classes: torch.Tensor
    cams16: torch.Tensor
    score: torch.Tensor
    value: torch.Tensor
    mask: Union[torch.Tensor, np.ndarray, None] = None
    sal: Optional[torch.Tensor] = None
    img: Optional[np.ndarray] = None
    gt: Optional[np.ndarray] = None

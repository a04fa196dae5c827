"""Helpers of the stage-2 tests: a tiny deterministic CAM model and a generated dataset."""

from __future__ import annotations

import os.path as osp
from typing import List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from PIL import Image

from mmseg_l2g.models import L2GDataPreprocessor
from mmseg_l2g.models.classifiers import L2GClassifier
from mmseg_l2g.models.classifiers.cam_readout import CAMReadoutConfig

CLASSES = ("background", "a", "b", "c")
PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [0, 0, 128]]


class TinyCAMModel(L2GClassifier):
    """An L2GClassifier whose global network is a fixed random 3x3 conv, average-pooled.

    Its readout (``inference``, ``predict``) is L2GClassifier's own; inputs are
    normalised as (x - 128) / 64, channels kept in BGR order.

    Args:
        num_classes: C.
        stride: output stride (1 keeps the input size).
        seed: seed of the fixed weights.
    """

    def __init__(self, num_classes: int = 3, stride: int = 2, seed: int = 0) -> None:
        preprocessor = L2GDataPreprocessor(mean=(128.0,) * 3, std=(64.0,) * 3, bgr_to_rgb=False)
        BaseModel.__init__(self, data_preprocessor=preprocessor)
        self.num_classes = num_classes
        self.test_cfg = CAMReadoutConfig()
        self.conv = nn.Conv2d(3, num_classes + 1, 3, padding=1)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=generator))
            self.conv.bias.copy_(torch.randn(self.conv.bias.shape, generator=generator))
        self.stride = stride

    def extract_cam_logits(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.conv(x)
        return F.avg_pool2d(logits, self.stride) if self.stride > 1 else logits


class TinyDataset:
    """A list of generated images with the WSSSDataset item keys (docs/data_flow.md)."""

    def __init__(self, items: List[dict]) -> None:
        self.items = items
        self.metainfo = dict(classes=CLASSES, palette=PALETTE)

    def __len__(self) -> int:
        return len(self.items)

    def get_data_info(self, index: int) -> dict:
        return dict(self.items[index])


def make_tiny_dataset(root: str, sizes=((20, 24), (16, 16)), num_images: int = 5) -> TinyDataset:
    """Writes random images, masks and saliency maps; sizes alternate."""
    rng = np.random.default_rng(0)
    items = []
    for index in range(num_images):
        height, width = sizes[index % len(sizes)]
        img_id = f"img_{index:03d}"
        img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        gt = rng.integers(0, len(CLASSES), (height, width), dtype=np.uint8)
        gt[0, :3] = 255
        label = np.zeros(len(CLASSES) - 1, dtype=np.float32)
        label[[index % 3, (index + 1) % 3]] = 1
        saliency = rng.integers(0, 256, (height, width), dtype=np.uint8)
        paths = {
            "img_path": osp.join(root, img_id + ".jpg"),
            "seg_map_path": osp.join(root, img_id + "_gt.png"),
            "sal_path": osp.join(root, img_id + "_sal.png"),
        }
        Image.fromarray(img).save(paths["img_path"], quality=95)
        Image.fromarray(gt, mode="L").save(paths["seg_map_path"])
        Image.fromarray(saliency, mode="L").save(paths["sal_path"])
        items.append(dict(img_id=img_id, gt_label=label, reduce_zero_label=False, **paths))
    return TinyDataset(items)

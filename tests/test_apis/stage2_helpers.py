"""Helpers of the stage-2 tests: a tiny deterministic CAM model and a generated dataset."""

from __future__ import annotations

import os.path as osp
from typing import List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

CLASSES = ("background", "a", "b", "c")
PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [0, 0, 128]]


class TinyPreprocessor(nn.Module):
    """``normalize``: BGR uint8 -> (x - 128) / 64, float."""

    def normalize(self, imgs: torch.Tensor) -> torch.Tensor:
        return (imgs.float() - 128.0) / 64.0


class TinyCAMModel(nn.Module):
    """A fixed random 3x3 conv to C+1 maps, average-pooled by ``stride``.

    Args:
        num_classes: C.
        stride: output stride (1 keeps the input size).
        seed: seed of the fixed weights.
    """

    def __init__(self, num_classes: int = 3, stride: int = 2, seed: int = 0) -> None:
        super().__init__()
        self.data_preprocessor = TinyPreprocessor()
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

"""Builders shared by the model tests: a tiny L2G config and fabricated batches."""

from typing import List, Optional

import numpy as np

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.transforms import LocalCropTransform, PackL2GInputs

TINY_BACKBONE = dict(
    type="ResNetV1c",
    depth=18,
    stem_channels=8,
    base_channels=8,
    num_stages=3,
    strides=(1, 2, 1),
    dilations=(1, 1, 2),
    out_indices=(2,),
    contract_dilation=True,
)


def tiny_l2g_cfg(num_classes: int = 3, **overrides) -> dict:
    """A small L2GClassifier config (stride 8, 32 feature channels)."""
    cfg = dict(
        type="L2GClassifier",
        backbone=TINY_BACKBONE,
        head=dict(type="CAMHead", in_channels=32, num_classes=num_classes),
        loss_transfer=dict(type="AttentionTransferLoss", loss_weight=10.0),
        loss_shape=dict(type="ShapeTransferLoss", loss_weight=10.0),
    )
    cfg.update(overrides)
    return cfg


def fabricated_batch(
    batch_size: int = 2,
    size: int = 64,
    crop: int = 32,
    num_views: int = 3,
    num_classes: int = 3,
    saliency: Optional[List[bool]] = None,
    seed: int = 0,
) -> dict:
    """A packed, collated batch like the dataloader gives (random images)."""
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    saliency = saliency if saliency is not None else [False] * batch_size
    inputs, samples = [], []
    for i in range(batch_size):
        label = np.zeros(num_classes, np.float32)
        label[rng.choice(num_classes, size=1 + i % 2, replace=False)] = 1
        results = dict(
            img=rng.integers(0, 255, (size, size, 3), dtype=np.uint8),
            gt_label=label,
            img_id=f"img{i}",
            ori_shape=(size, size),
            img_shape=(size, size),
        )
        if saliency[i]:
            results["gt_saliency"] = rng.random((size, size)).astype(np.float32)
        results = LocalCropTransform(num_views=num_views, crop_size=crop)(results)
        packed = PackL2GInputs()(results)
        inputs.append(packed["inputs"])
        samples.append(packed["data_samples"])
    return dict(inputs=inputs, data_samples=samples)

"""Builders shared by the model tests: a tiny L2G config and fabricated batches."""

import mmseg_l2g  # noqa: F401
from mmseg_l2g.testing import random_l2g_batch

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


def fabricated_batch(**kwargs) -> dict:
    """A packed, collated random batch (``mmseg_l2g.testing.random_l2g_batch``)."""
    return random_l2g_batch(**kwargs)

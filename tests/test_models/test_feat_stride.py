"""The global network's output stride: measured at build time, read by the transfer losses."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import mmseg_l2g  # noqa: F401
from mmseg_l2g.models.classifiers.feat_stride import measure_feat_stride

CONFIGS = osp.join(osp.dirname(__file__), "../../configs/l2g")
# PlainCNN variants: 16 channels everywhere, two convs per stage.
PLAIN_8 = dict(type="PlainCNN", channels=(8, 8, 8, 8), strides=(2, 2, 2, 1))
PLAIN_16 = dict(
    type="PlainCNN", channels=(8, 8, 8, 8), strides=(2, 2, 2, 2), dilations=(1, 1, 1, 1)
)


@pytest.fixture(autouse=True)
def _mmseg_scope() -> None:
    DefaultScope.get_instance("test_feat_stride", scope_name="mmseg")


def _model_cfg(backbone: dict, channels: int = 8, **overrides) -> dict:
    cfg = dict(
        type="L2GClassifier",
        backbone=backbone,
        head=dict(type="CAMHead", in_channels=channels, num_classes=2),
        loss_transfer=dict(type="AttentionTransferLoss"),
        loss_shape=dict(type="ShapeTransferLoss"),
    )
    cfg.update(overrides)
    return cfg


@pytest.mark.parametrize(
    "name",
    [
        "l2g_plaincnn_1xb8-600it_synthetic-128.py",
        "l2g-sal_plaincnn_1xb8-600it_synthetic-128.py",
        "cam_plaincnn_1xb8-600it_synthetic-128.py",
    ],
)
def test_synthetic_configs_measure_8(name: str) -> None:
    model = MODELS.build(Config.fromfile(osp.join(CONFIGS, name)).model)
    assert model.feat_stride == 8
    if model.with_local:
        assert model.loss_transfer.feat_stride == model.loss_shape.feat_stride == 8
    # The measured stride is the real one: 128 px -> 16 cells.
    assert model.extract_cam_logits(torch.zeros(1, 3, 128, 128)).shape[-2:] == (16, 16)


def test_stride_16_plaincnn_is_measured_and_reaches_the_losses() -> None:
    model = MODELS.build(_model_cfg(PLAIN_16))
    assert model.feat_stride == 16
    assert model.loss_transfer.feat_stride == model.loss_shape.feat_stride == 16
    assert model.extract_cam_logits(torch.zeros(1, 3, 448, 448)).shape[-2:] == (28, 28)


def test_stride_16_mmpretrain_resnet_is_measured() -> None:
    backbone = dict(
        type="mmpretrain.ResNet",
        depth=18,
        base_channels=8,
        stem_channels=8,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(3,),
    )
    model = MODELS.build(_model_cfg(backbone, channels=64))
    assert model.feat_stride == 16
    assert model.loss_transfer.feat_stride == 16


def test_roi_boxes_map_at_stride_16_hand_computed() -> None:
    # A 64x64 image at stride 16: a 4x4 map of global logits; cell (r, c) holds
    # the foreground logit v = r * 4 + c (background 0), so G = sigmoid(v).
    model = MODELS.build(_model_cfg(PLAIN_16))
    loss = model.loss_transfer
    foreground = torch.arange(16, dtype=torch.float64).reshape(4, 4) / 4
    global_logits = torch.stack([foreground, torch.zeros(4, 4, dtype=torch.float64)])[None]
    # Box x1, y1, x2, y2 = (8, 24, 40, 56) image pixels -> (0.5, 1.5, 2.5, 3.5) cells;
    # 2x2 output, bin size 1, one sample per bin at the bin centre (aligned=False):
    # x at 1, 2 and y at 2, 3, exactly cells rows 2..3, columns 1..2.
    boxes = torch.tensor([[8.0, 24.0, 40.0, 56.0]], dtype=torch.float64)
    cells = foreground[2:4, 1:3]
    target = torch.stack([torch.sigmoid(cells), 1 - torch.sigmoid(cells)])[None]
    assert loss.feat_stride == 16
    assert loss.weighted_mse(global_logits, boxes, 1, (2, 2), target).item() == pytest.approx(
        0.0, abs=1e-20
    )
    # At stride 8 the same box reads other places of the map: the loss is not 0.
    loss.feat_stride = 8
    assert loss.weighted_mse(global_logits, boxes, 1, (2, 2), target).item() > 1e-3


def test_stride_16_one_training_step_is_finite() -> None:
    from model_test_utils import fabricated_batch

    model = MODELS.build(_model_cfg(PLAIN_16))
    data = model.data_preprocessor(fabricated_batch(num_classes=2, size=64, crop=32), True)
    losses = model(**data, mode="loss")
    assert losses["loss_at"].item() > 0 and torch.isfinite(sum(losses.values()))


def test_configured_stride_must_match_the_measured_one() -> None:
    assert MODELS.build(_model_cfg(PLAIN_8, feat_stride=8)).feat_stride == 8
    with pytest.raises(ValueError, match=r"feat_stride=16 .* stride is 8"):
        MODELS.build(_model_cfg(PLAIN_8, feat_stride=16))


def test_loss_config_stride_must_match() -> None:
    cfg = _model_cfg(PLAIN_16, loss_transfer=dict(type="AttentionTransferLoss", feat_stride=8))
    with pytest.raises(ValueError, match=r"loss_transfer.feat_stride=8 .* stride is 16"):
        MODELS.build(cfg)
    cfg = _model_cfg(PLAIN_16, loss_shape=dict(type="ShapeTransferLoss", feat_stride=16))
    assert MODELS.build(cfg).loss_shape.feat_stride == 16


def test_stride_that_is_not_whole_is_refused() -> None:
    # First stage stride 3: 64 px -> 22 cells (64 / 22 = 2.9...), then / 2 / 2.
    backbone = dict(PLAIN_8, strides=(3, 2, 2, 1))
    with pytest.raises(ValueError, match="not a whole number: a 64x64 input gave a 6x6 map"):
        MODELS.build(_model_cfg(backbone))


def test_measurement_restores_modes_and_leaves_batchnorm_statistics() -> None:
    model = MODELS.build(_model_cfg(PLAIN_8))
    assert model.training and model.global_backbone.training
    norms = [m for m in model.global_backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.training for m in norms)
    assert all(int(m.num_batches_tracked) == 0 for m in norms)
    # A module left in eval mode on purpose stays so.
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3, stride=4, padding=1), torch.nn.Dropout())
    net[1].eval()
    assert measure_feat_stride(net, net) == 4
    assert net.training and net[0].training and not net[1].training

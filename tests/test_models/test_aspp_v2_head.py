"""DeepLabV2Head: shape, the summed dilated branches, loss, and no unused parameters."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_l2g  # noqa: F401
from mmseg_l2g.models.decode_heads import DeepLabV2Head


def _head(**overrides) -> DeepLabV2Head:
    cfg = dict(type="DeepLabV2Head", in_channels=6, num_classes=5)
    cfg.update(overrides)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def _samples(batch: int, size: int, num_classes: int) -> list:
    samples = []
    for _ in range(batch):
        label = torch.randint(0, num_classes, (1, size, size))
        label[:, :2] = 255  # an ignored band
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return samples


def test_output_shape_and_default_dilations():
    head = _head()
    feats = torch.randn(2, 6, 13, 11)
    out = head([torch.randn(2, 3, 13, 11), feats])  # in_index=-1: the last feature
    assert out.shape == (2, 5, 13, 11)
    assert head.dilations == (6, 12, 18, 24)
    assert len(head.aspp) == 4


def test_output_is_sum_of_dilated_branches():
    head = _head(dilations=(1, 2, 3, 5))
    for conv in head.aspp:  # non-zero biases so that they are checked too
        torch.nn.init.normal_(conv.bias)
    feats = torch.randn(2, 6, 9, 10)
    expected = sum(
        F.conv2d(feats, conv.weight, conv.bias, padding=d, dilation=d)
        for conv, d in zip(head.aspp, (1, 2, 3, 5))
    )
    for conv, d in zip(head.aspp, (1, 2, 3, 5)):
        assert conv.weight.shape == (5, 6, 3, 3)
        assert conv.dilation == (d, d) and conv.padding == (d, d)
    torch.testing.assert_close(head([feats]), expected)


def test_init_is_normal_std_001_and_zero_bias():
    head = _head(in_channels=64, num_classes=21)
    weights = torch.cat([conv.weight.flatten() for conv in head.aspp])
    assert abs(weights.std().item() - 0.01) < 1e-3
    assert all(torch.count_nonzero(conv.bias) == 0 for conv in head.aspp)


def test_no_conv_seg_nor_unused_parameters():
    head = _head(dropout_ratio=0.1)
    assert head.conv_seg is None
    assert not any("conv_seg" in name for name, _ in head.named_parameters())
    assert len(list(head.parameters())) == 8  # 4 branches x (weight, bias)
    head.train()
    losses = head.loss([torch.randn(2, 6, 8, 8)], _samples(2, 32, 5), train_cfg=dict())
    assert torch.isfinite(losses["loss_ce"]) and losses["loss_ce"] > 0
    losses["loss_ce"].backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and torch.count_nonzero(param.grad) > 0, name


def test_loss_matches_cross_entropy_of_upsampled_logits():
    head = _head()
    head.eval()
    feats = torch.randn(2, 6, 8, 8)
    samples = _samples(2, 32, 5)
    losses = head.loss([feats], samples, train_cfg=dict())
    logits = F.interpolate(head([feats]), size=(32, 32), mode="bilinear", align_corners=False)
    labels = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    # mmseg's CrossEntropyLoss (avg_non_ignore=False) averages over all pixels, ignored included.
    expected = F.cross_entropy(logits, labels, ignore_index=255, reduction="sum") / labels.numel()
    torch.testing.assert_close(losses["loss_ce"], expected)


def test_predict_upsamples_to_image_shape():
    head = _head()
    out = head.predict([torch.randn(1, 6, 8, 8)], [dict(img_shape=(64, 60))], test_cfg=dict())
    assert out.shape == (1, 5, 64, 60)


def test_bad_dilations_rejected():
    with pytest.raises(ValueError, match="dilations"):
        _head(dilations=(6, 0))
    with pytest.raises(NotImplementedError):
        _head().cls_seg(torch.zeros(1, 6, 2, 2))

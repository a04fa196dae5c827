"""Tests of the ResNet-38 backbone: architecture size, shapes, freezing."""

import pytest
import torch
import torch.nn.functional as F

from mmseg_l2g.models.backbones import ResNet38
from mmseg_l2g.models.backbones.resnet38 import PreActBlock, PreActBottleneck


def _expected_num_params(w: int) -> int:
    """Learnable parameters of resnet38d from its layer list, by hand.

    Layer list of jiwoon-ahn/psa ``network/resnet38d.py`` (the port used by
    PSA, SEAM and L2G), with w = 64: conv1a 3x3 3->w; b2 (3 units, 2w),
    b3 (3 units, 4w), b4 (6 units, 8w), b5 (3 units, mid 8w, out 16w),
    b6 bottleneck 16w->32w, b7 bottleneck 32w->64w, bn7. A basic unit is
    BN(in) + 3x3 in->mid + BN(mid) + 3x3 mid->out (+ 1x1 in->out when the
    shape changes); a bottleneck is BN(in) + 1x1 in->out/4 + BN(out/4) +
    3x3 out/4->out/2 + BN(out/2) + 1x1 out/2->out + 1x1 shortcut in->out.
    BN counts its weight and bias (running statistics are buffers).
    """

    def unit(c_in: int, mid: int, c_out: int, projection: bool) -> int:
        total = 2 * c_in + 9 * c_in * mid + 2 * mid + 9 * mid * c_out
        return total + (c_in * c_out if projection else 0)

    def bottleneck(c_in: int, c_out: int) -> int:
        q, h = c_out // 4, c_out // 2
        return 2 * c_in + c_in * q + 2 * q + 9 * q * h + 2 * h + h * c_out + c_in * c_out

    total = 9 * 3 * w
    total += unit(w, 2 * w, 2 * w, True) + 2 * unit(2 * w, 2 * w, 2 * w, False)
    total += unit(2 * w, 4 * w, 4 * w, True) + 2 * unit(4 * w, 4 * w, 4 * w, False)
    total += unit(4 * w, 8 * w, 8 * w, True) + 5 * unit(8 * w, 8 * w, 8 * w, False)
    total += unit(8 * w, 8 * w, 16 * w, True) + 2 * unit(16 * w, 8 * w, 16 * w, False)
    total += bottleneck(16 * w, 32 * w) + bottleneck(32 * w, 64 * w)
    return total + 2 * 64 * w


def test_parameter_count_matches_published_architecture():
    with torch.device("meta"):
        model = ResNet38()
    count = sum(p.numel() for p in model.parameters())
    # 105,070,912 learnable values follow from the resnet38d layer list
    # (jiwoon-ahn/psa network/resnet38d.py); with the ImageNet classifier
    # (4096 x 1000 + 1000) the MXNet model A1 holds 109,167,912.
    assert count == _expected_num_params(64) == 105_070_912
    # 15 basic units (2 convs, 2 BN; 4 with a projection), 2 bottlenecks
    # (4 convs, 3 BN), conv1a and bn7.
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == 1 + 15 * 2 + 4 + 2 * 4 == 43
    assert len(bns) == 15 * 2 + 2 * 3 + 1 == 37


def test_small_width_scales_every_layer():
    model = ResNet38(base_channels=4)
    assert sum(p.numel() for p in model.parameters()) == _expected_num_params(4)
    assert model.b7.conv_branch2b2.weight.shape == (256, 128, 1, 1)
    assert model.b5.conv_branch2b1.dilation == (2, 2)
    assert model.b5.conv_branch2a.dilation == (1, 1)
    assert model.b5_1.conv_branch2a.dilation == (2, 2)
    assert model.b6.conv_branch2b1.dilation == (4, 4) and model.b7.conv_branch2b1.padding == (4, 4)


def test_state_dict_names_follow_the_pytorch_port():
    keys = set(ResNet38(base_channels=4).state_dict())
    for key in (
        "conv1a.weight",
        "b2.conv_branch1.weight",
        "b2_2.bn_branch2b1.running_var",
        "b4_5.conv_branch2b1.weight",
        "b5.conv_branch1.weight",
        "b6.bn_branch2b2.weight",
        "b7.conv_branch2b2.weight",
        "bn7.running_mean",
    ):
        assert key in keys
    assert "b2_1.conv_branch1.weight" not in keys  # identity shortcut
    # 43 conv weights; 37 BN layers x (weight, bias, mean, var, counter).
    assert len(keys) == 43 + 37 * 5


def test_full_width_output_shapes_and_stride_8():
    with torch.device("meta"):
        model = ResNet38(out_indices=(0, 1, 2, 3, 4, "conv4", "conv5"))
        outs = model(torch.empty(2, 3, 64, 64))
    shapes = [tuple(o.shape) for o in outs]
    assert shapes == [
        (2, 128, 32, 32),
        (2, 256, 16, 16),
        (2, 512, 8, 8),
        (2, 1024, 8, 8),
        (2, 4096, 8, 8),
        (2, 512, 8, 8),
        (2, 1024, 8, 8),
    ]
    assert model.out_channels == (128, 256, 512, 1024, 4096, 512, 1024)


def test_forward_small_model_real_values():
    torch.manual_seed(0)
    model = ResNet38(base_channels=4).eval()
    x = torch.randn(1, 3, 64, 64)
    (out,) = model(x)
    assert out.shape == (1, 256, 8, 8)
    assert (out >= 0).all()  # after bn7 + ReLU
    feats = model.forward_features(x)
    assert set(feats) == {"b2", "b3", "b4", "b5", "conv4", "conv5", "conv6"}
    torch.testing.assert_close(feats["conv6"], out)
    torch.testing.assert_close(feats["conv4"], F.relu(model.b5.bn_branch2a(feats["b4"])))
    torch.testing.assert_close(feats["conv5"], F.relu(model.b6.bn_branch2a(feats["b5"])))
    # Odd sizes: stride 8 rounds up like the convolutions do.
    assert model(torch.randn(1, 3, 50, 37))[0].shape[-2:] == (7, 5)


def test_basic_unit_shortcuts():
    torch.manual_seed(0)
    identity = PreActBlock(8, 8, 8).eval()
    for conv in (identity.conv_branch2a, identity.conv_branch2b1):
        torch.nn.init.zeros_(conv.weight)
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(identity(x), x)  # residual branch zero -> identity

    projected = PreActBlock(4, 8, 8, stride=2).eval()
    torch.nn.init.zeros_(projected.conv_branch2b1.weight)
    x = torch.randn(2, 4, 6, 6)
    expected = projected.conv_branch1(F.relu(projected.bn_branch2a(x)))
    assert expected.shape == (2, 8, 3, 3)
    torch.testing.assert_close(projected(x), expected)


def test_bottleneck_widths_and_dropout_only_in_training():
    block = PreActBottleneck(8, 16, dilation=4, dropout=0.5)
    assert block.conv_branch2a.out_channels == 4 and block.conv_branch2b1.out_channels == 8
    x = torch.randn(1, 8, 9, 9)
    block.eval()
    torch.testing.assert_close(block(x), block(x))
    block.train()
    torch.manual_seed(1)
    first = block(x)
    torch.manual_seed(2)
    assert not torch.allclose(first, block(x))


def test_out_indices_validation():
    assert ResNet38(base_channels=4, out_indices=(-1, "b3")).out_names == ("conv6", "b3")
    with pytest.raises(ValueError, match="unknown output name"):
        ResNet38(base_channels=4, out_indices=("b8",))
    with pytest.raises(ValueError, match="out of range"):
        ResNet38(base_channels=4, out_indices=(5,))
    with pytest.raises(ValueError, match="multiple of 4"):
        ResNet38(base_channels=6)


def test_frozen_stages_and_norm_eval():
    model = ResNet38(base_channels=4, frozen_stages=1, norm_eval=True)
    model.train()
    frozen = ["conv1a", "b2", "b2_1", "b2_2"]
    for name, param in model.named_parameters():
        assert param.requires_grad == (name.split(".")[0] not in frozen), name
    assert not model.b2.training and not model.b2.bn_branch2a.training
    assert not model.b3.bn_branch2a.training  # norm_eval: every BN in eval
    assert model.b3.training and model.b6.dropout_2b1.training  # dropout still trains

    x = torch.randn(2, 3, 32, 32)
    model(x)[0].sum().backward()
    assert model.conv1a.weight.grad is None and model.b2_2.conv_branch2b1.weight.grad is None
    assert model.b3.conv_branch2a.weight.grad.abs().sum() > 0

    plain = ResNet38(base_channels=4)
    plain.train()
    assert plain.b3.bn_branch2a.training and plain.conv1a.weight.requires_grad


def test_frozen_bn_statistics_do_not_move():
    model = ResNet38(base_channels=4, frozen_stages=1)
    model.train()
    before = model.b2.bn_branch2a.running_mean.clone()
    model(torch.randn(2, 3, 32, 32) + 3.0)
    torch.testing.assert_close(model.b2.bn_branch2a.running_mean, before)
    assert not torch.allclose(model.b3.bn_branch2a.running_mean, torch.zeros(8))


def test_gradient_checkpointing_gives_same_gradients():
    torch.manual_seed(0)
    plain = ResNet38(base_channels=4, dropouts=(0.0, 0.0))
    checkpointed = ResNet38(base_channels=4, dropouts=(0.0, 0.0), with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    for model in (plain, checkpointed):
        model.train()
        model(x.clone().requires_grad_(True))[0].square().mean().backward()
    torch.testing.assert_close(
        plain.b4_3.conv_branch2a.weight.grad, checkpointed.b4_3.conv_branch2a.weight.grad
    )


def test_built_from_registry():
    from mmseg.registry import MODELS

    model = MODELS.build(dict(type="ResNet38", base_channels=4, out_indices=("conv4", "conv6")))
    assert isinstance(model, ResNet38) and model.out_channels == (32, 256)

"""Tests of the pixel correlation module (PCM)."""

import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_l2g.models.heads.pcm import PixelCorrelationModule


def _small_pcm(**kwargs) -> PixelCorrelationModule:
    defaults = dict(in_channels=(8, 16), proj_channels=(4, 6), embed_channels=5)
    defaults.update(kwargs)
    return PixelCorrelationModule(**defaults)


def _inputs(batch=2, classes=3, size=(6, 5)):
    torch.manual_seed(0)
    cam = torch.randn(batch, classes, *size)
    feats = [torch.randn(batch, 8, *size), torch.randn(batch, 16, 3, 3)]  # second is resized
    image = torch.randn(batch, 3, size[0] * 8, size[1] * 8)
    return cam, feats, image


def test_release_layout_and_shapes():
    pcm = PixelCorrelationModule()
    assert [tuple(p.weight.shape) for p in pcm.projs] == [(64, 512, 1, 1), (128, 1024, 1, 1)]
    assert tuple(pcm.embed.weight.shape) == (192, 195, 1, 1)  # 3 image + 64 + 128 channels
    small = _small_pcm()
    cam, feats, image = _inputs()
    assert small(cam, feats, image).shape == cam.shape
    assert small.affinity(feats, image, (6, 5)).shape == (2, 30, 30)


def test_affinity_rows_are_non_negative_and_sum_to_one():
    pcm = _small_pcm()
    _, feats, image = _inputs()
    aff = pcm.affinity(feats, image, (6, 5))
    assert (aff >= 0).all()
    torch.testing.assert_close(aff.sum(dim=2), torch.ones(2, 30), atol=1e-4, rtol=0)
    # A pixel's cosine similarity with itself (1) is the largest in its row.
    diagonal = torch.diagonal(aff, dim1=1, dim2=2)
    torch.testing.assert_close(diagonal, aff.max(dim=2).values)
    assert (diagonal > 0).all()


def test_constant_cam_stays_constant():
    pcm = _small_pcm(add_input=False)
    _, feats, image = _inputs()
    cam = torch.full((2, 3, 6, 5), 2.5)
    cam[:, 1] = -1.0
    out = pcm(cam, feats, image)
    torch.testing.assert_close(out, cam, atol=1e-4, rtol=0)


def test_add_input_is_cam_plus_refined():
    pcm = _small_pcm()
    cam, feats, image = _inputs()
    torch.testing.assert_close(pcm(cam, feats, image), cam + pcm.refine(cam, feats, image))


def test_hand_computed_two_pixel_affinity():
    # One 2-channel feature, identity projection and embedding, no image:
    # pixel 0 embeds to (1, 0), pixel 1 to (1, 1), pixel 2 to (-1, 0).
    pcm = PixelCorrelationModule(
        in_channels=(2,),
        proj_channels=(2,),
        embed_channels=2,
        feat_indices=(0,),
        use_image=False,
        add_input=False,
    )
    with torch.no_grad():
        pcm.projs[0].weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        pcm.embed.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
    feat = torch.tensor([[1.0, 1.0, -1.0], [0.0, 1.0, 0.0]]).view(1, 2, 1, 3)
    cam = torch.tensor([3.0, 6.0, 9.0]).view(1, 1, 1, 3)
    c = 1 / math.sqrt(2)  # cos of 45 degrees; pixel 2 is opposite pixel 0 (ReLU -> 0)
    expected = torch.tensor([(3 + c * 6) / (1 + c), (c * 3 + 6) / (c + 1), 9.0]).view(1, 1, 1, 3)
    torch.testing.assert_close(pcm(cam, [feat]), expected, atol=1e-4, rtol=0)
    aff = pcm.affinity([feat], None, (1, 3))[0]
    torch.testing.assert_close(
        aff,
        torch.tensor(
            [[1 / (1 + c), c / (1 + c), 0.0], [c / (1 + c), 1 / (1 + c), 0.0], [0.0, 0.0, 1.0]]
        ),
        atol=1e-4,
        rtol=0,
    )


def test_matches_release_order_pcm_on_features_then_classifier():
    # The release refines the 4096-channel features, then applies its bias-free
    # 1x1 classifier; refining the classifier's output is the same.
    pcm = _small_pcm(add_input=False)
    _, feats, image = _inputs()
    features = torch.randn(2, 7, 6, 5)
    classifier = torch.nn.Conv2d(7, 3, 1, bias=False)
    torch.testing.assert_close(
        classifier(pcm.refine(features, feats, image)),
        pcm.refine(classifier(features), feats, image),
        atol=1e-5,
        rtol=1e-5,
    )


def test_gradients_into_features_only_without_detach():
    cam, feats, image = _inputs()
    for detach in (True, False):
        leaf = [f.clone().requires_grad_(True) for f in feats]
        cam_leaf = cam.clone().requires_grad_(True)
        pcm = _small_pcm(detach_feats=detach)
        pcm(cam_leaf, leaf, image).square().sum().backward()
        assert cam_leaf.grad.abs().sum() > 0 and pcm.embed.weight.grad.abs().sum() > 0
        assert (leaf[0].grad is None) == detach


def test_image_is_resized_bilinearly_into_the_embedding():
    pcm = _small_pcm(proj_relu=True)
    cam, feats, image = _inputs()
    other = image.clone()
    other[:, :, :8] += 5.0  # changes the image only near the top rows
    assert not torch.allclose(pcm(cam, feats, image), pcm(cam, feats, other))
    no_image = _small_pcm(use_image=False)
    assert no_image.embed.in_channels == 10
    assert no_image(cam, feats).shape == cam.shape


def test_errors_name_the_problem():
    pcm = _small_pcm()
    cam, feats, image = _inputs()
    with pytest.raises(ValueError, match="expected 8"):
        pcm(cam, [feats[1], feats[1]], image)
    with pytest.raises(ValueError, match="needs at least 2"):
        pcm(cam, feats[:1], image)
    with pytest.raises(ValueError, match="needs the input image"):
        pcm(cam, feats, None)
    with pytest.raises(ValueError, match="one entry per feature map"):
        PixelCorrelationModule(in_channels=(8,), proj_channels=(4, 4))


def test_built_from_registry_and_resizes_features():
    from mmseg.registry import MODELS

    pcm = MODELS.build(
        dict(
            type="PixelCorrelationModule",
            in_channels=(8, 16),
            proj_channels=(4, 6),
            embed_channels=5,
        )
    )
    cam, feats, image = _inputs()
    resized = [feats[0], F.interpolate(feats[1], (6, 5), mode="bilinear", align_corners=True)]
    torch.testing.assert_close(pcm(cam, feats, image), pcm(cam, resized, image))

"""Multi-scale, flipped CAM inference against hand and manual computations."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from stage2_helpers import TinyCAMModel

from mmseg_l2g.apis import CAMInferenceConfig, infer_cams, infer_cams_batch, scaled_size


class PointwiseModel(nn.Module):
    """normalize = x / 255; logits = a fixed 1x1 linear map (C = 2, background last)."""

    def __init__(self) -> None:
        super().__init__()
        self.data_preprocessor = self
        self.weight = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0], [0.0, 0.0, 1.0]])

    def normalize(self, imgs):
        return imgs.float() / 255.0

    def extract_cam_logits(self, x):
        return torch.einsum("kc,bchw->bkhw", self.weight, x)


def test_single_scale_cams_by_hand():
    # Pixels (B, G, R): (255,0,0) -> logits (1, 0, 0); (51,102,204) -> (0.2, -0.4, 0.8);
    # (0,255,0) -> (0, 1, 0). Class 0 map = relu(1, 0.2, 0) / 1; class 1 = relu(0, -0.4, 1) / 1.
    img = torch.tensor([[255, 51, 0], [0, 102, 255], [0, 204, 0]], dtype=torch.uint8)[None, :, None]
    cfg = CAMInferenceConfig(scales=(1.0,), flip=False)
    (cams,) = infer_cams_batch(PointwiseModel(), img, [torch.tensor([0, 1])], cfg)
    scale = 1.0 / (1.0 + 1e-5)
    expected = torch.tensor([[[1.0, 0.2, 0.0]], [[0.0, 0.0, 1.0]]]) * scale
    assert cams.shape == (2, 1, 3)
    assert torch.allclose(cams, expected, atol=1e-6)
    # Only the image's classes are kept, in label order.
    (only_second,) = infer_cams_batch(PointwiseModel(), img, [torch.tensor([1])], cfg)
    assert torch.allclose(only_second, expected[1:], atol=1e-6)


def manual_cams(model, img, labels, scales, flip, interp):
    """One image, one map at a time: the definition written out plainly."""
    x = model.data_preprocessor.normalize(img[None])
    height, width = img.shape[1:]
    maps = []
    for scale in scales:
        size = scaled_size(height, width, scale)
        xs = (
            x
            if size == (height, width)
            else F.interpolate(
                x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1
            )
        )
        views = [(xs, False), (xs.flip(-1), True)] if flip else [(xs, False)]
        for view, flipped in views:
            up = F.interpolate(
                model.extract_cam_logits(view), (height, width), mode=interp, align_corners=False
            )[0]
            maps.append(up.flip(-1) if flipped else up)
    mean = torch.relu(torch.stack(maps).sum(0) / len(maps))[labels]
    return mean / (mean.amax(dim=(1, 2), keepdim=True) + 1e-5)


@pytest.mark.parametrize("interp", ["bicubic", "bilinear"])
def test_multiscale_flip_against_manual(interp):
    model = TinyCAMModel(num_classes=3, stride=2).eval()
    img = torch.randint(0, 256, (3, 18, 22), generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 2])
    cfg = CAMInferenceConfig(scales=(0.5, 1.0, 1.5), flip=True, interp=interp)
    (cams,) = infer_cams_batch(model, img[None].to(torch.uint8), [labels], cfg)
    expected = manual_cams(model, img.to(torch.uint8), labels, cfg.scales, True, interp)
    assert cams.shape == (2, 18, 22)
    assert torch.allclose(cams, expected, atol=1e-5)
    assert torch.allclose(cams.amax(dim=(1, 2)), torch.ones(2), atol=1e-4)
    assert cams.min() >= 0


def test_flip_averaging_is_mirror_symmetric():
    model = TinyCAMModel(num_classes=3, stride=1, seed=3).eval()
    img = torch.randint(0, 256, (1, 3, 12, 15), generator=torch.Generator().manual_seed(2))
    img = img.to(torch.uint8)
    labels = [torch.tensor([0, 1, 2])]
    with_flip = CAMInferenceConfig(scales=(1.0,), flip=True)
    (cams,) = infer_cams_batch(model, img, labels, with_flip)
    (mirrored,) = infer_cams_batch(model, img.flip(-1), labels, with_flip)
    assert torch.allclose(cams, mirrored.flip(-1), atol=1e-5)
    (plain,) = infer_cams_batch(model, img, labels, CAMInferenceConfig(scales=(1.0,), flip=False))
    (plain_mirror,) = infer_cams_batch(
        model, img.flip(-1), labels, CAMInferenceConfig(scales=(1.0,), flip=False)
    )
    assert not torch.allclose(plain, plain_mirror.flip(-1), atol=1e-3)


def test_batching_by_size_equals_one_by_one():
    model = TinyCAMModel().eval()
    rng = np.random.default_rng(0)
    imgs = [
        rng.integers(0, 256, shape, dtype=np.uint8)
        for shape in [(16, 20, 3), (12, 12, 3), (16, 20, 3), (16, 20, 3)]
    ]
    labels = [
        torch.tensor([0]),
        torch.tensor([1, 2]),
        torch.tensor([0, 2]),
        torch.tensor([], dtype=torch.long),
    ]
    cfg = CAMInferenceConfig(scales=(0.5, 1.0))
    together = infer_cams(model, imgs, labels, cfg)
    for img, label, cams in zip(imgs, labels, together):
        (alone,) = infer_cams(model, [img], [label], cfg)
        assert cams.shape == (len(label), *img.shape[:2])
        assert torch.allclose(cams, alone, atol=1e-6)


def test_bad_configs_raise():
    with pytest.raises(ValueError, match="positive"):
        CAMInferenceConfig(scales=(1.0, 0.0))
    with pytest.raises(ValueError, match="positive"):
        CAMInferenceConfig(scales=(-0.5,))
    with pytest.raises(ValueError, match="interp"):
        CAMInferenceConfig(interp="nearest")
    img = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match="out of range"):
        infer_cams_batch(
            TinyCAMModel(num_classes=3), img, [torch.tensor([3])], CAMInferenceConfig()
        )
    assert scaled_size(375, 500, 0.5) == (188, 250)
    assert scaled_size(3, 3, 0.1) == (1, 1)

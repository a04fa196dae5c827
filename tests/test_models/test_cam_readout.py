"""The model's CAM readout against hand computations and a hand-written loop."""

import contextlib

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from model_test_utils import tiny_l2g_cfg

from mmseg_l2g.models.classifiers.cam_readout import CAMReadoutConfig, read_cams, scaled_size


class Pointwise(nn.Module):
    """logits = a fixed 1x1 linear map of the input (C = 2, background last)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0], [0.0, 0.0, 1.0]])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("kc,bchw->bkhw", self.weight, x)


def test_single_scale_cams_by_hand():
    # Pixels (1,0,0) -> logits (1, 0, 0); (0.2,0.4,0.8) -> (0.2, -0.4, 0.8); (0,1,0) -> (0, 1, 0).
    # Class 0 map = relu(1, 0.2, 0) / 1; class 1 = relu(0, -0.4, 1) / 1.
    x = torch.tensor([[1.0, 0.2, 0.0], [0.0, 0.4, 1.0], [0.0, 0.8, 0.0]])[None, :, None]
    cfg = CAMReadoutConfig(scales=(1.0,), flip=False)
    (cams,) = read_cams(Pointwise(), x, [torch.tensor([0, 1])], cfg)
    expected = torch.tensor([[[1.0, 0.2, 0.0]], [[0.0, 0.0, 1.0]]]) / (1.0 + 1e-5)
    assert cams.shape == (2, 1, 3) and torch.allclose(cams, expected, atol=1e-6)
    (only_second,) = read_cams(Pointwise(), x, [torch.tensor([1])], cfg)
    assert torch.allclose(only_second, expected[1:], atol=1e-6)


def test_softmax_score_by_hand():
    # Same pixels: logits (1, 0, 0), (0.2, -0.4, 0.8), (0, 1, 0) for class 0, class 1, background.
    x = torch.tensor([[1.0, 0.2, 0.0], [0.0, 0.4, 1.0], [0.0, 0.8, 0.0]])[None, :, None]
    cfg = CAMReadoutConfig(scales=(1.0,), flip=False, score="softmax")
    logits = torch.tensor([[1.0, 0.2, 0.0], [0.0, -0.4, 1.0], [0.0, 0.8, 0.0]])
    (both,) = read_cams(Pointwise(), x, [torch.tensor([0, 1])], cfg)
    expected = logits.softmax(dim=0)[:2, None]  # over class 0, class 1 and background
    assert both.shape == (2, 1, 3) and torch.allclose(both, expected, atol=1e-6)
    # With only class 1 in the label, class 0's channel takes no part in the softmax.
    (only_second,) = read_cams(Pointwise(), x, [torch.tensor([1])], cfg)
    expected_second = logits[1:].softmax(dim=0)[:1, None]
    assert torch.allclose(only_second, expected_second, atol=1e-6)
    # Two images with different classes in one batch: each its own softmax.
    both_again, second_again = read_cams(
        Pointwise(), x.repeat(2, 1, 1, 1), [torch.tensor([0, 1]), torch.tensor([1])], cfg
    )
    assert torch.allclose(both_again, expected, atol=1e-6)
    assert torch.allclose(second_again, expected_second, atol=1e-6)


def hand_loop(model, inputs, classes, scales, flip, interp, out_size):
    """One image, one scale and one flip at a time, with plain F.interpolate."""
    maps = []
    height, width = inputs.shape[-2:]
    for scale in scales:
        size = scaled_size(height, width, scale)
        x = inputs
        if size != (height, width):
            x = F.interpolate(
                x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1
            )
        for flipped in (False, True) if flip else (False,):
            view = x.flip(-1) if flipped else x
            logits = model.extract_cam_logits(view)
            up = F.interpolate(logits, out_size, mode=interp, align_corners=False)[0]
            maps.append(up.flip(-1) if flipped else up)
    mean = torch.relu(torch.stack(maps).mean(0))[classes]
    return mean / (mean.amax(dim=(1, 2), keepdim=True) + 1e-5)


@contextlib.contextmanager
def readout(model, cfg: CAMReadoutConfig):
    """The model with ``cfg`` as its ``test_cfg`` (restored after)."""
    before, model.test_cfg = model.test_cfg, cfg
    try:
        yield model
    finally:
        model.test_cfg = before


@pytest.fixture(scope="module")
def model():
    init_default_scope("mmseg")
    torch.manual_seed(0)
    return MODELS.build(tiny_l2g_cfg(num_classes=3)).eval()


@pytest.mark.parametrize("interp", ["bicubic", "bilinear"])
def test_model_readout_equals_the_hand_written_loop(model, interp):
    imgs = torch.randint(0, 256, (2, 3, 40, 48), generator=torch.Generator().manual_seed(1))
    inputs = model.data_preprocessor(dict(inputs=imgs.to(torch.uint8)), False)["inputs"]
    classes = [torch.tensor([0, 2]), torch.tensor([1])]
    cfg = CAMReadoutConfig(scales=(0.5, 1.0, 1.5), flip=True, interp=interp)
    with readout(model, cfg):
        cams = model.inference(inputs, classes, out_size=(44, 50))
    for index, label in enumerate(classes):
        with torch.no_grad():
            expected = hand_loop(
                model, inputs[index : index + 1], label, cfg.scales, True, interp, (44, 50)
            )
        assert cams[index].shape == (len(label), 44, 50)
        assert torch.allclose(cams[index], expected, atol=1e-5)
        assert cams[index].min() >= 0 and cams[index].max() < 1


def test_default_test_cfg_is_the_release_readout(model):
    assert model.test_cfg == CAMReadoutConfig(
        scales=(0.5, 1.0, 1.5, 2.0), flip=True, interp="bicubic", fp16=False, bg_thr=0.25
    )


def test_flip_averaging_is_mirror_symmetric(model):
    imgs = torch.randint(0, 256, (1, 3, 24, 30), generator=torch.Generator().manual_seed(2))
    inputs = model.data_preprocessor(dict(inputs=imgs.to(torch.uint8)), False)["inputs"]
    classes = [torch.tensor([0, 1, 2])]
    with readout(model, CAMReadoutConfig(scales=(1.0,), flip=True)):
        (cams,) = model.inference(inputs, classes)
        (mirrored,) = model.inference(inputs.flip(-1), classes)
    assert torch.allclose(cams, mirrored.flip(-1), atol=1e-5)
    with readout(model, CAMReadoutConfig(scales=(1.0,), flip=False)):
        (one,) = model.inference(inputs, classes)
        (other,) = model.inference(inputs.flip(-1), classes)
    assert not torch.allclose(one, other.flip(-1), atol=1e-3)


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(scales=(1.0, 0.0)), "scales"),
        (dict(scales=(float("inf"),)), "scales"),
        (dict(scales=(100.0,)), "scales"),
        (dict(interp="nearest"), "interp"),
        (dict(bg_thr=1.5), "bg_thr"),
        (dict(score="probabilities"), "score"),
        (dict(crf=dict(iterations=3)), "unknown dense CRF"),
        (dict(scale=1.0), "unknown CAM readout"),
        (dict(forward_pixels=0), "forward_pixels"),
        (dict(forward_pixels=2.5), "forward_pixels"),
    ],
)
def test_bad_readout_settings_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        CAMReadoutConfig.from_cfg(bad)


class PassRecorder(nn.Module):
    """``Pointwise`` that records the batch shape of every forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.net, self.shapes = Pointwise(), []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        return self.net(x)


def test_forward_passes_are_sized_by_pixels_not_images():
    # 5 images of 8x10 (80 px), flipped: 10 inputs per scale. At 2x (16x20 = 320 px) a
    # limit of 700 px takes 2 per pass; at 1x (80 px) 8 per pass; 1 px still takes one.
    x = torch.rand(5, 3, 8, 10, generator=torch.Generator().manual_seed(3))
    classes = [torch.tensor([0, 1])] * 5
    cams = {}
    for limit, expected in [
        (700, [(8, 3, 8, 10), (2, 3, 8, 10)] + [(2, 3, 16, 20)] * 5),
        (1, [(1, 3, 8, 10)] * 10 + [(1, 3, 16, 20)] * 10),
        (10**6, [(10, 3, 8, 10), (10, 3, 16, 20)]),
    ]:
        net = PassRecorder()
        cfg = CAMReadoutConfig(scales=(1.0, 2.0), flip=True, forward_pixels=limit)
        cams[limit] = read_cams(net, x, classes, cfg)
        assert net.shapes == expected
    # Speed only: the same maps whatever the passes.
    for limit in (1, 700):
        for got, want in zip(cams[limit], cams[10**6]):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


def test_only_each_images_own_maps_are_upsampled(monkeypatch):
    # Three images with 2, 1 and 3 of 5 classes: 6 maps upsampled per scale (not 3 images x
    # the batch's union of 5), and each image's maps equal its maps read alone, to the bit.
    from mmseg_l2g.models.classifiers import cam_readout

    conv = nn.Conv2d(3, 6, 3, padding=1, stride=4)
    x = torch.rand(3, 3, 37, 45, generator=torch.Generator().manual_seed(0))
    classes = [torch.tensor([0, 2]), torch.tensor([4]), torch.tensor([1, 2, 3])]
    upsampled, interpolate = [], F.interpolate

    def recording(maps, *args, **kwargs):
        upsampled.append(tuple(maps.shape))
        return interpolate(maps, *args, **kwargs)

    monkeypatch.setattr(cam_readout.F, "interpolate", recording)
    for score, extra in (("logits", 0), ("softmax", 3)):  # softmax: + each image's background
        cfg = CAMReadoutConfig(scales=(0.5, 1.0, 1.5), flip=True, score=score)
        upsampled.clear()
        with torch.no_grad():
            batch = read_cams(conv, x, classes, cfg)
            alone = [read_cams(conv, x[i : i + 1], [c], cfg)[0] for i, c in enumerate(classes)]
        maps = [shape[:2] for shape in upsampled if shape[1] != 3]  # not the image resizes
        assert maps[:3] == [(6 + extra, 1)] * 3  # the batch's 3 scales
        for got, want, label in zip(batch, alone, classes):
            assert got.shape == (len(label), 37, 45) and torch.equal(got, want)


def test_forward_passes_run_the_images_then_their_flips_in_order():
    from mmseg_l2g.models.classifiers.cam_readout import forward_passes

    scaled = torch.arange(3.0).view(3, 1, 1, 1) + torch.tensor([0.0, 10.0]).view(1, 1, 1, 2)
    # 3 images (pixel values i, i + 10) then their flips (i + 10, i), 2 per pass.
    passes = forward_passes(scaled, True, 2)
    assert [p.shape[0] for p in passes] == [2, 2, 2]
    sequence = torch.cat(passes)[:, 0, 0].tolist()
    assert sequence == [[0, 10], [1, 11], [2, 12], [10, 0], [11, 1], [12, 2]]
    assert passes[0].data_ptr() == scaled.data_ptr()  # a pass inside one half is a view
    assert [p.shape[0] for p in forward_passes(scaled, False, 2)] == [2, 1]
    assert len(forward_passes(scaled, True, 100)) == 1


def test_forward_pixels_default_by_device():
    cfg = CAMReadoutConfig()
    assert cfg.images_per_pass(128, 128, torch.device("cpu")) == 2**17 // 128**2 == 8
    assert cfg.images_per_pass(512, 512, torch.device("cpu")) == 1  # at least one
    assert cfg.images_per_pass(448, 448, torch.device("cuda")) == 2**24 // 448**2 == 83
    assert CAMReadoutConfig(forward_pixels=100).images_per_pass(5, 10, torch.device("cpu")) == 2


def test_class_index_out_of_range_and_sizes():
    x = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match="out of range"):
        read_cams(Pointwise(), x, [torch.tensor([2])], CAMReadoutConfig())
    assert scaled_size(375, 500, 0.5) == (188, 250)
    assert scaled_size(3, 3, 0.1) == (1, 1)


def test_init_model_kwargs_are_accepted():
    init_default_scope("mmseg")
    cfg = tiny_l2g_cfg(train_cfg=dict(), test_cfg=dict(scales=(1.0,), flip=False))
    model = MODELS.build(dict(cfg, pretrained=None))
    assert model.test_cfg.scales == (1.0,) and not model.test_cfg.flip
    with pytest.raises(ValueError, match="init_cfg"):
        MODELS.build(dict(cfg, pretrained="x.pth"))

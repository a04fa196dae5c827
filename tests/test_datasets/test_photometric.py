"""PILColorJitter: torchvision's ColorJitter(0.3, 0.3, 0.3, 0.1) on BGR arrays."""

import itertools

import numpy as np
import pytest
from PIL import Image
from torchvision.transforms import functional as TF

from mmseg_l2g.datasets.transforms import PILColorJitter
from mmseg_l2g.datasets.transforms.photometric import adjust_hue_bgr

RGB = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
BGR = np.ascontiguousarray(RGB[:, :, ::-1])
TORCHVISION = {
    0: TF.adjust_brightness,
    1: TF.adjust_contrast,
    2: TF.adjust_saturation,
    3: TF.adjust_hue,
}


def torchvision_bgr(order, factors) -> np.ndarray:
    """torchvision's PIL ops on the RGB image in ``order``, back to BGR."""
    image = Image.fromarray(RGB)
    for index in order:
        image = TORCHVISION[index](image, factors[index])
    return np.asarray(image)[:, :, ::-1]


def test_parameter_ranges_are_torchvision_s() -> None:
    jitter = PILColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)
    assert jitter.brightness == jitter.contrast == jitter.saturation == (0.7, 1.3)
    assert jitter.hue == (-0.1, 0.1)
    np.random.seed(0)
    draws = [jitter._rand_params() for _ in range(3000)]
    factors = np.array([d[1:] for d in draws])
    lows, highs = factors.min(axis=0), factors.max(axis=0)
    np.testing.assert_allclose(lows, [0.7, 0.7, 0.7, -0.1], atol=0.01)
    np.testing.assert_allclose(highs, [1.3, 1.3, 1.3, 0.1], atol=0.01)
    assert (lows >= [0.7, 0.7, 0.7, -0.1]).all() and (highs <= [1.3, 1.3, 1.3, 0.1]).all()
    orders = {tuple(d[0]) for d in draws}
    assert orders == set(itertools.permutations(range(4)))  # a random order, as torchvision


@pytest.mark.parametrize("hue", [-0.1, -0.003, 0.0, 0.07, 0.5, -0.5])
def test_hue_equals_torchvision_including_negative_shifts(hue: float) -> None:
    expected = np.asarray(TF.adjust_hue(Image.fromarray(RGB), hue))[:, :, ::-1]
    np.testing.assert_array_equal(adjust_hue_bgr(BGR, hue), expected)
    with pytest.raises(ValueError, match="hue_factor"):
        adjust_hue_bgr(BGR, 0.6)


@pytest.mark.parametrize(
    "order, factors",
    [
        ((0, 1, 2, 3), (1.3, 0.7, 1.1, -0.1)),
        ((3, 2, 1, 0), (0.75, 1.25, 0.7, 0.05)),
        ((2, 0, 3, 1), (1.0, 1.3, 1.3, -0.04)),
    ],
)
def test_jitter_equals_torchvision_for_given_draws(order, factors) -> None:
    jitter = PILColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)
    jitter._rand_params = lambda: (np.array(order), *factors)
    out = jitter(dict(img=BGR.copy()))["img"]
    assert out.dtype == np.uint8 and out.shape == BGR.shape
    np.testing.assert_array_equal(out, torchvision_bgr(order, dict(enumerate(factors))))


def test_zero_ranges_leave_the_image_alone() -> None:
    np.random.seed(0)
    np.testing.assert_array_equal(PILColorJitter()(dict(img=BGR.copy()))["img"], BGR)

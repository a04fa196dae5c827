"""Saliency through the geometry (nearest resampling, zero padding) and NormalizeSaliency."""

import numpy as np
import pytest
from PIL import Image

from mmseg_l2g.datasets.transforms import NormalizeSaliency, PadWithSaliency, ResizeWithSaliency

# A 4 x 6 map with three levels: resampled nearest, no new value may appear.
LEVELS = np.array(
    [[0, 0, 64, 64, 128, 128], [0, 0, 64, 64, 128, 128], [0, 0, 0, 64, 64, 64], [0, 0, 0, 0, 0, 0]],
    np.uint8,
)


def results_with(saliency: np.ndarray) -> dict:
    height, width = saliency.shape
    img = np.zeros((height, width, 3), np.uint8)
    return dict(
        img=img, img_shape=(height, width), gt_saliency=saliency, seg_fields=["gt_saliency"]
    )


@pytest.mark.parametrize("backend", ["pillow", "cv2"])
def test_saliency_is_resized_nearest_to_the_image_size(backend: str) -> None:
    saliency = LEVELS.astype(np.float32) / 255.0
    resize = ResizeWithSaliency(
        scale=(60, 8), keep_ratio=True, interpolation="bicubic", backend=backend
    )
    out = resize(results_with(saliency))
    assert out["img"].shape[:2] == (8, 12) and out["gt_saliency"].shape == (8, 12)
    assert set(np.unique(out["gt_saliency"])) <= set(np.unique(saliency))
    if backend == "pillow":  # PIL's own nearest resampling of the uint8 map, value for value
        expected = np.asarray(Image.fromarray(LEVELS).resize((12, 8), Image.NEAREST)) / 255.0
        np.testing.assert_allclose(out["gt_saliency"], expected, atol=1e-7)


def test_saliency_interpolation_switches_back_to_bilinear() -> None:
    saliency = LEVELS.astype(np.float32) / 255.0
    resize = ResizeWithSaliency(scale=(12, 8), saliency_interpolation="bilinear")
    out = resize(results_with(saliency))["gt_saliency"]
    assert len(set(np.unique(out)) - set(np.unique(saliency))) > 0  # blended values appear
    with pytest.raises(ValueError, match="saliency_interpolation"):
        ResizeWithSaliency(scale=(12, 8), saliency_interpolation="cubic-ish")


def test_pad_fills_image_with_zero_and_saliency_with_not_salient() -> None:
    saliency = np.ones((3, 4), np.float32)
    results = results_with(saliency)
    results["img"][:] = 200
    out = PadWithSaliency(size=(6, 5), pad_val=dict(img=0, seg=255))(results)
    assert out["img"].shape == (5, 6, 3) and out["gt_saliency"].shape == (5, 6)
    assert (out["img"][:3, :4] == 200).all() and out["img"][3:].sum() + out["img"][:, 4:].sum() == 0
    assert (out["gt_saliency"][:3, :4] == 1).all() and out["gt_saliency"].sum() == 12
    assert out["gt_saliency"].dtype == np.float32


def test_normalize_saliency_divides_by_the_map_s_maximum() -> None:
    saliency = LEVELS.astype(np.float32) / 255.0  # maximum 128 / 255
    out = NormalizeSaliency()(results_with(saliency))["gt_saliency"]
    assert out.dtype == np.float32 and out.max() == 1.0
    np.testing.assert_allclose(out, LEVELS / 128.0, atol=1e-6)  # 64 -> 0.5, 128 -> 1


def test_all_zero_saliency_stays_zero_and_mode_none_keeps_values() -> None:
    zero = NormalizeSaliency()(results_with(np.zeros((3, 4), np.float32)))["gt_saliency"]
    assert np.isfinite(zero).all() and (zero == 0).all()
    saliency = LEVELS.astype(np.float32) / 255.0
    kept = NormalizeSaliency(mode="none")(results_with(saliency.copy()))["gt_saliency"]
    np.testing.assert_array_equal(kept, saliency)
    assert NormalizeSaliency()(dict(img=np.zeros((2, 2, 3), np.uint8))).keys() == {"img"}
    with pytest.raises(ValueError, match="mode"):
        NormalizeSaliency(mode="255")

"""LocalCropTransform, saliency-aware geometry and PackL2GInputs."""

import numpy as np
import pytest
from mmseg.datasets.transforms import RandomFlip

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.transforms import LocalCropTransform, PackL2GInputs, ResizeWithSaliency
from mmseg_l2g.datasets.transforms.local_crop import MODES, crop_views, grid_shape


def _results(height: int = 60, width: int = 80, with_saliency: bool = True) -> dict:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    results = dict(img=img, img_shape=(height, width), ori_shape=(height, width))
    if with_saliency:
        results["gt_saliency"] = rng.random((height, width)).astype(np.float32)
        results["seg_fields"] = ["gt_saliency"]
    return results


@pytest.mark.parametrize(
    "num_views, mode",
    [(n, m) for n in (1, 2, 6, 9, 16) for m in MODES if n >= 4 or m != "corners"],
)
def test_boxes_inside_view_with_crop_size(num_views: int, mode: str) -> None:
    np.random.seed(0)
    out = LocalCropTransform(num_views=num_views, crop_size=32, mode=mode)(_results())
    boxes = out["local_boxes"]
    assert boxes.shape == (num_views, 4) and boxes.dtype == np.float32
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
    assert (boxes[:, 2] <= 80).all() and (boxes[:, 3] <= 60).all()
    np.testing.assert_array_equal(boxes[:, 2] - boxes[:, 0], 32)
    np.testing.assert_array_equal(boxes[:, 3] - boxes[:, 1], 32)
    np.testing.assert_array_equal(boxes, np.round(boxes))


@pytest.mark.parametrize("num_views", [4, 6, 9])
def test_uniform_grid_covers_the_view(num_views: int) -> None:
    # rows * 52 >= 90 and cols * 52 >= 100 for every grid these N give.
    transform = LocalCropTransform(num_views=num_views, crop_size=52, mode="uniform")
    boxes = transform.sample_boxes(height=90, width=100).astype(int)
    covered = np.zeros((90, 100), bool)
    for x1, y1, x2, y2 in boxes:
        covered[y1:y2, x1:x2] = True
    assert covered.all()
    # Corners of the view are box corners: the grid spans the whole view.
    assert boxes[:, 0].min() == 0 and boxes[:, 1].min() == 0
    assert boxes[:, 2].max() == 100 and boxes[:, 3].max() == 90


def test_grid_shape_follows_aspect_ratio() -> None:
    assert grid_shape(6, height=100, width=150) == (2, 3)
    assert grid_shape(6, height=150, width=100) == (3, 2)
    assert grid_shape(9, 100, 100) == (3, 3)
    assert grid_shape(7, 100, 100) in ((1, 7), (7, 1))


@pytest.mark.parametrize("mode", ["corners", "random", "uniform"])
def test_view_smaller_than_crop_is_clamped_and_resized(mode: str) -> None:
    np.random.seed(0)
    results = _results(40, 70)
    saliency = results["gt_saliency"].copy()
    out = LocalCropTransform(num_views=4, crop_size=100, mode=mode)(results)
    np.testing.assert_array_equal(out["local_boxes"], np.tile([[0, 0, 70, 40]], (4, 1)))
    assert out["local_saliency"].shape == (4, 100, 100)
    # Each view is the whole 40 x 70 map resized bilinearly to 100 x 100.
    np.testing.assert_allclose(out["local_saliency"][0, 0, 0], saliency[0, 0], atol=1e-6)
    np.testing.assert_allclose(out["local_saliency"][0, -1, -1], saliency[-1, -1], atol=1e-6)
    images = crop_views(results["img"], out["local_boxes"], 100)
    assert images.shape == (4, 100, 100, 3) and images.dtype == np.uint8


def test_corners_mode_boxes_exactly() -> None:
    # A 448 x 448 view, 320 crops: corners at offsets 0 and 448 - 320 = 128.
    np.random.seed(7)
    boxes = LocalCropTransform(num_views=6, crop_size=320, mode="corners").sample_boxes(448, 448)
    np.testing.assert_array_equal(
        boxes[:4],
        [[0, 0, 320, 320], [128, 0, 448, 320], [0, 128, 320, 448], [128, 128, 448, 448]],
    )
    # The 2 others: the offsets numpy draws next (x for both, then y for both).
    np.random.seed(7)
    xs, ys = np.random.randint(0, 129, size=2), np.random.randint(0, 129, size=2)
    np.testing.assert_array_equal(boxes[4:], np.stack([xs, ys, xs + 320, ys + 320], axis=1))
    # A non-square view: 60 x 80 with 32 crops: corners at x in {0, 48}, y in {0, 28}.
    boxes = LocalCropTransform(num_views=4, crop_size=32, mode="corners").sample_boxes(60, 80)
    np.testing.assert_array_equal(
        boxes, [[0, 0, 32, 32], [48, 0, 80, 32], [0, 28, 32, 60], [48, 28, 80, 60]]
    )


def union_coverage(boxes: np.ndarray, height: int, width: int) -> float:
    """Fraction of a height x width view covered by the union of the boxes."""
    covered = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in boxes.astype(int):
        covered[y1:y2, x1:x2] = True
    return float(covered.mean())


@pytest.mark.parametrize("view, crop", [(448, 320), (128, 90)])
def test_corners_always_cover_the_view_random_does_not(view: int, crop: int) -> None:
    np.random.seed(0)
    draws = 200
    cover = {}
    for mode in ("corners", "random"):
        transform = LocalCropTransform(num_views=6, crop_size=crop, mode=mode)
        cover[mode] = np.array(
            [union_coverage(transform.sample_boxes(view, view), view, view) for _ in range(draws)]
        )
    corner_cover, random_cover = cover["corners"], cover["random"]
    assert min(corner_cover) == 1.0
    # Random views leave the borders out: about 81 % covered on average (measured
    # 0.81 for both sizes), full coverage in almost no draw.
    assert 0.75 < np.mean(random_cover) < 0.87
    assert np.mean(random_cover == 1.0) < 0.05


def test_same_seed_same_boxes_and_different_seed_differs() -> None:
    transform = LocalCropTransform(num_views=6, crop_size=20)
    np.random.seed(3)
    first = transform(_results())["local_boxes"]
    np.random.seed(3)
    second = transform(_results())["local_boxes"]
    np.random.seed(4)
    third = transform(_results())["local_boxes"]
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)


def test_saliency_and_image_crops_match_boxes() -> None:
    np.random.seed(1)
    results = _results()
    sal, img = results["gt_saliency"].copy(), results["img"].copy()
    out = LocalCropTransform(num_views=4, crop_size=24)(results)
    images = crop_views(img, out["local_boxes"], 24)
    for k, (x1, y1, x2, y2) in enumerate(out["local_boxes"].astype(int)):
        np.testing.assert_array_equal(out["local_saliency"][k], sal[y1:y2, x1:x2])
        np.testing.assert_array_equal(images[k], img[y1:y2, x1:x2])


def test_saliency_follows_resize_and_flip() -> None:
    results = _results(60, 80)
    # Mark the left third of image and saliency: both must end up on the right.
    results["img"][:] = 0
    results["img"][:, :20] = 255
    results["gt_saliency"][:] = 0.0
    results["gt_saliency"][:, :20] = 1.0
    results = ResizeWithSaliency(scale=(40, 30), keep_ratio=False)(results)
    assert results["gt_saliency"].shape == (30, 40)
    results = RandomFlip(prob=1.0, direction="horizontal")(results)  # mmseg's: seg_fields
    img_fg = results["img"][..., 0] > 127
    sal_fg = results["gt_saliency"] > 0.5
    np.testing.assert_array_equal(img_fg, sal_fg)
    assert sal_fg[:, -5:].all() and not sal_fg[:, :25].any()


def test_pack_l2g_inputs_fields() -> None:
    np.random.seed(0)
    results = _results(64, 64)
    results.update(gt_label=np.array([0, 1, 1], np.float32), img_id="a", img_path="a.jpg")
    results["gt_seg_map"] = np.zeros((64, 64), np.uint8)
    results = LocalCropTransform(num_views=3, crop_size=32)(results)
    packed = PackL2GInputs()(results)
    inputs, sample = packed["inputs"], packed["data_samples"]
    assert tuple(inputs.shape) == (3, 64, 64)
    assert (inputs.permute(1, 2, 0).numpy() == results["img"]).all()
    assert sample.gt_label.tolist() == [0.0, 1.0, 1.0]
    assert tuple(sample.local_boxes.shape) == (3, 4)
    assert tuple(sample.local_saliency.shape) == (3, 1, 32, 32)
    assert tuple(sample.gt_sem_seg.data.shape) == (1, 64, 64)
    assert sample.metainfo["has_saliency"] and sample.metainfo["local_crop_size"] == 32


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_views"):
        LocalCropTransform(num_views=0)
    with pytest.raises(ValueError, match="mode"):
        LocalCropTransform(mode="grid")
    with pytest.raises(ValueError, match="'corners' needs num_views >= 4"):
        LocalCropTransform(num_views=3, mode="corners")

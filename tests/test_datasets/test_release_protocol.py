"""The VOC config's training dataset follows the release's data protocol, step by step.

A 500 x 375 (W x H) image with a saliency map whose maximum is 128 goes through
``train_dataloader.dataset`` of the VOC L2G configs; every output is compared
with the same steps done by hand with PIL and torchvision: short side to 512
(bicubic; 683 x 512), colour jitter, a 448 x 448 crop, the 4 corner views, the
saliency map resampled nearest, cropped and divided by its maximum.
"""

import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image
from torchvision.transforms import functional as TF

import mmseg_l2g  # noqa: F401  (registers the transforms)
from mmseg_l2g.datasets.transforms import PILColorJitter

CONFIGS = osp.join(osp.dirname(__file__), "../../configs/l2g")
L2G_SAL = osp.join(CONFIGS, "l2g-sal_resnet38_1xb3-10e_voc12aug-448.py")
L2G = osp.join(CONFIGS, "l2g_resnet38_1xb3-10e_voc12aug-448.py")
WIDTH, HEIGHT = 500, 375
RESIZED = (683, 512)  # (W, H): short side 512, 500 * 512 / 375 = 682.67 -> 683
VIEW, CROP = 448, 320
CORNERS = [[0, 0, 320, 320], [128, 0, 448, 320], [0, 128, 320, 448], [128, 128, 448, 448]]
# Fixed jitter draws: hue first (negative), then brightness, saturation, contrast.
JITTER = (np.array([3, 0, 2, 1]), 1.2, 0.8, 1.25, -0.07)


@pytest.fixture(autouse=True)
def _mmseg_scope():
    DefaultScope.get_instance("test_release_protocol", scope_name="mmseg")


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory) -> str:
    """A VOC layout with one 500 x 375 image ('a', person) and its saliency map."""
    root = str(tmp_path_factory.mktemp("voc"))
    for folder in ("JPEGImages", "saliency_maps", "ImageSets/Segmentation"):
        os.makedirs(osp.join(root, folder))
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, WIDTH)[None, :, None] + np.linspace(0, 50, HEIGHT)[:, None, None]
    rgb = np.clip(ramp + rng.integers(0, 56, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(osp.join(root, "JPEGImages/a.jpg"), quality=95)
    # Saliency 128 on a block every 448 crop of the resized image overlaps, 64 around it.
    saliency = np.zeros((HEIGHT, WIDTH), np.uint8)
    saliency[60:330, 100:420] = 64
    saliency[100:300, 150:350] = 128
    Image.fromarray(saliency).save(osp.join(root, "saliency_maps/a.png"))
    with open(osp.join(root, "ImageSets/Segmentation/train_aug.txt"), "w") as f:
        f.write("a\n")
    with open(osp.join(root, "ImageSets/Segmentation/train_aug_cls.txt"), "w") as f:
        f.write("a 14\n")
    return root


def build_dataset(config: str, root: str, options: dict = None):
    """The config's training dataset on ``root`` (``options`` as --cfg-options)."""
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = root
    return DATASETS.build(dataset_cfg)


def hand_made_view(root: str) -> tuple:
    """The resized, jittered image (BGR) and resized saliency (0..255), by hand."""
    rgb = Image.open(osp.join(root, "JPEGImages/a.jpg")).convert("RGB")
    resized = rgb.resize(RESIZED, Image.BICUBIC)
    order, brightness, contrast, saturation, hue = JITTER
    ops = {
        0: lambda im: TF.adjust_brightness(im, brightness),
        1: lambda im: TF.adjust_contrast(im, contrast),
        2: lambda im: TF.adjust_saturation(im, saturation),
        3: lambda im: TF.adjust_hue(im, hue),
    }
    for index in order:
        resized = ops[int(index)](resized)
    bgr = np.asarray(resized)[:, :, ::-1]
    saliency = Image.open(osp.join(root, "saliency_maps/a.png")).resize(RESIZED, Image.NEAREST)
    return bgr, np.asarray(saliency, np.float32)


def find_offset(full: np.ndarray, view: np.ndarray) -> tuple:
    """The (y, x) where ``view`` is a crop of ``full`` (its 6 x 6 top-left patch matched)."""
    windows = sliding_window_view(full, (6, 6, 3))[:, :, 0]
    hits = np.argwhere((windows == view[:6, :6]).all(axis=(2, 3, 4)))
    assert len(hits) == 1, f"the view's corner matches {len(hits)} places"
    return tuple(int(v) for v in hits[0])


@pytest.fixture
def fixed_jitter():
    """PILColorJitter draws JITTER (set on the subclass, removed afterwards)."""
    PILColorJitter._rand_params = lambda self: JITTER
    yield
    del PILColorJitter._rand_params


def test_global_view_is_a_crop_of_the_hand_resized_image(voc_root, fixed_jitter) -> None:
    dataset = build_dataset(L2G_SAL, voc_root)
    expected_bgr, expected_saliency = hand_made_view(voc_root)
    assert expected_bgr.shape == (512, 683, 3)
    offsets = []
    for seed in range(8):
        np.random.seed(seed)
        sample = dataset[0]
        view = sample["inputs"].permute(1, 2, 0).numpy()
        assert view.shape == (VIEW, VIEW, 3)
        y, x = find_offset(expected_bgr, view)
        assert 0 <= y <= 512 - VIEW and 0 <= x <= 683 - VIEW
        np.testing.assert_array_equal(view, expected_bgr[y : y + VIEW, x : x + VIEW])
        offsets.append((y, x))
        data = sample["data_samples"]
        boxes = data.local_boxes.numpy()
        np.testing.assert_array_equal(boxes[:4], CORNERS)  # the 4 corners, every time
        assert boxes.shape == (6, 4)
        # Saliency: resized nearest, cropped with the view, divided by its maximum (128).
        saliency = expected_saliency[y : y + VIEW, x : x + VIEW] / 128.0
        local = data.local_saliency.numpy()[:, 0]
        assert local.max() == 1.0 and set(np.unique(local)) <= {0.0, 0.5, 1.0}
        for k, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
            np.testing.assert_array_equal(local[k], saliency[y1:y2, x1:x2])
        assert data.metainfo["img_shape"] == (VIEW, VIEW) and not data.metainfo["flip"]
    # Offsets span both axes of the 683 x 512 image (x beyond the 64 rows of slack).
    assert len(set(offsets)) == 8 and max(x for _, x in offsets) > 64


def test_without_saliency_the_views_still_include_the_corners(voc_root) -> None:
    dataset = build_dataset(L2G, voc_root)
    for seed in range(5):
        np.random.seed(seed)
        data = dataset[0]["data_samples"]
        np.testing.assert_array_equal(data.local_boxes.numpy()[:4], CORNERS)
        assert "local_saliency" not in data


def test_zero_padding_where_the_resized_image_is_smaller(voc_root, fixed_jitter) -> None:
    # Short side 400 instead of 512: the resized image is 533 x 400, so 48 rows pad.
    options = {"train_dataloader.dataset.pipeline.2.scale": (3200, 400)}
    dataset = build_dataset(L2G_SAL, voc_root, options)
    np.random.seed(0)
    sample = dataset[0]
    view = sample["inputs"].permute(1, 2, 0).numpy()
    assert view.shape == (VIEW, VIEW, 3)
    assert (view[400:] == 0).all() and view[:400].any(axis=(1, 2)).all()
    local = sample["data_samples"].local_saliency.numpy()[:, 0]
    boxes = sample["data_samples"].local_boxes.numpy().astype(int)
    # The bottom-left corner view: its last 48 rows are padding, not salient.
    assert boxes[2].tolist() == [0, 128, 320, 448]
    assert (local[2][-48:] == 0).all() and local.max() == 1.0

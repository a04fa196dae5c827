"""The dense CRF sees the image un-flipped as the CAM is, for both flip directions.

A test pipeline that flips the image (metainfo ``flip``, ``flip_direction``)
makes ``predict`` flip the CAM back; the image the CRF refines the mask with
must be flipped back along the same axis (it was always flipped horizontally).
"""

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from model_test_utils import tiny_l2g_cfg

from mmseg_l2g.models.classifiers import l2g_classifier
from mmseg_l2g.models.postprocess.dense_crf import crf_image

HEIGHT, WIDTH = 24, 40
AXES = {"horizontal": 1, "vertical": 0}


@pytest.fixture(autouse=True)
def _scope() -> None:
    DefaultScope.get_instance("test_crf_flip", scope_name="mmseg")


def _image() -> np.ndarray:
    """A BGR image with no mirror symmetry."""
    return np.random.default_rng(5).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


@pytest.mark.parametrize("direction", ["horizontal", "vertical"])
def test_predict_crf_image_is_unflipped_along_the_flip_axis(monkeypatch, direction) -> None:
    cfg = tiny_l2g_cfg(test_cfg=dict(crf=dict(iters=1), bg_thr=0.3))
    model = MODELS.build(cfg).eval()
    bgr = _image()
    flipped = np.ascontiguousarray(np.flip(bgr, AXES[direction]))  # what the pipeline gave
    seen = []
    real_make_mask = l2g_classifier.make_mask

    def spy(*args, **kwargs):
        seen.append(kwargs["image_rgb"])
        return real_make_mask(*args, **kwargs)

    monkeypatch.setattr(l2g_classifier, "make_mask", spy)
    meta = dict(ori_shape=(HEIGHT, WIDTH), img_shape=(HEIGHT, WIDTH), flip=True)
    sample = SegDataSample(metainfo=dict(meta, flip_direction=direction))
    sample.gt_label = torch.tensor([1.0, 0.0, 1.0])
    plain = SegDataSample(metainfo=dict(ori_shape=(HEIGHT, WIDTH), img_shape=(HEIGHT, WIDTH)))
    plain.gt_label = sample.gt_label
    batch = torch.from_numpy(flipped).permute(2, 0, 1)[None]
    inputs = model.data_preprocessor(dict(inputs=batch), False)["inputs"]
    with torch.no_grad():
        (result,) = model.predict(inputs, [sample])
        (unflipped,) = model.predict(inputs, [plain])
    rgb = bgr[:, :, ::-1]
    assert seen[0].shape == (HEIGHT, WIDTH, 3) and seen[0].dtype == np.uint8
    assert np.abs(seen[0].astype(int) - rgb).max() == 0  # the original image, RGB
    # The CAM flipped back along the same axis.
    axis = -1 if direction == "horizontal" else -2
    torch.testing.assert_close(result.pred_cam.data, unflipped.pred_cam.data.flip(axis))


@pytest.mark.parametrize("direction", ["horizontal", "vertical"])
def test_crf_image_undoes_normalisation_padding_and_flip(direction) -> None:
    bgr = _image()
    flipped = np.flip(bgr, AXES[direction])
    chw = torch.from_numpy(np.ascontiguousarray(flipped[:, :, ::-1])).permute(2, 0, 1).float()
    mean = torch.tensor([120.0, 110.0, 100.0])[:, None, None]
    std = torch.tensor([60.0, 50.0, 40.0])[:, None, None]
    padded = torch.nn.functional.pad((chw - mean) / std, (0, 3, 0, 2))  # right 3, bottom 2
    image = crf_image(
        padded, (HEIGHT, WIDTH), mean=mean, std=std, padding=(0, 3, 0, 2), flip=direction
    )
    np.testing.assert_array_equal(image, bgr[:, :, ::-1])
    # BGR input (no channel conversion), twice the size: resized to the asked size.
    bgr_chw = torch.from_numpy(np.ascontiguousarray(bgr)).permute(2, 0, 1).float()
    big = torch.nn.functional.interpolate(bgr_chw[None], scale_factor=2.0, mode="nearest")[0]
    image = crf_image(big, (HEIGHT, WIDTH), bgr=True)
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert np.abs(image.astype(int) - bgr[:, :, ::-1]).max() <= 1

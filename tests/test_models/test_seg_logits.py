"""L2GClassifier.predict's seg_logits: C + 1 channels, background first, argmax = the mask."""

import dataclasses

import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from model_test_utils import tiny_l2g_cfg


@pytest.fixture(autouse=True)
def _scope() -> None:
    DefaultScope.get_instance("test_seg_logits", scope_name="mmseg")


def _predict(model, inputs):
    samples = []
    for label in ([1.0, 0.0, 1.0], [0.0, 1.0, 0.0]):
        sample = SegDataSample(metainfo=dict(ori_shape=(32, 40), img_shape=(32, 40)))
        sample.gt_label = torch.tensor(label)
        samples.append(sample)
    with torch.no_grad():
        return model.predict(inputs, samples)


@pytest.mark.parametrize("quantile", [0.0, 0.5, 1.0])
def test_seg_logits_argmax_is_the_mask_and_channel_zero_is_bg_thr(quantile) -> None:
    torch.manual_seed(0)
    model = MODELS.build(tiny_l2g_cfg(test_cfg=dict(scales=(1.0,)))).eval()
    imgs = torch.randint(0, 256, (2, 3, 32, 40), generator=torch.Generator().manual_seed(2))
    inputs = model.data_preprocessor(dict(inputs=imgs.to(torch.uint8)), False)["inputs"]
    # The threshold at a quantile of the first image's strongest CAM: 0.5 splits its pixels.
    first = _predict(model, inputs)[0].pred_cam.data.max(0).values
    bg_thr = float(first.flatten().half().float().quantile(quantile))
    model.test_cfg = dataclasses.replace(model.test_cfg, bg_thr=bg_thr)
    predicted = _predict(model, inputs)
    for sample in predicted:
        logits, cams = sample.seg_logits.data, sample.pred_cam.data
        num_classes = cams.shape[0]
        assert logits.shape == (num_classes + 1, 32, 40)
        assert torch.all(logits[0] == bg_thr)  # the background channel: the threshold
        torch.testing.assert_close(logits[1:], cams.half().float())  # the CAMs, class order
        absent = sample.gt_label == 0
        assert torch.all(logits[1:][absent] == 0)
        assert torch.equal(logits.argmax(0), sample.pred_sem_seg.data[0])
    mask = predicted[0].pred_sem_seg.data[0]
    if quantile == 0.5:  # a mask of both kinds: the argmax check is not trivial
        assert (mask == 0).any() and (mask > 0).any()
    if quantile == 1.0:  # a tie at the threshold goes to the background, as in the mask
        assert torch.all(mask == 0)

"""L2GClassifier.predict: one forward pass per output size for the whole batch, as one by one."""

import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from model_test_utils import tiny_l2g_cfg


@pytest.fixture(autouse=True)
def _scope() -> None:
    DefaultScope.get_instance("test_predict_batched", scope_name="mmseg")


def _samples(shapes, labels):
    samples = []
    for shape, label in zip(shapes, labels):
        sample = SegDataSample(metainfo=dict(ori_shape=shape, img_shape=(32, 40)))
        sample.gt_label = torch.tensor(label, dtype=torch.float32)
        samples.append(sample)
    return samples


@pytest.mark.parametrize("tta", [False, True])
def test_batched_predict_equals_one_image_at_a_time(tta) -> None:
    torch.manual_seed(0)
    model = MODELS.build(tiny_l2g_cfg(test_cfg=dict(scales=(1.0, 0.5), bg_thr=0.2))).eval()
    calls = []
    original = model.extract_cam_logits
    model.extract_cam_logits = lambda x: calls.append(x.shape[0]) or original(x)
    imgs = torch.randint(0, 256, (3, 3, 32, 40), generator=torch.Generator().manual_seed(1))
    inputs = model.data_preprocessor(dict(inputs=imgs.to(torch.uint8)), False)["inputs"]
    shapes = [(32, 40), (48, 60), (32, 40)]  # two output sizes: two groups
    labels = [[1, 0, 1], [0, 1, 0], [1, 1, 0]]
    with torch.no_grad():
        batched = model.predict(inputs, _samples(shapes, labels), tta=tta)
    # One call per scale, each image stacked with its flip (tta); or one pass.
    scales, flips = (2, 2) if tta else (1, 1)
    assert calls == [2 * flips] * scales + [flips] * scales  # the group of 2, then the other
    calls.clear()
    for index in range(3):
        with torch.no_grad():
            (single,) = model.predict(
                inputs[index : index + 1], _samples(shapes[index : index + 1], labels[index:]), tta
            )
        assert single.pred_cam.data.shape[-2:] == shapes[index]
        torch.testing.assert_close(batched[index].pred_cam.data, single.pred_cam.data)
        assert torch.equal(batched[index].pred_sem_seg.data, single.pred_sem_seg.data)
    assert len(calls) == 3 * scales

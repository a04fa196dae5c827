"""L2GDataPreprocessor: normalisation and local views sliced on the device."""

import pytest
import torch
import torch.nn.functional as F
from model_test_utils import fabricated_batch

from mmseg_l2g.datasets.transforms import LocalCropTransform, PackL2GInputs
from mmseg_l2g.datasets.transforms.local_crop import crop_views
from mmseg_l2g.models import L2GDataPreprocessor


def test_normalize_matches_manual() -> None:
    pre = L2GDataPreprocessor(mean=(1.0, 2.0, 3.0), std=(2.0, 4.0, 8.0), bgr_to_rgb=True)
    img = torch.arange(3 * 2 * 2, dtype=torch.uint8).view(3, 2, 2)
    out = pre.normalize(img)
    rgb = img.flip(0).float()
    expected = (rgb - torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1)) / torch.tensor(
        [2.0, 4.0, 8.0]
    ).view(3, 1, 1)
    torch.testing.assert_close(out, expected)


def test_local_views_are_slices_of_normalised_global_batch() -> None:
    batch = fabricated_batch(batch_size=2, size=64, crop=32, num_views=3)
    out = L2GDataPreprocessor()(batch, training=True)
    views, inputs = out["local_inputs"], out["inputs"]
    assert tuple(views.shape) == (6, 3, 32, 32)
    for k in range(6):
        x1, y1, x2, y2 = batch["data_samples"][k // 3].local_boxes[k % 3].long().tolist()
        torch.testing.assert_close(views[k], inputs[k // 3, :, y1:y2, x1:x2], rtol=0, atol=0)


def test_no_local_views_outside_training() -> None:
    out = L2GDataPreprocessor()(fabricated_batch(), training=False)
    assert "local_inputs" not in out


def test_materialised_views_equal_device_slices() -> None:
    sliced = fabricated_batch(batch_size=2, seed=5)
    # Rebuild the same batch with crops materialised in the pipeline.
    inputs, samples = [], []
    for sample, img in zip(sliced["data_samples"], sliced["inputs"]):
        results = dict(img=img.permute(1, 2, 0).numpy().copy(), gt_label=sample.gt_label.numpy())
        transform = LocalCropTransform(num_views=3, crop_size=32)
        transform._random_offsets = lambda fx, fy, b=sample.local_boxes: (  # noqa: B023
            b[:, 0].long().numpy(),
            b[:, 1].long().numpy(),
        )
        results = transform(results)
        results["local_imgs"] = crop_views(results["img"], results["local_boxes"], 32)
        packed = PackL2GInputs()(results)
        inputs.append(packed["inputs"])
        samples.append(packed["data_samples"])
    pre = L2GDataPreprocessor()
    a = pre(sliced, training=True)["local_inputs"]
    b = pre(dict(inputs=inputs, data_samples=samples), training=True)["local_inputs"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_clamped_boxes_are_resampled_bilinearly() -> None:
    batch = fabricated_batch(batch_size=1, size=24, crop=32, num_views=2)
    box = batch["data_samples"][0].local_boxes
    assert box[:, 2:].eq(24).all()  # clamped to the 24 px view
    out = L2GDataPreprocessor()(batch, training=True)
    expected = F.interpolate(out["inputs"], size=(32, 32), mode="bilinear", align_corners=False)
    torch.testing.assert_close(
        out["local_inputs"], expected.expand(2, -1, -1, -1), atol=1e-4, rtol=0
    )


def test_batch_of_different_sizes_is_a_clear_error() -> None:
    batch = fabricated_batch(batch_size=1)
    batch["inputs"].append(torch.zeros(3, 32, 40, dtype=torch.uint8))
    batch["data_samples"].append(batch["data_samples"][0])
    with pytest.raises(ValueError, match="differ in size"):
        L2GDataPreprocessor()(batch, training=True)

"""A random, packed L2G batch as the dataloader gives it, shared by the model and config tests."""

from typing import Sequence, Union

import numpy as np

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.transforms import LocalCropTransform, PackL2GInputs


def random_l2g_batch(
    batch_size: int = 2,
    size: int = 64,
    crop: int = 32,
    num_views: int = 3,
    num_classes: int = 3,
    saliency: Union[bool, Sequence[bool]] = False,
    seed: int = 0,
) -> dict:
    """Random images, each with one or two classes, packed and collated.

    Args:
        batch_size: images.
        size: image side.
        crop: local view side.
        num_views: local views per image; 0: none (the plain-CAM pipeline).
        num_classes: foreground classes C.
        saliency: per image (or for all) whether it has a random saliency map
            (the shape transfer loss's images).
        seed: seeds the images, labels and the views' positions.
    """
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # the local views' positions
    if isinstance(saliency, bool):
        saliency = [saliency] * batch_size
    inputs, samples = [], []
    for i in range(batch_size):
        label = np.zeros(num_classes, np.float32)
        label[rng.choice(num_classes, size=1 + i % 2, replace=False)] = 1
        results = dict(
            img=rng.integers(0, 255, (size, size, 3), dtype=np.uint8),
            gt_label=label,
            img_id=f"img{i}",
            ori_shape=(size, size),
            img_shape=(size, size),
        )
        if saliency[i]:
            results["gt_saliency"] = rng.random((size, size)).astype(np.float32)
        if num_views:
            results = LocalCropTransform(num_views=num_views, crop_size=crop)(results)
        packed = PackL2GInputs()(results)
        inputs.append(packed["inputs"])
        samples.append(packed["data_samples"])
    return dict(inputs=inputs, data_samples=samples)

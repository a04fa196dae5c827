"""A random, packed and collated L2G training batch, as the dataloader gives it."""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ..datasets.transforms import LocalCropTransform, PackL2GInputs
from ..datasets.transforms.local_crop import crop_views


def random_l2g_batch(
    batch_size: int = 2,
    size: int = 64,
    crop: int = 32,
    num_views: int = 3,
    num_classes: int = 3,
    saliency: Union[bool, Sequence[bool]] = False,
    materialize: bool = False,
    seed: int = 0,
) -> dict:
    """Random images, each with one or two classes, through the training transforms.

    ``LocalCropTransform`` draws the views' boxes and ``PackL2GInputs`` packs
    each image; the batch is a dict of lists, as mmengine's ``pseudo_collate``
    gives it.

    Args:
        batch_size: images (image i has 1 + i % 2 classes).
        size: image side.
        crop: local view side.
        num_views: local views per image; 0: none (the plain-CAM pipeline).
        num_classes: foreground classes C.
        saliency: per image (or for all) whether it has a random saliency map
            (the shape transfer loss's images).
        materialize: also cut the views (``local_imgs``), which the data
            preprocessor then takes instead of slicing the image.
        seed: seeds the images, labels and the views' positions.

    Returns:
        ``dict(inputs=[uint8 (3, size, size)], data_samples=[...])``.
    """
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # LocalCropTransform draws the views from numpy's global generator
    if isinstance(saliency, bool):
        saliency = [saliency] * batch_size
    inputs, samples = [], []
    for i in range(batch_size):
        label = np.zeros(num_classes, np.float32)
        label[rng.choice(num_classes, size=min(1 + i % 2, num_classes), replace=False)] = 1
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
            if materialize:
                results["local_imgs"] = crop_views(results["img"], results["local_boxes"], crop)
        packed = PackL2GInputs()(results)
        inputs.append(packed["inputs"])
        samples.append(packed["data_samples"])
    return dict(inputs=inputs, data_samples=samples)

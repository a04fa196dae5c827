"""Resize and flip that move the saliency map together with the image.

mmcv's ``Resize`` and ``RandomFlip`` only transform ``gt_seg_map``; these
subclasses also transform ``gt_saliency`` (float, resized bilinearly), so the
saliency map follows the global view through every geometric transform.
mmseg's ``RandomCrop`` already crops every key in ``seg_fields``.
"""

import mmcv
import numpy as np
from mmcv.transforms import RandomFlip, Resize
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ResizeWithSaliency(Resize):
    """mmcv ``Resize`` that also resizes ``gt_saliency`` (bilinear) when present."""

    def transform(self, results: dict) -> dict:
        """Resizes image, boxes, masks and saliency."""
        results = super().transform(results)
        saliency = results.get("gt_saliency")
        if saliency is not None:
            height, width = results["img"].shape[:2]
            results["gt_saliency"] = np.clip(
                mmcv.imresize(
                    saliency, (width, height), interpolation="bilinear", backend=self.backend
                ),
                0.0,
                1.0,
            ).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class RandomFlipWithSaliency(RandomFlip):
    """mmcv ``RandomFlip`` that also flips ``gt_saliency`` when present."""

    def _flip(self, results: dict) -> None:
        super()._flip(results)
        saliency = results.get("gt_saliency")
        if saliency is not None:
            results["gt_saliency"] = mmcv.imflip(
                saliency, direction=results["flip_direction"]
            ).copy()

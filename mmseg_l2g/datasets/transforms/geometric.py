"""Resize and pad that move the saliency map together with the image.

``LoadSaliencyMap`` puts ``gt_saliency`` (float32 (H, W) in [0, 1]) in
``seg_fields``. mmseg's ``RandomCrop`` and ``RandomFlip`` act on every key
there (its flip gives the same arrays as a flip of its own would:
``tests/test_datasets/test_library_equivalence.py``), so the pipelines use
them. Resize and pad need the subclasses below (measured in the same test).
"""

from typing import Tuple

import mmcv
import numpy as np
from mmcv.image.geometric import pillow_interp_codes
from mmcv.transforms import Pad, Resize
from mmseg.registry import TRANSFORMS
from PIL import Image


def resize_saliency(
    saliency: np.ndarray, size: Tuple[int, int], interpolation: str, backend: str = "cv2"
) -> np.ndarray:
    """Resizes a float saliency map to ``size`` = (width, height), values kept in [0, 1].

    Args:
        saliency: float32 (H, W) map.
        size: the target (width, height).
        interpolation: an mmcv interpolation name ('nearest', 'bilinear', 'bicubic', ...).
        backend: 'cv2' or 'pillow' (PIL on a float 'F' image: its pixel grid is
            the one PIL uses for the uint8 image, so both stay aligned).

    Returns:
        float32 (height, width) map.
    """
    if backend == "pillow":
        image = Image.fromarray(np.asarray(saliency, dtype=np.float32))
        resized = np.asarray(image.resize(size, pillow_interp_codes[interpolation]))
    else:
        resized = mmcv.imresize(saliency, size, interpolation=interpolation, backend=backend)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


@TRANSFORMS.register_module()
class ResizeWithSaliency(Resize):
    """mmcv ``Resize`` that also resizes ``gt_saliency`` when present.

    With ``keep_ratio=True`` and ``scale=(long_cap, short)`` the image's short
    side becomes ``short`` (unless the long side would pass ``long_cap``), as
    mmcv's ``imrescale``; with ``keep_ratio=False`` the image is squashed to
    ``scale``. See mmcv's ``Resize`` for the other arguments.

    Why not mmseg's ``Resize`` (which resizes every ``seg_fields`` key): with
    ``backend='cv2'`` it gives the same saliency map (nearest, equal arrays),
    but with ``backend='pillow'`` (the VOC / COCO configs, the release's PIL
    bicubic) mmcv's PIL resize refuses the float32 map (``AssertionError``:
    uint8 only), and it resamples every field nearest, with no
    ``saliency_interpolation``.

    Args:
        saliency_interpolation: how the saliency map is resampled to the
            image's new size: ``'nearest'`` (the release's) or any mmcv
            interpolation name (e.g. ``'bilinear'``).
        **kwargs: mmcv ``Resize`` arguments (``scale``, ``keep_ratio``,
            ``interpolation``, ``backend``, ...).
    """

    def __init__(self, saliency_interpolation: str = "nearest", **kwargs) -> None:
        super().__init__(**kwargs)
        if saliency_interpolation not in pillow_interp_codes:
            raise ValueError(
                f"saliency_interpolation must be one of {sorted(pillow_interp_codes)}, "
                f"got {saliency_interpolation!r}"
            )
        self.saliency_interpolation = saliency_interpolation

    def transform(self, results: dict) -> dict:
        """Resizes image, boxes, masks and saliency."""
        results = super().transform(results)
        saliency = results.get("gt_saliency")
        if saliency is not None:
            height, width = results["img"].shape[:2]
            results["gt_saliency"] = resize_saliency(
                saliency, (width, height), self.saliency_interpolation, self.backend
            )
        return results

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, saliency_interpolation={self.saliency_interpolation})"


@TRANSFORMS.register_module()
class PadWithSaliency(Pad):
    """mmcv ``Pad`` that also pads ``gt_saliency`` (with 0: not salient) when present.

    ``Pad(size=(w, h))`` pads the bottom and right of an image smaller than
    ``size``; an image of that size is left as it is. mmseg registers mmcv's
    ``Pad``, which pads ``gt_seg_map`` only: the saliency map would keep its
    smaller size.
    """

    def _pad_seg(self, results: dict) -> None:
        super()._pad_seg(results)
        saliency = results.get("gt_saliency")
        if saliency is not None:
            results["gt_saliency"] = mmcv.impad(
                saliency, shape=results["pad_shape"][:2], pad_val=0.0
            ).astype(np.float32)

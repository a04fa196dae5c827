"""PILColorJitter: torchvision's ``ColorJitter`` on the pipeline's BGR arrays."""

from typing import Sequence, Union

import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter
from mmseg.registry import TRANSFORMS
from PIL import Image


def adjust_hue_bgr(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Shifts the hue of a uint8 BGR image as torchvision's PIL ``adjust_hue``.

    The hue channel of PIL's HSV image (0..255) is shifted by
    ``trunc(hue_factor * 255)`` modulo 256. mmcv 2.1's ``adjust_hue`` does the
    same arithmetic but raises ``OverflowError`` under NumPy 2 for any
    negative factor (``np.uint8(-25.5)``), so it cannot serve here.

    Args:
        img: uint8 (H, W, 3) BGR image.
        hue_factor: shift in [-0.5, 0.5] of a full turn.

    Returns:
        uint8 (H, W, 3) BGR image.
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor must be in [-0.5, 0.5], got {hue_factor}")
    hue, saturation, value = Image.fromarray(img[..., ::-1], mode="RGB").convert("HSV").split()
    shift = int(hue_factor * 255) % 256
    hue = hue.point([(level + shift) % 256 for level in range(256)])
    hsv = Image.merge("HSV", (hue, saturation, value))
    return np.ascontiguousarray(np.asarray(hsv.convert("RGB"))[..., ::-1])


@TRANSFORMS.register_module()
class PILColorJitter(ColorJitter):
    """mmpretrain's ``ColorJitter`` with torchvision's PIL arithmetic on BGR images.

    ``PILColorJitter(0.3, 0.3, 0.3, 0.1)`` is torchvision's
    ``ColorJitter(0.3, 0.3, 0.3, 0.1)`` (the release's): brightness, contrast
    and saturation factors uniform in [0.7, 1.3], a hue shift uniform in
    [-0.1, 0.1], applied in a random order, each through PIL's
    ``ImageEnhance`` / HSV on the RGB image. Ranges, their checks and the
    random draw are mmpretrain's; the hue shift is :func:`adjust_hue_bgr`,
    which works for negative factors under NumPy 2.

    Args:
        brightness: factor range (min, max), or b for [max(0, 1 - b), 1 + b].
        contrast: as ``brightness``.
        saturation: as ``brightness``.
        hue: shift range (min, max) in [-0.5, 0.5], or h for [-h, h].
    """

    def __init__(
        self,
        brightness: Union[float, Sequence[float]] = 0.0,
        contrast: Union[float, Sequence[float]] = 0.0,
        saturation: Union[float, Sequence[float]] = 0.0,
        hue: Union[float, Sequence[float]] = 0.0,
    ) -> None:
        super().__init__(brightness, contrast, saturation, hue, backend="pillow")

    def transform(self, results: dict) -> dict:
        """Jitters ``results['img']`` (uint8 BGR)."""
        order, brightness, contrast, saturation, hue = self._rand_params()
        img = results["img"]
        for index in order:
            if index == 0 and brightness is not None:
                img = mmcv.adjust_brightness(img, brightness, backend="pillow")
            elif index == 1 and contrast is not None:
                img = mmcv.adjust_contrast(img, contrast, backend="pillow")
            elif index == 2 and saturation is not None:
                img = mmcv.adjust_color(img, alpha=saturation, backend="pillow")
            elif index == 3 and hue is not None:
                img = adjust_hue_bgr(img, hue)
        results["img"] = np.ascontiguousarray(img)
        return results

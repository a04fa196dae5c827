"""Loading transforms of the WSSS pipeline: image, saliency map, mask.

All decoding goes through PIL with an explicit ``load()``, so a missing,
unreadable or truncated file fails at first read with an error naming it
(unless the user has set ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``, which
makes PIL pad truncated files silently).
"""

from __future__ import annotations

import os.path as osp
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger
from mmseg.registry import TRANSFORMS
from PIL import Image

from ..label_io import read_index_mask

# PIL modes converted to RGB; grey modes are replicated to 3 channels.
_GREY_MODES = ("L", "1")
_COLOUR_MODES = frozenset("RGB RGBA RGBa RGBX P PA LA La CMYK YCbCr LAB HSV".split())
_SALIENCY_MODES = ("L", "1", "P", "LA", "RGB", "RGBA")


def _open_image(path: str, what: str) -> Image.Image:
    """Opens and fully decodes an image; errors name the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    image = None
    try:
        image = Image.open(path)
        image.load()
    except OSError as exc:  # includes PIL.UnidentifiedImageError and truncation
        if image is not None:
            image.close()
        raise OSError(f"{path}: cannot read {what}, unreadable or truncated file ({exc})") from exc
    return image


def read_bgr_image(path: str) -> np.ndarray:
    """Reads an image as uint8 BGR (H, W, 3).

    Grey images are replicated to 3 channels; alpha is dropped; palette,
    CMYK and other colour modes are converted to RGB first.

    Args:
        path: the image file.

    Returns:
        uint8 array (H, W, 3) in BGR order.

    Raises:
        FileNotFoundError: the file does not exist.
        OSError: the file is unreadable or truncated.
        ValueError: the image mode has no 8-bit colour meaning (e.g. 16-bit).
    """
    with _open_image(path, "image") as image:
        mode = image.mode
        if mode in _GREY_MODES:
            grey = np.asarray(image.convert("L"), dtype=np.uint8)
            return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
        if mode not in _COLOUR_MODES:
            raise ValueError(
                f"{path}: image mode {mode!r} is not supported; expected an 8-bit grey, "
                "RGB or RGBA image"
            )
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def read_saliency(path: str) -> np.ndarray:
    """Reads a grey saliency PNG as float32 (H, W) in [0, 1] (0..255 -> 0..1).

    Args:
        path: the saliency file.

    Returns:
        float32 array (H, W).
    """
    with _open_image(path, "saliency map") as image:
        if image.mode not in _SALIENCY_MODES:
            raise ValueError(
                f"{path}: saliency map mode {image.mode!r} is not supported; expected an "
                "8-bit grey PNG"
            )
        grey = np.asarray(image.convert("L"), dtype=np.float32)
    return grey / 255.0


@TRANSFORMS.register_module()
class LoadWSSSImage(BaseTransform):
    """Loads ``img_path`` as uint8 BGR (H, W, 3), as mmcv's ``LoadImageFromFile``.

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``,
    ``ori_shape`` (both (H, W)).

    Grey images become 3 channels, 4-channel images lose their alpha. A
    missing, unreadable or truncated file raises an error naming it. Pixels
    are taken as stored (no EXIF rotation), so masks and saliency maps stay
    aligned with the image.

    Args:
        to_float32: return a float32 image instead of uint8.
    """

    def __init__(self, to_float32: bool = False) -> None:
        self.to_float32 = to_float32

    def transform(self, results: dict) -> dict:
        """Loads the image into ``results``."""
        img = read_bgr_image(results["img_path"])
        if self.to_float32:
            img = img.astype(np.float32)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(to_float32={self.to_float32})"


@TRANSFORMS.register_module()
class LoadSaliencyMap(BaseTransform):
    """Loads the grey saliency map of ``sal_path`` as ``gt_saliency``.

    ``gt_saliency`` is float32 (H, W) in [0, 1] and is appended to
    ``seg_fields`` so geometric transforms move it with the image. When
    ``sal_path`` is ``None`` (the image has no saliency map) nothing happens.
    Run it after the image is loaded.

    Args:
        on_size_mismatch: what to do when the map's size differs from the
            image's: ``'resize'`` (bilinear, to the image size; logged once
            per transform) or ``'error'`` (``ValueError`` naming the file and
            both sizes).
    """

    def __init__(self, on_size_mismatch: str = "resize") -> None:
        if on_size_mismatch not in ("resize", "error"):
            raise ValueError(
                f"on_size_mismatch must be 'resize' or 'error', got {on_size_mismatch!r}"
            )
        self.on_size_mismatch = on_size_mismatch
        self._logged_resize = False

    def transform(self, results: dict) -> dict:
        """Loads the saliency map into ``results`` when the image has one."""
        path: Optional[str] = results.get("sal_path")
        if path is None:
            return results
        if "img" not in results:
            raise KeyError("LoadSaliencyMap needs the image loaded first (no 'img' in results)")
        saliency = read_saliency(path)
        height, width = results["img"].shape[:2]
        if saliency.shape != (height, width):
            saliency = self._fit_to_image(saliency, path, height, width)
        results["gt_saliency"] = saliency
        seg_fields = results.setdefault("seg_fields", [])
        if "gt_saliency" not in seg_fields:
            seg_fields.append("gt_saliency")
        return results

    def _fit_to_image(self, saliency: np.ndarray, path: str, height: int, width: int) -> np.ndarray:
        """Resizes a saliency map of another size (or raises)."""
        sal_height, sal_width = saliency.shape
        sizes = f"saliency map is {sal_height}x{sal_width}, image is {height}x{width}"
        if self.on_size_mismatch == "error":
            raise ValueError(f"{path}: {sizes} (HxW)")
        if not self._logged_resize:
            MMLogger.get_current_instance().warning(
                f"{path}: {sizes} (HxW); resizing bilinearly to the image size "
                "(logged once; other mismatched maps are resized the same way)"
            )
            self._logged_resize = True
        resized = Image.fromarray(saliency).resize((width, height), Image.BILINEAR)
        return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(on_size_mismatch={self.on_size_mismatch!r})"


@TRANSFORMS.register_module()
class LoadWSSSAnnotations(BaseTransform):
    """Loads the ground-truth mask of ``seg_map_path`` as ``gt_seg_map``.

    For validation and pseudo-mask scoring only, never for training. Palette
    PNGs give their class indices (not colours). When ``seg_map_path`` is
    ``None`` nothing happens. When the image is loaded, a mask of another size
    than the original image (``ori_shape``; the mask is not resized, as in
    mmseg, where predictions are scored at the original size) raises
    ``ValueError`` naming the file and both sizes.
    """

    def transform(self, results: dict) -> dict:
        """Loads the mask into ``results`` when the image has one."""
        path: Optional[str] = results.get("seg_map_path")
        if path is None:
            return results
        mask = read_index_mask(path)
        if "img" in results:
            height, width = tuple(results.get("ori_shape") or results["img"].shape)[:2]
            if mask.shape != (height, width):
                raise ValueError(
                    f"{path}: mask is {mask.shape[0]}x{mask.shape[1]}, image is "
                    f"{height}x{width} (HxW)"
                )
        results["gt_seg_map"] = mask
        seg_fields = results.setdefault("seg_fields", [])
        if "gt_seg_map" not in seg_fields:
            seg_fields.append("gt_seg_map")
        return results

"""Loading transforms of the WSSS pipeline: image, saliency map, mask.

Files are read through MMEngine's file backends (``backend_args``: local disk
by default, object storage where configured) and decoded with PIL with an
explicit ``load()``, so a missing, unreadable or truncated file fails at first
read with an error naming it (unless the user has set
``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``, which makes PIL pad truncated files
silently). Images follow their EXIF orientation, as mmcv's
``LoadImageFromFile`` (mmseg's stage-3 loader) does; saliency maps and masks
are taken as stored, as mmseg loads annotations.
"""

from __future__ import annotations

import io
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine import fileio
from mmengine.logging import MMLogger
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageOps

from ..label_io import read_index_mask
from .geometric import resize_saliency

# PIL modes converted to RGB; grey modes are replicated to 3 channels.
_GREY_MODES = ("L", "1")
_COLOUR_MODES = frozenset("RGB RGBA RGBa RGBX P PA LA La CMYK YCbCr LAB HSV".split())
_SALIENCY_MODES = ("L", "1", "P", "LA", "RGB", "RGBA")


def _open_image(path: str, what: str, backend_args: Optional[dict] = None) -> Image.Image:
    """Reads and fully decodes an image file; errors name the file.

    Args:
        path: the file (a local path or a URI of a configured file backend).
        what: what the file holds, for error messages ("image", "saliency map").
        backend_args: MMEngine file backend arguments (None: inferred from the path).

    Returns:
        The decoded PIL image (the caller closes it).
    """
    try:
        data = fileio.get(path, backend_args=backend_args)
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise FileNotFoundError(f"{what} not found: {path}") from exc
    image = None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except OSError as exc:  # includes PIL.UnidentifiedImageError and truncation
        if image is not None:
            image.close()
        raise OSError(f"{path}: cannot read {what}, unreadable or truncated file ({exc})") from exc
    return image


def read_bgr_image(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Reads an image as uint8 BGR (H, W, 3), turned by its EXIF orientation.

    Grey images are replicated to 3 channels; alpha is dropped; palette,
    CMYK and other colour modes are converted to RGB first.

    Why not ``mmcv.imfrombytes(..., backend='pillow')``: it gives the same
    pixels for grey, bilevel, palette, RGB, RGBA and CMYK files and EXIF
    orientations, but pastes grey + alpha images onto a (124, 117, 104)
    canvas (ours: the grey value, as for RGBA), saturates 16-bit images to
    8 bits (ours: refused), returns a non-contiguous view, and its error on a
    truncated file does not name the file
    (``tests/test_datasets/test_library_equivalence.py``).

    Args:
        path: the image file.
        backend_args: MMEngine file backend arguments (None: inferred from the path).

    Returns:
        uint8 array (H, W, 3) in BGR order.

    Raises:
        FileNotFoundError: the file does not exist.
        OSError: the file is unreadable or truncated.
        ValueError: the image mode has no 8-bit colour meaning (e.g. 16-bit).
    """
    with _open_image(path, "image", backend_args) as stored:
        mode = stored.mode
        if mode not in _GREY_MODES and mode not in _COLOUR_MODES:
            raise ValueError(
                f"{path}: image mode {mode!r} is not supported; expected an 8-bit grey, "
                "RGB or RGBA image"
            )
        image = ImageOps.exif_transpose(stored)
        if mode in _GREY_MODES:
            grey = np.asarray(image.convert("L"), dtype=np.uint8)
            return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def read_saliency(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Reads a grey saliency PNG as float32 (H, W) in [0, 1] (0..255 -> 0..1).

    Args:
        path: the saliency file.
        backend_args: MMEngine file backend arguments (None: inferred from the path).

    Returns:
        float32 array (H, W).
    """
    with _open_image(path, "saliency map", backend_args) as image:
        if image.mode not in _SALIENCY_MODES:
            raise ValueError(
                f"{path}: saliency map mode {image.mode!r} is not supported; expected an "
                "8-bit grey PNG"
            )
        grey = np.asarray(image.convert("L"), dtype=np.float32)
    return grey / 255.0


@TRANSFORMS.register_module()
class LoadWSSSImage(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with strict decoding and errors naming the file.

    Loads ``img_path`` as uint8 BGR (H, W, 3) through MMEngine's file backends
    (``backend_args``), turned by its EXIF orientation as mmcv's loader does
    with ``color_type='color'``. Grey images become 3 channels, 4-channel
    images lose their alpha, 16-bit images raise ``ValueError``; a missing,
    unreadable or truncated file raises an error naming it.

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``,
    ``ori_shape`` (both (H, W)).

    Args:
        to_float32: return a float32 image instead of uint8.
        ignore_empty: return None instead of raising when the file is
            missing or cannot be decoded (as mmcv's loader).
        backend_args: MMEngine file backend arguments (None: local disk or
            the backend the path names).
    """

    def __init__(
        self,
        to_float32: bool = False,
        ignore_empty: bool = False,
        *,
        backend_args: Optional[dict] = None,
    ) -> None:
        super().__init__(
            to_float32=to_float32,
            color_type="color",
            imdecode_backend="pillow",
            ignore_empty=ignore_empty,
            backend_args=backend_args,
        )

    def transform(self, results: dict) -> Optional[dict]:
        """Loads the image into ``results`` (None when ignored as empty)."""
        try:
            img = read_bgr_image(results["img_path"], self.backend_args)
        except (OSError, ValueError):
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(to_float32={self.to_float32}, "
            f"ignore_empty={self.ignore_empty}, backend_args={self.backend_args})"
        )


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
        backend_args: MMEngine file backend arguments (None: local disk or
            the backend the path names).
    """

    def __init__(
        self, on_size_mismatch: str = "resize", *, backend_args: Optional[dict] = None
    ) -> None:
        if on_size_mismatch not in ("resize", "error"):
            raise ValueError(
                f"on_size_mismatch must be 'resize' or 'error', got {on_size_mismatch!r}"
            )
        self.on_size_mismatch = on_size_mismatch
        self.backend_args = None if backend_args is None else dict(backend_args)
        self._logged_resize = False

    def transform(self, results: dict) -> dict:
        """Loads the saliency map into ``results`` when the image has one."""
        path: Optional[str] = results.get("sal_path")
        if path is None:
            return results
        if "img" not in results:
            raise KeyError("LoadSaliencyMap needs the image loaded first (no 'img' in results)")
        saliency = read_saliency(path, self.backend_args)
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
        return resize_saliency(saliency, (width, height), "bilinear", backend="pillow")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(on_size_mismatch={self.on_size_mismatch!r}, "
            f"backend_args={self.backend_args})"
        )


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

"""The deterministic encoders of the dataset's files (atomic writes: :mod:`mmseg_l2g.io`)."""

import io
from typing import Sequence

import numpy as np
from PIL import Image

from ... import io as io_layer
from ...io import atomic_write_bytes, atomic_write_text  # noqa: F401  (used by generator, preview)
from .classes import IGNORE_COLOUR

JPEG_QUALITY = 95


def encode_jpeg(image: np.ndarray) -> bytes:
    """Encodes an RGB uint8 (H, W, 3) image as JPEG (quality 95, no chroma subsampling)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return buffer.getvalue()


def encode_palette_png(mask: np.ndarray, palette: Sequence[Sequence[int]]) -> bytes:
    """Encodes a uint8 class mask as a palette ('P') PNG, 255 in VOC's border colour.

    Args:
        mask: uint8 (H, W) class values.
        palette: RGB colours of values 0..len(palette)-1 (the rest black).
    """
    return io_layer.encode_palette_png(mask, palette, fill=(0, 0, 0), ignore_colour=IGNORE_COLOUR)


def encode_grey_png(grey: np.ndarray) -> bytes:
    """Encodes a uint8 (H, W) array as a grey ('L') PNG."""
    buffer = io.BytesIO()
    image = Image.frombytes("L", (grey.shape[1], grey.shape[0]), np.ascontiguousarray(grey))
    image.save(buffer, format="PNG")
    return buffer.getvalue()

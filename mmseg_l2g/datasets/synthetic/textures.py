"""Colours and textures of the synthetic images: muted colours, stripes, smooth backgrounds."""

import colorsys
from functools import lru_cache
from typing import Optional

import numpy as np
from PIL import Image

# Bodies, clutter and background never exceed this saturation; marks are fully saturated.
MAX_MUTED_SATURATION = 0.4


def muted_colour(rng: np.random.Generator, value_range: tuple[float, float]) -> np.ndarray:
    """Samples an unsaturated RGB colour.

    Args:
        rng: random generator.
        value_range: range of the HSV value (brightness), 0..1.

    Returns:
        float array (3,) in 0..255.
    """
    hue = rng.uniform(0.0, 1.0)
    saturation = rng.uniform(0.05, MAX_MUTED_SATURATION)
    value = rng.uniform(*value_range)
    return np.array(colorsys.hsv_to_rgb(hue, saturation, value)) * 255.0


@lru_cache(maxsize=4)
def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns read-only float32 (y, x) coordinate grids of a square image."""
    y, x = np.meshgrid(
        np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32), indexing="ij"
    )
    y.flags.writeable = False
    x.flags.writeable = False
    return y, x


def stripes(
    size: int,
    angle_deg: float,
    period_px: float,
    phase: float,
    box: Optional[tuple[int, int, int, int]] = None,
) -> np.ndarray:
    """Returns near-square-wave stripes in [0, 1], float32.

    Args:
        size: image side.
        angle_deg: direction of the stripe normal, degrees.
        period_px: stripe period in pixels.
        phase: phase offset, radians.
        box: (y0, x0, y1, x1) window of the image to compute (end exclusive); the
            whole (size, size) image when None.
    """
    y, x = pixel_grid(size)
    if box is not None:
        y, x = y[box[0] : box[2], box[1] : box[3]], x[box[0] : box[2], box[1] : box[3]]
    angle = np.deg2rad(angle_deg)
    frequency = np.float32(2.0 * np.pi / period_px)
    wave = np.sin(
        (x * np.float32(np.cos(angle)) + y * np.float32(np.sin(angle))) * frequency
        + np.float32(phase)
    )
    return np.clip(np.float32(1.5) * wave, -1.0, 1.0) * np.float32(0.5) + np.float32(0.5)


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Returns the (y0, x0, y1, x1) box (end exclusive) of a non-empty boolean mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def smooth_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """Returns a smooth muted colour field, float32 (size, size, 3) in 0..255.

    Random muted colours on a coarse grid (3..5 cells a side), upsampled bicubically.
    """
    cells = int(rng.integers(3, 6))
    colours = np.stack([muted_colour(rng, (0.3, 0.8)) for _ in range(cells * cells)])
    coarse = Image.fromarray(colours.reshape(cells, cells, 3).round().astype(np.uint8), "RGB")
    return np.asarray(coarse.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)


def shade(base_colour: np.ndarray, texture: np.ndarray, contrast: float) -> np.ndarray:
    """Darkens a colour by a texture: ``colour * (1 - contrast * texture)``, (H, W, 3)."""
    return base_colour[None, None, :].astype(np.float32) * (1.0 - contrast * texture)[..., None]

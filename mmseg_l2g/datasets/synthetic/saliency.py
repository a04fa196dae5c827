"""An imperfect saliency map, like an off-the-shelf saliency model's output."""

from typing import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter

from .design import SyntheticDesign
from .textures import pixel_grid


def imperfect_saliency(
    rng: np.random.Generator,
    foreground: np.ndarray,
    clutter_masks: Sequence[np.ndarray],
    design: SyntheticDesign,
) -> np.ndarray:
    """Turns the true foreground into a blurred saliency map with holes and false positives.

    Args:
        rng: random generator.
        foreground: boolean (S, S) union of the objects.
        clutter_masks: boolean (S, S) masks of clutter blobs (candidate false positives).
        design: the design (blur, hole and false-positive probabilities).

    Returns:
        uint8 (S, S) saliency, 0..255.
    """
    size = foreground.shape[0]
    saliency = foreground.astype(np.float32) * np.float32(rng.uniform(0.85, 1.0))
    fg_pixels = np.flatnonzero(foreground)
    bg_pixels = np.flatnonzero(~foreground)
    for _ in range(2):
        if rng.random() < design.saliency_hole_prob and fg_pixels.size:
            centre = fg_pixels[rng.integers(fg_pixels.size)]
            radii = rng.uniform(0.04, 0.08, size=2) * size
            saliency[_ellipse(size, centre, radii)] = 0.0
    for _ in range(2):
        if rng.random() < design.saliency_false_positive_prob and bg_pixels.size:
            if clutter_masks and rng.random() < 0.5:
                region = clutter_masks[int(rng.integers(len(clutter_masks)))]
            else:
                centre = bg_pixels[rng.integers(bg_pixels.size)]
                region = _ellipse(size, centre, rng.uniform(0.04, 0.1, size=2) * size)
            saliency[region & ~foreground] = rng.uniform(0.4, 0.9)
    sigma = design.saliency_blur * size
    if sigma > 0:
        saliency = gaussian_filter(saliency, sigma=sigma, mode="nearest")
    return np.clip(np.rint(saliency * 255.0), 0, 255).astype(np.uint8)


def _ellipse(size: int, flat_centre: int, radii: np.ndarray) -> np.ndarray:
    """Boolean mask of an axis-aligned ellipse centred at a flat pixel index."""
    cy, cx = divmod(int(flat_centre), size)
    y, x = pixel_grid(size)
    return ((x - cx) / radii[0]) ** 2 + ((y - cy) / radii[1]) ** 2 <= 1.0

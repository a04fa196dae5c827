"""A saliency map that errs like an off-the-shelf salient-object detector.

The error model (each kind set by a ``SyntheticDesign`` field, drawn from the
sample's own random generator, so the same seed gives the same map):

1. Low-contrast parts are missed. Each object pixel's saliency is a ramp of its
   local contrast: the distance in RGB between the Gaussian-smoothed image
   (sigma ``saliency_contrast_sigma`` of the side) and the smoothed scene without
   the objects. Below ``saliency_contrast_range[0]`` grey levels the pixel is 0,
   above ``[1]`` it keeps the object's full strength (0.85..1). Objects over a
   background of a similar colour therefore lose the parts that blend in.
2. Salient objects of no class are lit. Each clutter blob (never labelled) is
   lit at 0.6..1 with probability ``saliency_false_positive_prob``.
3. Blurred, bleeding edges. The map is dilated by a radius drawn in
   ``0..saliency_bleed`` of the side (the map spills onto the background), then
   blurred with a Gaussian of sigma ``saliency_blur`` of the side.
4. Small objects are sometimes missed. An object whose visible area is below
   ``saliency_small_area`` of the image is dropped from the map with probability
   ``saliency_small_miss_prob``.
5. Holes. Each of two elliptical holes (0.04..0.08 of the side) is cut into the
   objects with probability ``saliency_hole_prob``.
"""

from typing import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter, grey_dilation

from .design import SyntheticDesign
from .textures import pixel_grid

# Strength of a lit object (before its contrast ramp) and of a lit clutter blob.
_OBJECT_GAIN = (0.85, 1.0)
_CLUTTER_GAIN = (0.6, 1.0)


def local_contrast(image: np.ndarray, backdrop: np.ndarray, sigma: float) -> np.ndarray:
    """RGB distance between the smoothed image and the smoothed scene without the objects.

    Args:
        image: float (S, S, 3) image with the objects, 0..255.
        backdrop: float (S, S, 3) the same scene before the objects were painted.
        sigma: Gaussian sigma in pixels (0: no smoothing).

    Returns:
        float32 (S, S) contrast in grey levels.
    """
    difference = image.astype(np.float32) - backdrop.astype(np.float32)
    if sigma > 0:
        difference = gaussian_filter(difference, sigma=(sigma, sigma, 0), mode="nearest")
    return np.sqrt((difference**2).sum(axis=-1)).astype(np.float32)


def contrast_ramp(contrast: np.ndarray, contrast_range: tuple[float, float]) -> np.ndarray:
    """0 below ``contrast_range[0]``, 1 above ``[1]``, linear between (float32)."""
    low, high = contrast_range
    if high <= low:
        return (contrast >= low).astype(np.float32)
    return np.clip((contrast - low) / (high - low), 0.0, 1.0).astype(np.float32)


def imperfect_saliency(
    rng: np.random.Generator,
    image: np.ndarray,
    backdrop: np.ndarray,
    objects: Sequence[np.ndarray],
    clutter_masks: Sequence[np.ndarray],
    design: SyntheticDesign,
) -> np.ndarray:
    """Makes the saliency map of a scene with the detector-like errors of the module doc.

    Args:
        rng: random generator.
        image: float (S, S, 3) rendered image (before pixel noise).
        backdrop: float (S, S, 3) the scene before the objects were painted.
        objects: boolean (S, S) visible masks of the objects.
        clutter_masks: boolean (S, S) masks of clutter blobs (no class).
        design: the design (the ``saliency_*`` fields).

    Returns:
        uint8 (S, S) saliency, 0..255.
    """
    size = image.shape[0]
    foreground = np.zeros((size, size), dtype=bool)
    for visible in objects:
        foreground |= visible
    strength = contrast_ramp(
        local_contrast(image, backdrop, design.saliency_contrast_sigma * size),
        design.saliency_contrast_range,
    )
    saliency = np.zeros((size, size), dtype=np.float32)
    for visible in objects:
        gain = np.float32(rng.uniform(*_OBJECT_GAIN))
        small = np.count_nonzero(visible) < design.saliency_small_area * size * size
        missed = rng.random() < design.saliency_small_miss_prob
        if not (small and missed):
            saliency[visible] = gain * strength[visible]
    fg_pixels = np.flatnonzero(foreground)
    for _ in range(2):
        if rng.random() < design.saliency_hole_prob and fg_pixels.size:
            centre = fg_pixels[rng.integers(fg_pixels.size)]
            saliency[_ellipse(size, centre, rng.uniform(0.04, 0.08, size=2) * size)] = 0.0
    for region in clutter_masks:
        if rng.random() < design.saliency_false_positive_prob:
            lit = region & ~foreground
            saliency[lit] = np.maximum(saliency[lit], rng.uniform(*_CLUTTER_GAIN))
    radius = rng.uniform(0.0, design.saliency_bleed) * size
    if radius >= 1.0:
        saliency = grey_dilation(saliency, footprint=_disc(int(round(radius))))
    sigma = design.saliency_blur * size
    if sigma > 0:
        saliency = gaussian_filter(saliency, sigma=sigma, mode="nearest")
    return np.clip(np.rint(saliency * 255.0), 0, 255).astype(np.uint8)


def _disc(radius: int) -> np.ndarray:
    """Boolean (2r+1, 2r+1) disc footprint."""
    offsets = np.arange(-radius, radius + 1)
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2


def _ellipse(size: int, flat_centre: int, radii: np.ndarray) -> np.ndarray:
    """Boolean mask of an axis-aligned ellipse centred at a flat pixel index."""
    cy, cx = divmod(int(flat_centre), size)
    y, x = pixel_grid(size)
    return ((x - cx) / radii[0]) ** 2 + ((y - cy) / radii[1]) ** 2 <= 1.0

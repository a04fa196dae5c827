"""Composes one synthetic sample: background, clutter, occluding objects with marks."""

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.ndimage import maximum_filter, minimum_filter

from ...io import IGNORE_INDEX
from .classes import ClassAppearance, class_appearances
from .design import SyntheticDesign
from .saliency import imperfect_saliency
from .shapes import SHAPE_KINDS, mark_shape_mask, rasterize, sample_outline
from .textures import bounding_box, muted_colour, shade, smooth_field, stripes

_PLACEMENT_TRIES = 30
_MARK_CANDIDATES = 20
_MARK_MARGIN = 2  # pixels of body kept around a mark (keeps it clear of the border band)


@dataclass
class PlacedObject:
    """One object of a sample, in drawing order (later objects occlude earlier ones).

    Attributes:
        class_index: 0-based foreground class (mask value ``class_index + 1``).
        texture_class: the class whose stripes the body wears.
        shape: the body's shape kind.
        body: boolean (S, S) mask of the whole body.
        visible: boolean (S, S) mask of the body's part left visible by later objects.
        mark_box: (y0, x0, y1, x1) of the square mark, end exclusive.
    """

    class_index: int
    texture_class: int
    shape: str
    body: np.ndarray
    visible: np.ndarray
    mark_box: tuple[int, int, int, int]


@dataclass
class SyntheticSample:
    """A rendered sample.

    Attributes:
        image: uint8 (S, S, 3) RGB.
        mask: uint8 (S, S): 0 background, c in 1..C class c, 255 object borders.
        saliency: uint8 (S, S), 0..255.
        labels: sorted 0-based indices of the classes with pixels in ``mask``.
        objects: the placed objects, in drawing order.
        clutter: boolean (S, S) masks of the clutter blobs (no class).
    """

    image: np.ndarray
    mask: np.ndarray
    saliency: np.ndarray
    labels: tuple[int, ...]
    objects: list[PlacedObject]
    clutter: list[np.ndarray]


def render_sample(
    rng: np.random.Generator, size: int, num_classes: int, design: SyntheticDesign
) -> SyntheticSample:
    """Renders one image with its mask and saliency map.

    Args:
        rng: random generator; the sample depends on nothing else but the arguments.
        size: image side in pixels.
        num_classes: number of foreground classes C.
        design: the image design.
    """
    appearances = class_appearances(num_classes, design.class_offset)
    image = _background(rng, size, design)
    clutter = _draw_clutter(rng, image, design)
    backdrop = image.copy()
    objects: list[PlacedObject] = []
    for class_index in _sample_object_classes(rng, num_classes, design):
        placed = _place_object(rng, class_index, objects, size, num_classes, design)
        if placed is not None:
            objects.append(placed)
            _paint_object(rng, image, placed, appearances, design)
    visible = [obj.visible for obj in objects]
    saliency = imperfect_saliency(rng, image, backdrop, visible, clutter, design)
    if design.noise_std > 0:
        image += np.float32(design.noise_std) * rng.standard_normal(image.shape, np.float32)
    instance = np.zeros((size, size), dtype=np.int32)
    for number, obj in enumerate(objects, start=1):
        instance[obj.body] = number
    mask = _class_mask(instance, objects)
    present = np.unique(mask)
    labels = tuple(int(v) - 1 for v in present if 0 < v < IGNORE_INDEX)
    image_u8 = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return SyntheticSample(image_u8, mask, saliency, labels, objects, clutter)


def _background(rng: np.random.Generator, size: int, design: SyntheticDesign) -> np.ndarray:
    image = smooth_field(rng, size).copy()
    if rng.random() < design.background_stripe_prob:
        texture = stripes(
            size, rng.uniform(0.0, 180.0), rng.uniform(0.035, 0.09) * size, rng.uniform(0, 6.3)
        )
        image *= (1.0 - rng.uniform(0.1, 0.25) * texture)[..., None]
    return image


def _draw_clutter(
    rng: np.random.Generator, image: np.ndarray, design: SyntheticDesign
) -> list[np.ndarray]:
    """Paints distractor blobs (background, never labelled) and returns their masks."""
    size = image.shape[0]
    low, high = design.distractor_count_range
    masks = []
    for _ in range(int(rng.integers(low, high + 1))):
        kind = SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))]
        diameter = rng.uniform(*design.distractor_size_range) * size
        region = rasterize(sample_outline(rng, kind, rng.uniform(0, size, 2), diameter), size)
        if not region.any():
            continue
        colour = muted_colour(rng, (0.3, 0.9))
        if rng.random() < design.distractor_stripe_prob:
            box = bounding_box(region)
            window = (slice(box[0], box[2]), slice(box[1], box[3]))
            texture = stripes(
                size,
                rng.uniform(0, 180.0),
                rng.uniform(0.035, 0.09) * size,
                rng.uniform(0, 6.3),
                box,
            )
            fill = shade(colour, texture, rng.uniform(0.2, 0.6))
            image[window][region[window]] = fill[region[window]]
        else:
            image[region] = colour
        masks.append(region)
    return masks


def _sample_object_classes(
    rng: np.random.Generator, num_classes: int, design: SyntheticDesign
) -> list[int]:
    """Chooses 1..3 distinct classes and 1..max_objects objects (each class at least once)."""
    most = min(num_classes, len(design.class_count_weights), design.max_objects)
    weights = np.asarray(design.class_count_weights[:most], dtype=np.float64)
    count = 1 + int(rng.choice(most, p=weights / weights.sum()))
    classes = [int(c) for c in rng.choice(num_classes, size=count, replace=False)]
    num_objects = int(rng.integers(count, max(count, design.max_objects) + 1))
    extra = [int(c) for c in rng.choice(classes, size=num_objects - count)]
    return classes + extra


def _place_object(
    rng: np.random.Generator,
    class_index: int,
    earlier: list[PlacedObject],
    size: int,
    num_classes: int,
    design: SyntheticDesign,
) -> Optional[PlacedObject]:
    """Samples a body and a mark position that leave earlier objects visible enough.

    Returns None when no placement is found (the object is left out).
    """
    side = max(3, round(design.mark_size_ratio * size))
    least_area = 4 * (side + 2 * _MARK_MARGIN) ** 2
    for _ in range(_PLACEMENT_TRIES):
        kind = SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))]
        diameter = rng.uniform(*design.body_size_range) * size
        centre = rng.uniform(0.1, 0.9, size=2) * size
        body = rasterize(sample_outline(rng, kind, centre, diameter), size)
        if np.count_nonzero(body) < least_area or not _keeps_visible(body, earlier, design):
            continue
        box = _mark_box(rng, body, side, design.mark_offset)
        if box is None:
            continue
        texture_class = class_index
        if num_classes > 1 and rng.random() >= design.body_texture_reliability:
            other = int(rng.integers(num_classes - 1))
            texture_class = other + 1 if other >= class_index else other
        for obj in earlier:
            obj.visible &= ~body
        return PlacedObject(class_index, texture_class, kind, body, body.copy(), box)
    return None


def _keeps_visible(body: np.ndarray, earlier: list[PlacedObject], design: SyntheticDesign) -> bool:
    """True if a new body leaves every earlier mark uncovered and enough of each object."""
    for obj in earlier:
        y0, x0, y1, x1 = obj.mark_box
        m = _MARK_MARGIN
        if body[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m].any():
            return False
        remaining = np.count_nonzero(obj.visible & ~body)
        if remaining < design.min_visible_fraction * np.count_nonzero(obj.body):
            return False
    return True


def _mark_box(
    rng: np.random.Generator, body: np.ndarray, side: int, offset: float
) -> Optional[tuple[int, int, int, int]]:
    """Picks a mark square inside the body, at least ``offset`` radii from its centre."""
    ys, xs = np.nonzero(body)
    radius = np.sqrt(ys.size / np.pi)
    distance = np.hypot(ys - ys.mean(), xs - xs.mean())
    candidates = np.flatnonzero(distance >= offset * radius)
    if candidates.size == 0:
        return None
    size = body.shape[0]
    m = _MARK_MARGIN
    for pick in rng.integers(candidates.size, size=_MARK_CANDIDATES):
        y0 = int(ys[candidates[pick]]) - side // 2
        x0 = int(xs[candidates[pick]]) - side // 2
        if y0 - m < 0 or x0 - m < 0 or y0 + side + m > size or x0 + side + m > size:
            continue
        if body[y0 - m : y0 + side + m, x0 - m : x0 + side + m].all():
            return y0, x0, y0 + side, x0 + side
    return None


def _paint_object(
    rng: np.random.Generator,
    image: np.ndarray,
    obj: PlacedObject,
    appearances: list[ClassAppearance],
    design: SyntheticDesign,
) -> None:
    """Paints a striped body, then its mark, over the image."""
    size = image.shape[0]
    texture_look = appearances[obj.texture_class]
    box = bounding_box(obj.body)
    window = (slice(box[0], box[2]), slice(box[1], box[3]))
    texture = stripes(
        size,
        texture_look.stripe_angle + rng.uniform(-8.0, 8.0),
        texture_look.stripe_period * size * rng.uniform(0.9, 1.1),
        rng.uniform(0.0, 2.0 * np.pi),
        box,
    )
    colour = muted_colour(rng, (0.4, 0.9))
    contrast = min(1.0, design.texture_contrast * rng.uniform(0.8, 1.2))
    body = obj.body[window]
    image[window][body] = shade(colour, texture, contrast)[body]
    y0, x0, y1, x1 = obj.mark_box
    look = appearances[obj.class_index]
    mark_colour = np.asarray(look.mark_colour, dtype=np.float32)
    mark_colour = design.mark_strength * mark_colour + (1.0 - design.mark_strength) * colour
    footprint = mark_shape_mask(look.mark_shape, y1 - y0)
    image[y0:y1, x0:x1][footprint] = mark_colour


def _class_mask(instance: np.ndarray, objects: list[PlacedObject]) -> np.ndarray:
    """Maps instance numbers to class values and sets a 255 band on every object outline."""
    lookup = np.array([0] + [obj.class_index + 1 for obj in objects], dtype=np.uint8)
    mask = lookup[instance]
    border = maximum_filter(instance, size=3, mode="nearest") != minimum_filter(
        instance, size=3, mode="nearest"
    )
    mask[border] = IGNORE_INDEX
    return mask

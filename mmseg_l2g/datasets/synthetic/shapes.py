"""Random object outlines (ellipses, blobs, polygons), their rasterisation, and mark shapes."""

import numpy as np
from PIL import Image, ImageDraw

SHAPE_KINDS: tuple[str, ...] = ("ellipse", "blob", "polygon")
_SMOOTH_VERTICES = 72


def sample_outline(
    rng: np.random.Generator, kind: str, centre: tuple[float, float], diameter: float
) -> np.ndarray:
    """Samples the closed outline of a star-shaped region.

    Args:
        rng: random generator.
        kind: one of ``SHAPE_KINDS``.
        centre: (x, y) in pixels.
        diameter: largest extent of the shape, pixels.

    Returns:
        float array (V, 2) of (x, y) vertices.
    """
    radius = diameter / 2.0
    rotation = rng.uniform(0.0, 2.0 * np.pi)
    if kind == "ellipse":
        theta = np.linspace(0.0, 2.0 * np.pi, _SMOOTH_VERTICES, endpoint=False)
        minor = radius * rng.uniform(0.55, 1.0)
        local = np.stack([radius * np.cos(theta), minor * np.sin(theta)], axis=1)
        cos, sin = np.cos(rotation), np.sin(rotation)
        points = local @ np.array([[cos, sin], [-sin, cos]])
    elif kind == "blob":
        theta = np.linspace(0.0, 2.0 * np.pi, _SMOOTH_VERTICES, endpoint=False)
        harmonics = np.arange(2, 5)[:, None]
        amplitudes = rng.uniform(-0.12, 0.12, size=(3, 1))
        phases = rng.uniform(0.0, 2.0 * np.pi, size=(3, 1))
        profile = 1.0 + (amplitudes * np.cos(harmonics * theta + phases)).sum(axis=0)
        r = radius * profile / profile.max()
        points = np.stack([r * np.cos(theta + rotation), r * np.sin(theta + rotation)], axis=1)
    elif kind == "polygon":
        n = int(rng.integers(5, 9))
        step = 2.0 * np.pi / n
        theta = rotation + step * (np.arange(n) + rng.uniform(-0.3, 0.3, size=n))
        r = radius * rng.uniform(0.75, 1.0, size=n)
        points = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    else:
        raise ValueError(f"unknown shape kind {kind!r}; expected one of {SHAPE_KINDS}")
    return points + np.asarray(centre, dtype=np.float64)


def rasterize(outline: np.ndarray, size: int) -> np.ndarray:
    """Fills a polygon outline into a boolean (size, size) mask (pixels clipped to the image)."""
    canvas = Image.new("L", (size, size), 0)
    ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in outline], fill=1)
    return np.asarray(canvas, dtype=bool)


def mark_shape_mask(shape: str, side: int) -> np.ndarray:
    """Returns the boolean (side, side) footprint of a mark shape.

    Args:
        shape: ``'disc'``, ``'square'``, ``'diamond'`` or ``'plus'``.
        side: mark side in pixels.
    """
    coords = np.arange(side) - (side - 1) / 2.0
    dy, dx = np.meshgrid(coords, coords, indexing="ij")
    half = side / 2.0
    if shape == "disc":
        return dx**2 + dy**2 <= half**2
    if shape == "square":
        return np.ones((side, side), dtype=bool)
    if shape == "diamond":
        return np.abs(dx) + np.abs(dy) <= half
    if shape == "plus":
        return (np.abs(dx) <= side / 6.0 + 0.5) | (np.abs(dy) <= side / 6.0 + 0.5)
    raise ValueError(f"unknown mark shape {shape!r}")

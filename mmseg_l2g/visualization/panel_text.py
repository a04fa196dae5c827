"""The panels' title and legend bands, their text written by an mmengine ``Visualizer``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Sequence, Tuple

import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath
from mmengine.visualization import Visualizer

BAND_COLOUR = (255, 255, 255)
TEXT_COLOUR = (0, 0, 0)
SWATCH_EDGE = (128, 128, 128)
FONT_FAMILY = "sans-serif"
MIN_FONT_PX = 4.0

Colour = Tuple[int, int, int]
LegendEntry = Tuple[str, Colour]


def every_rank(method: Callable) -> Callable:
    """``method`` without mmengine's ``master_only`` wrapper: stage 2 draws on every rank."""
    return getattr(method, "__wrapped__", method)


@dataclass(frozen=True)
class BandSizes:
    """Pixel sizes of the bands around an image's panels.

    Attributes:
        font: the title font height (px).
        title: height of the title band above each panel.
        row: height of one legend row below the panels.
    """

    font: int
    title: int
    row: int

    @classmethod
    def for_image(cls, height: int, width: int) -> BandSizes:
        """The sizes for an image of ``height`` x ``width`` pixels (font 8 to 20 px)."""
        font = int(min(max(round(min(height, width) / 12), 8), 20))
        return cls(font=font, title=round(font * 1.8), row=round(font * 1.5))


def text_width(text: str, font_px: float) -> float:
    """Width in pixels of ``text`` at ``font_px`` in the bands' font."""
    path = TextPath((0, 0), text, size=font_px, prop=FontProperties(family=[FONT_FAMILY]))
    return float(path.get_extents().width)


def fitted_font(text: str, font_px: float, max_width: float) -> float:
    """``font_px``, made smaller (not below 4 px) until ``text`` fits in ``max_width``."""
    width = text_width(text, font_px)
    if width <= max_width or width == 0:
        return font_px
    return max(font_px * max_width / width, MIN_FONT_PX)


def _write(
    vis: Visualizer,
    band: np.ndarray,
    texts: Sequence[str],
    positions: Sequence[Tuple[float, float]],
    fonts_px: Sequence[float],
    align: str,
) -> np.ndarray:
    """``band`` (RGB) with ``texts`` written by ``vis`` (vertically centred at ``positions``)."""
    if not texts:
        return band
    every_rank(Visualizer.set_image)(vis, band)
    every_rank(Visualizer.draw_texts)(
        vis,
        list(texts),
        np.asarray(positions, dtype=np.float64),
        font_sizes=[px * 72.0 / vis.dpi for px in fonts_px],
        colors=TEXT_COLOUR,
        vertical_alignments="center",
        horizontal_alignments=align,
        font_families=FONT_FAMILY,
    )
    return every_rank(Visualizer.get_image)(vis)


def title_band(vis: Visualizer, title: str, width: int, sizes: BandSizes) -> np.ndarray:
    """RGB (sizes.title, width, 3) band with ``title`` centred in it."""
    band = np.full((sizes.title, width, 3), BAND_COLOUR, np.uint8)
    font = fitted_font(title, sizes.font, 0.94 * width)
    return _write(vis, band, [title], [(width / 2, sizes.title / 2)], [font], "center")


def legend_band(
    vis: Visualizer, entries: Sequence[LegendEntry], width: int, rows: int, sizes: BandSizes
) -> np.ndarray:
    """RGB (rows * sizes.row, width, 3) band: one row per entry, a colour swatch and its name.

    The swatch is filled with the entry's colour exactly (a grey one-pixel edge around).
    """
    band = np.full((rows * sizes.row, width, 3), BAND_COLOUR, np.uint8)
    margin = max(1, round(sizes.font * 0.3))
    side = max(3, round(sizes.row * 0.6))
    text_x = 2 * margin + side
    texts, positions, fonts = [], [], []
    for row, (name, _) in enumerate(entries):
        texts.append(name)
        positions.append((text_x, (row + 0.5) * sizes.row))
        fonts.append(fitted_font(name, 0.85 * sizes.font, width - text_x - 1))
    band = _write(vis, band, texts, positions, fonts, "left").copy()
    for row, (_, colour) in enumerate(entries):
        top = row * sizes.row + (sizes.row - side) // 2
        band[top : top + side, margin : margin + side] = SWATCH_EDGE
        band[top + 1 : top + side - 1, margin + 1 : margin + side - 1] = colour
    return band


def stack_panels(
    vis: Visualizer,
    panels: Sequence[Tuple[str, np.ndarray, List[LegendEntry]]],
    rows: int,
) -> np.ndarray:
    """Panels side by side, each its title band above and (``rows`` > 0) its legend below.

    Args:
        vis: writes the text.
        panels: (title, RGB (H, W, 3) picture, legend entries), all pictures of one size.
        rows: legend rows under every panel (0: no legend band).

    Returns:
        RGB (title + H + rows * row, n * W, 3) uint8 drawing.
    """
    height, width = panels[0][1].shape[:2]
    sizes = BandSizes.for_image(height, width)
    columns = []
    for title, picture, legend in panels:
        parts = [title_band(vis, title, width, sizes), picture]
        if rows:
            parts.append(legend_band(vis, legend, width, rows, sizes))
        columns.append(np.concatenate(parts, axis=0))
    return np.ascontiguousarray(np.concatenate(columns, axis=1))

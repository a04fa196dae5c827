"""The pictures of the mask and CAM panels, fitted to the image they are drawn over."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..io import IGNORE_INDEX, colorize_mask, palette_table
from .panel_text import LegendEntry

Panel = Tuple[str, np.ndarray, List[LegendEntry]]


def fit_maps(maps: torch.Tensor | np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """Float32 (n, H, W) maps at ``shape`` (bilinear when their size differs)."""
    maps = torch.as_tensor(maps).detach().float().cpu()
    maps = maps[None] if maps.ndim == 2 else maps
    if not maps.shape[0]:
        return np.zeros((0, *shape), np.float32)
    if tuple(maps.shape[-2:]) != tuple(shape):
        maps = F.interpolate(maps[None], size=shape, mode="bilinear", align_corners=False)[0]
    return maps.numpy()


def fit_mask(mask: torch.Tensor | np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """uint8 (H, W) class-index mask at ``shape`` (nearest); values outside 0-255 are 255."""
    mask = np.asarray(torch.as_tensor(mask).detach().cpu())
    mask = mask.reshape(mask.shape[-2:])
    mask = np.where((mask < 0) | (mask > IGNORE_INDEX), IGNORE_INDEX, mask).astype(np.uint8)
    if mask.shape != tuple(shape):
        mask = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return mask


def class_name(index: int, classes: Sequence[str]) -> str:
    """The name of class ``index`` (``ignore`` for 255, ``class i`` without a name)."""
    if index < len(classes):
        return str(classes[index])
    return "ignore" if index == IGNORE_INDEX else f"class {index}"


def mask_panel(
    image: np.ndarray,
    mask: np.ndarray,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    alpha: float,
) -> Tuple[np.ndarray, List[LegendEntry]]:
    """The mask's palette colours over the image, and the legend of the classes in it.

    Args:
        image: RGB (H, W, 3) uint8.
        mask: uint8 (H, W) class indices (beyond the palette: white, as in the mask PNGs).
        classes: class names.
        palette: RGB class colours.
        alpha: opacity of the colours.

    Returns:
        RGB (H, W, 3) uint8 picture; (name, colour) of each class present, by index.
    """
    colours = colorize_mask(mask, palette)
    picture = (image * (1.0 - alpha) + colours * alpha).round().astype(np.uint8)
    table = palette_table(palette)
    legend = [
        (class_name(int(index), classes), tuple(int(v) for v in table[index]))
        for index in np.unique(mask)
    ]
    return picture, legend

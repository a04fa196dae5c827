"""A preview grid of a generated dataset: image | coloured mask | saliency, one row each."""

import io
import os
from typing import Sequence

import numpy as np
from PIL import Image

from .files import atomic_write_bytes

_GAP = 4


def write_preview(root: str, img_ids: Sequence[str], path: str) -> tuple[int, int]:
    """Writes a PNG grid of the given samples of a dataset.

    Args:
        root: dataset root (VOC layout).
        img_ids: ids of the rows, in order (at least one).
        path: output PNG path.

    Returns:
        (width, height) of the written grid.
    """
    if not img_ids:
        raise ValueError(f"no images to preview in {root}")
    rows = []
    for img_id in img_ids:
        image = _read_rgb(os.path.join(root, "JPEGImages", f"{img_id}.jpg"))
        mask = _read_rgb(os.path.join(root, "SegmentationClass", f"{img_id}.png"))
        saliency = _read_rgb(os.path.join(root, "Saliency", f"{img_id}.png"))
        gap = np.full((image.shape[0], _GAP, 3), 255, dtype=np.uint8)
        rows.append(np.concatenate([image, gap, mask, gap, saliency], axis=1))
    gap = np.full((_GAP, rows[0].shape[1], 3), 255, dtype=np.uint8)
    grid = np.concatenate([part for row in rows for part in (row, gap)][:-1], axis=0)
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return grid.shape[1], grid.shape[0]


def _read_rgb(path: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"preview: missing file {path}")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))

"""The demo's figure: image | plain-CAM map | L2G map | ground truth, a few rows."""

import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np

from ..datasets.label_io import read_index_mask
from ..datasets.transforms.loading import read_bgr_image
from ..io import atomic_write_bytes, colorize_mask, load_cams_npz
from ..visualization.cam_overlay import heat_overlay


def write_comparison_figure(
    path: str,
    items: Sequence[dict],
    cam_dirs: Dict[str, str],
    palette: Sequence[Sequence[int]],
    cell: int = 160,
) -> str:
    """Writes a PNG grid: one row per item, columns image, each method's CAM, mask.

    Args:
        path: output PNG.
        items: dataset items (``img_path``, ``img_id``, ``seg_map_path``).
        cam_dirs: column title -> folder of ``<img_id>.npz`` CAMs.
        palette: RGB class colours for the ground truth.
        cell: side of one cell in pixels.

    Returns:
        ``path``.
    """
    rows = []
    for item in items:
        rgb = np.ascontiguousarray(read_bgr_image(item["img_path"])[:, :, ::-1])
        cells = [rgb]
        for folder in cam_dirs.values():
            cams, _ = load_cams_npz(osp.join(folder, f"{item['img_id']}.npz"))
            cells.append(heat_overlay(rgb, cams))
        if item.get("seg_map_path"):
            cells.append(colorize_mask(read_index_mask(item["seg_map_path"]), palette))
        rows.append(np.concatenate([cv2.resize(c, (cell, cell)) for c in cells], axis=1))
    titles = ["image", *cam_dirs.keys(), "ground truth"]
    header = np.full((24, rows[0].shape[1], 3), 255, np.uint8)
    for k, title in enumerate(titles[: rows[0].shape[1] // cell]):
        cv2.putText(header, title, (k * cell + 4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    grid = np.concatenate([header, *rows], axis=0)
    ok, encoded = cv2.imencode(".png", grid[:, :, ::-1])
    if not ok:
        raise OSError(f"cannot encode the figure {path}")
    atomic_write_bytes(path, encoded.tobytes())
    return path

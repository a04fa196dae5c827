"""CAM overlay panels for a person to look at (``<out-dir>/vis/``)."""

from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from ..io import atomic_write_bytes, colorize_mask


def heat_overlay(rgb: np.ndarray, cams: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """RGB (H, W, 3) image blended with the JET heat map of the largest class map.

    The maps keep their absolute [0, 1] scale and are reduced by the per-pixel
    maximum. mmengine's ``Visualizer.draw_featmap`` min-max normalises each
    map (a map between 0.2 and 0.7 differs by up to 120 levels), truncates
    the levels (1-2 levels off on a full-range map) and reduces several maps
    by the largest sum or the mean
    (``tests/test_visualization/test_heat_overlay_vs_mmengine.py``).
    """
    peak = cams.max(axis=0) if cams.shape[0] else np.zeros(rgb.shape[:2], dtype=np.float32)
    levels = (np.clip(peak.astype(np.float32), 0.0, 1.0) * 255).round().astype(np.uint8)
    heat_rgb = cv2.applyColorMap(levels, cv2.COLORMAP_JET)[:, :, ::-1]
    return (rgb * (1 - alpha) + heat_rgb * alpha).round().astype(np.uint8)


def render_cam_panel(
    img_bgr: np.ndarray,
    cams: np.ndarray,
    mask: np.ndarray,
    palette: Sequence[Sequence[int]],
    gt: Optional[np.ndarray] = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """Side by side: image, CAM heat map (largest class map), pseudo mask, ground truth.

    Args:
        img_bgr: uint8 BGR (H, W, 3) image.
        cams: (n, H, W) normalised maps of the image's classes.
        mask: uint8 (H, W) pseudo mask.
        palette: RGB class colours.
        gt: uint8 (H, W) ground-truth mask, when there is one.
        alpha: weight of the heat map and mask colours over the image.

    Returns:
        uint8 BGR (H, 3W or 4W, 3) panel.
    """
    rgb = np.ascontiguousarray(img_bgr[:, :, ::-1])
    panels = [rgb, heat_overlay(rgb, cams, alpha)]
    for layer in (mask, gt):
        if layer is not None:
            blend = rgb * (1 - alpha) + colorize_mask(layer, palette) * alpha
            panels.append(blend.round().astype(np.uint8))
    return np.ascontiguousarray(np.concatenate(panels, axis=1)[:, :, ::-1])


def save_cam_panel(path: str, panel_bgr: np.ndarray, quality: int = 90) -> None:
    """Writes a panel as JPEG, atomically."""
    ok, encoded = cv2.imencode(".jpg", panel_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"cannot encode the overlay panel for {path}")
    atomic_write_bytes(path, encoded.tobytes())

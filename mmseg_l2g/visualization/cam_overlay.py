"""The CAM heat map over the image (the layout's CAM panel, the comparison figure's cells)."""

from __future__ import annotations

import cv2
import numpy as np


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

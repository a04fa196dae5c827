"""Stage 2's ``vis/`` pictures: the one layout of an image's CAMs and masks, as JPEG."""

from __future__ import annotations

import os.path as osp
import threading
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from ..io import atomic_write_bytes
from .l2g_local_visualizer import L2GLocalVisualizer

_LOCAL = threading.local()


def _visualizer() -> L2GLocalVisualizer:
    """This thread's visualizer (matplotlib figures are not shared between threads).

    Built directly, not by name: it is no run's current instance and has no backends.
    """
    if not hasattr(_LOCAL, "visualizer"):
        _LOCAL.visualizer = L2GLocalVisualizer(name="l2g_layout_file", vis_backends=[])
    return _LOCAL.visualizer


def draw_cam_layout(
    img_bgr: np.ndarray,
    cams: np.ndarray,
    mask: np.ndarray,
    palette: Sequence[Sequence[int]],
    gt: Optional[np.ndarray] = None,
    classes: Optional[Sequence[str]] = None,
) -> np.ndarray:
    """``L2GLocalVisualizer.draw_layout`` of one image: image | CAM | mask | ground truth.

    Args:
        img_bgr: uint8 BGR (H, W, 3) image.
        cams: (n, H, W) normalised maps of the image's classes.
        mask: uint8 (H, W) pseudo mask.
        palette: RGB class colours.
        gt: uint8 (H, W) ground-truth mask, when there is one.
        classes: class names for the legend (default ``class i``).

    Returns:
        RGB uint8 drawing.
    """
    sample = SegDataSample()
    sample.pred_cam = PixelData(data=torch.from_numpy(np.asarray(cams, dtype=np.float32)))
    sample.pred_sem_seg = PixelData(data=torch.from_numpy(np.asarray(mask)[None].copy()))
    if gt is not None:
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(np.asarray(gt)[None].copy()))
    rgb = np.ascontiguousarray(img_bgr[:, :, ::-1])
    names = list(classes) if classes is not None else []
    return _visualizer().draw_layout(rgb, sample, classes=names, palette=list(palette))


def write_jpeg(path: str, rgb: np.ndarray, quality: int = 90) -> None:
    """Writes an RGB picture as JPEG, atomically."""
    write_picture(path, rgb, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality])


def write_picture(
    path: str, rgb: np.ndarray, ext: Optional[str] = None, params: Sequence[int] = ()
) -> None:
    """Writes an RGB picture atomically, in the format of ``ext`` (default: the path's)."""
    ext = ext or osp.splitext(path)[1] or ".png"
    ok, encoded = cv2.imencode(ext, np.ascontiguousarray(rgb[:, :, ::-1]), list(params))
    if not ok:
        raise OSError(f"cannot encode the picture for {path} as {ext}")
    atomic_write_bytes(path, encoded.tobytes())

"""LocalCropTransform: samples the N local views of L2G inside the global view."""

import math
from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

MODES = ("corners", "random", "uniform")


def grid_shape(num_views: int, height: int, width: int) -> Tuple[int, int]:
    """Rows and columns (rows * cols == num_views) closest to the view's aspect ratio."""
    best = (1, num_views)
    best_cost = math.inf
    for rows in range(1, num_views + 1):
        if num_views % rows:
            continue
        cols = num_views // rows
        cost = abs(math.log((cols / rows) / (width / height)))
        if cost < best_cost:
            best, best_cost = (rows, cols), cost
    return best


def _evenly_spaced(count: int, free: int) -> np.ndarray:
    """``count`` integer offsets from 0 to ``free`` inclusive, evenly spaced."""
    if count == 1:
        return np.array([free // 2])
    return np.round(np.linspace(0, free, count)).astype(np.int64)


def crop_views(array: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Crops each box of ``array``, resized (bilinear) to ``size`` x ``size`` where smaller.

    Args:
        array: (H, W) or (H, W, C) image or map of the global view.
        boxes: (N, 4) integer-valued boxes (x1, y1, x2, y2) inside ``array``.
        size: side S of every crop.

    Returns:
        (N, S, S) or (N, S, S, C) array of the same dtype.
    """
    crops = []
    for box in boxes:
        x1, y1, x2, y2 = (int(v) for v in box)
        crop = array[y1:y2, x1:x2]
        if crop.shape[0] != size or crop.shape[1] != size:
            crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
        crops.append(crop)
    return np.ascontiguousarray(np.stack(crops))


@TRANSFORMS.register_module()
class LocalCropTransform(BaseTransform):
    """Samples N local views of the global view and records their boxes.

    Each view is a ``crop_size`` square inside the global view (``results['img']``
    after the resize / crop / flip of the pipeline). Boxes are (x1, y1, x2, y2) in
    global-view pixels, integers stored as float32. When the global view is
    smaller than ``crop_size`` along a side, the box is clamped to that side (the
    view then covers the whole side) and its crops are resized up to ``crop_size``
    (the data preprocessor does the same for the image), so every local view has
    the same size. The images of the views are sliced from the batched global
    tensor on the device by ``L2GDataPreprocessor``, so only boxes travel here.

    Required keys: ``img``. Optional: ``gt_saliency``.
    Added keys: ``local_boxes`` (N, 4), ``local_crop_size``, ``local_saliency``
    (N, S, S) when a saliency map was loaded.

    Args:
        num_views: Number of local views N (1 to 16 tested; release: 6).
        crop_size: Side S of a local view in pixels (release: 320).
        mode: ``'corners'`` (the release's: the 4 corner views, then N - 4 at
            random positions, so the views always cover the whole global view
            when 2 S >= its sides; needs N >= 4), ``'random'`` (all N positions
            drawn uniformly) or ``'uniform'`` (an evenly spaced rows x cols
            grid, rows * cols == N, chosen closest to the view's aspect ratio).
    """

    def __init__(self, num_views: int = 6, crop_size: int = 320, mode: str = "random") -> None:
        if num_views < 1:
            raise ValueError(f"num_views must be >= 1, got {num_views}")
        if crop_size < 1:
            raise ValueError(f"crop_size must be >= 1, got {crop_size}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "corners" and num_views < 4:
            raise ValueError(f"mode 'corners' needs num_views >= 4, got {num_views}")
        self.num_views = num_views
        self.crop_size = crop_size
        self.mode = mode

    @cache_randomness
    def _random_offsets(self, free_x: int, free_y: int) -> Tuple[np.ndarray, np.ndarray]:
        count = self.num_views - 4 if self.mode == "corners" else self.num_views
        xs = np.random.randint(0, free_x + 1, size=count)
        ys = np.random.randint(0, free_y + 1, size=count)
        return xs, ys

    def sample_boxes(self, height: int, width: int) -> np.ndarray:
        """Returns (N, 4) float32 boxes inside a ``height`` x ``width`` view."""
        crop_w, crop_h = min(self.crop_size, width), min(self.crop_size, height)
        free_x, free_y = width - crop_w, height - crop_h
        if self.mode == "uniform":
            rows, cols = grid_shape(self.num_views, height, width)
            grid_y, grid_x = np.meshgrid(
                _evenly_spaced(rows, free_y), _evenly_spaced(cols, free_x), indexing="ij"
            )
            xs, ys = grid_x.ravel(), grid_y.ravel()
        else:
            xs, ys = self._random_offsets(free_x, free_y)
            if self.mode == "corners":
                xs = np.concatenate([[0, free_x, 0, free_x], xs])
                ys = np.concatenate([[0, 0, free_y, free_y], ys])
        boxes = np.stack([xs, ys, xs + crop_w, ys + crop_h], axis=1)
        return boxes.astype(np.float32)

    def transform(self, results: dict) -> dict:
        """Adds the local views' boxes (and saliency crops) to ``results``."""
        height, width = results["img"].shape[:2]
        boxes = self.sample_boxes(height, width)
        results["local_boxes"] = boxes
        results["local_crop_size"] = self.crop_size
        saliency = results.get("gt_saliency")
        if saliency is not None:
            crops = crop_views(saliency, boxes, self.crop_size)
            results["local_saliency"] = crops.astype(np.float32, copy=False)
        return results

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(num_views={self.num_views}, crop_size={self.crop_size}, "
            f"mode={self.mode!r})"
        )

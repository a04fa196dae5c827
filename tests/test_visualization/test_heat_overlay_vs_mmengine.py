"""``heat_overlay`` against mmengine's ``Visualizer.draw_featmap``, measured.

mmengine min-max normalises each map, truncates (not rounds) the levels and
reduces several maps by the largest sum or the mean, so it draws other pixels
than the CAM readout's absolute [0, 1] scale with a per-pixel maximum; hence
our own (its docstring states the numbers pinned down here).
"""

import numpy as np
import torch
from mmengine.visualization import Visualizer

from mmseg_l2g.visualization.cam_overlay import heat_overlay

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)


def _mmengine(cams: np.ndarray, reduction=None) -> np.ndarray:
    return Visualizer.draw_featmap(
        torch.from_numpy(cams), RGB, channel_reduction=reduction, topk=0, alpha=0.5
    )


def _differ(a: np.ndarray, b: np.ndarray):
    return np.abs(a.astype(int) - b.astype(int)).max(), (a != b).mean()


def test_one_full_range_map_differs_by_rounding_only() -> None:
    cam = RNG.random((1, 20, 30)).astype(np.float32)
    cam[0, 0, :2] = (0.0, 1.0)  # min 0, max 1: min-max normalising changes nothing
    largest, share = _differ(heat_overlay(RGB, cam), _mmengine(cam))
    assert 1 <= largest <= 2 and 0.05 < share < 0.5


def test_a_weak_map_is_stretched_by_mmengine() -> None:
    cam = (0.2 + 0.5 * RNG.random((1, 20, 30))).astype(np.float32)  # a map between 0.2 and 0.7
    ours = heat_overlay(RGB, cam)
    largest, share = _differ(ours, _mmengine(cam))
    assert largest > 60 and share > 0.5
    # Ours keeps the absolute scale: the same map scaled to 1 looks hotter.
    assert _differ(ours, heat_overlay(RGB, cam / cam.max()))[0] > 30


def test_several_maps_per_pixel_maximum_versus_largest_sum() -> None:
    cams = np.zeros((2, 20, 30), np.float32)
    cams[0, :, :15] = 1.0  # class 0 on the left, class 1 (larger sum) on the right
    cams[1, :, 10:] = 1.0
    ours = heat_overlay(RGB, cams)
    np.testing.assert_array_equal(ours, heat_overlay(RGB, cams.max(axis=0, keepdims=True)))
    theirs = _mmengine(cams, "select_max")  # only class 1's map
    assert _differ(ours[:, :10], theirs[:, :10])[0] >= 60  # class 0: red in ours, blue there
    assert _differ(ours[:, 15:], theirs[:, 15:])[0] <= 2

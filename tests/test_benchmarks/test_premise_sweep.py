"""The premise sweep's view geometry on hand-computed cases."""

import numpy as np

from benchmarks import premise_sweep as sweep
from mmseg_l2g.datasets.synthetic import make_synthetic


def test_a_view_shows_objects_covering_a_tenth_with_or_without_their_mark():
    gt = np.zeros((20, 20), dtype=np.uint8)
    gt[:, :10] = 1  # class 0 on the left half
    gt[15:, 15:] = 2  # class 1: a 5 x 5 corner
    marks = [{"class": 0, "box": [0, 0, 2, 2]}, {"class": 1, "box": [18, 18, 20, 20]}]
    # The top-left 10 x 10 view: all class 0, with its mark.
    assert sweep.view_objects(gt, marks, (0, 0, 10, 10)) == [(0, True)]
    # The bottom-left view: class 0 without its mark.
    assert sweep.view_objects(gt, marks, (0, 10, 10, 20)) == [(0, False)]
    # The bottom-right view: class 1 covers 25 % with its mark; class 0 is absent.
    assert sweep.view_objects(gt, marks, (10, 10, 20, 20)) == [(1, True)]
    # A view where class 1 covers under 10 % does not count it.
    assert sweep.view_objects(gt, marks, (0, 0, 20, 20))[1:] == []


def test_views_are_the_pipelines_corners_plus_random_and_seeded():
    first = sweep.draw_views(128, 90, 3)
    assert all(b.shape == (6, 4) for b in first)
    corners = [[0, 0, 90, 90], [38, 0, 128, 90], [0, 38, 90, 128], [38, 38, 128, 128]]
    assert first[0][:4].tolist() == corners
    assert all(np.array_equal(a, b) for a, b in zip(first, sweep.draw_views(128, 90, 3)))
    state = np.random.get_state()[1].copy()
    sweep.draw_views(128, 90, 1)
    assert np.array_equal(np.random.get_state()[1], state)  # the global generator untouched


def test_markless_share_falls_to_zero_at_the_image_size(tmp_path):
    root = str(tmp_path / "data")
    make_synthetic(root, 1, 6, seed=2, size=64, num_workers=1, progress=False)
    whole = sweep.markless_share(root, "val", 64)
    assert whole["markless_pct"] == 0.0 and whole["pairs"] > 0
    small = sweep.markless_share(root, "val", 24)
    assert small["markless_pct"] > 0.0 and small["image_size"] == 64


def test_the_sweep_refuses_methods_without_the_plain_cam_or_l2g():
    import pytest
    import synthetic_cam_vs_l2g as bench

    args = sweep.parse_args(["--methods", "l2g", "l2g_sal", "--view-sizes", "90"])
    with pytest.raises(ValueError, match="--methods l2g l2g_sal: the sweep needs cam and l2g"):
        sweep.sweep_seed(0, args, bench)

"""The premise's metrics (object recall near / far from the mark) on hand-computed cases."""

import numpy as np
import pytest
from PIL import Image

from mmseg_l2g.datasets.synthetic import make_synthetic, read_marks
from mmseg_l2g.experiments.premise import count_image, near_mark, premise_metrics
from mmseg_l2g.io import save_cams_npz

# One row: class 1 at x = 0..8, the 255 band at x = 9, background at x = 10, 11.
GT = np.array([[1] * 9 + [255, 0, 0]], dtype=np.uint8)
MARK = [{"class": 0, "box": [0, 0, 1, 1]}]  # centre (0, 0)


def test_near_is_within_the_radius_of_a_mark_of_the_pixels_own_class():
    assert near_mark(GT, MARK, 3.0)[0].tolist() == [True] * 4 + [False] * 8
    # A mark of another class makes nothing near; a second mark of the class adds its disc.
    assert not near_mark(GT, [{"class": 1, "box": [0, 0, 1, 1]}], 3.0).any()
    two = MARK + [{"class": 0, "box": [0, 8, 1, 9]}]
    assert (
        near_mark(GT, two, 1.0)[0].tolist()
        == [True, True] + [False] * 5 + [True, True] + [False] * 3
    )


def test_counts_hand_computed():
    pred = np.array([[1] * 5 + [0] * 7], dtype=np.uint8)
    counts = count_image(pred, GT, MARK, 3.0)
    # near x = 0..3 all found; far x = 4..8, only x = 4 found; called background: x = 5..8
    # (wrong), x = 10, 11 (right); the band at x = 9 counts nowhere.
    assert (counts.near, counts.near_hit, counts.far, counts.far_hit) == (4, 4, 5, 1)
    assert (counts.called_bg, counts.called_bg_right) == (6, 2)
    summary = counts.summary()
    assert summary["near_recall"] == 100.0 and summary["far_recall"] == 20.0
    assert summary["bg_precision"] == pytest.approx(33.33)
    with pytest.raises(ValueError, match="differs from the ground truth"):
        count_image(pred[:, :5], GT, MARK, 3.0)


def test_metrics_from_cam_files_perfect_and_empty_maps(tmp_path):
    root = tmp_path / "data"
    make_synthetic(str(root), 2, 3, seed=5, size=64, num_workers=1, progress=False)
    perfect, empty = tmp_path / "perfect", tmp_path / "empty"
    for img_id in read_marks(str(root), "val"):
        gt = np.asarray(Image.open(root / "SegmentationClass" / f"{img_id}.png"))
        labels = np.array(sorted(int(v) - 1 for v in np.unique(gt) if 0 < v < 255))
        cams = np.stack([(gt == c + 1).astype(np.float32) for c in labels])
        perfect.mkdir(exist_ok=True), empty.mkdir(exist_ok=True)
        save_cams_npz(str(perfect / f"{img_id}.npz"), cams, labels)
        save_cams_npz(str(empty / f"{img_id}.npz"), np.zeros_like(cams), labels)
    good = premise_metrics(str(root), "val", str(perfect), 0.5, radius=10.0)
    assert good["near_recall"] == good["far_recall"] == good["bg_precision"] == 100.0
    assert good["near_pixels"] > 0 and good["far_pixels"] > 0 and good["radius"] == 10.0
    bad = premise_metrics(str(root), "val", str(empty), 0.5, radius=10.0)
    assert bad["near_recall"] == bad["far_recall"] == 0.0 and bad["bg_precision"] < 100.0
    # Fused: saliency decides background; with perfect maps the objects stay found
    # wherever the saliency map lights them.
    fused = premise_metrics(str(root), "val", str(perfect), 0.5, str(root / "Saliency"))
    assert 0.0 < fused["far_recall"] <= 100.0

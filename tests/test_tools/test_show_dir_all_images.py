"""tools/test.py --show-dir draws every test image in the one layout, and says so."""

import glob
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from tool_test_utils import L2G_CONFIG, ROOT, load_script

from mmseg_l2g.datasets.synthetic import make_synthetic
from mmseg_l2g.visualization import L2GLocalVisualizer
from mmseg_l2g.visualization.panel_text import BandSizes

test_tool = load_script("tools/test.py")
SIZE = 64


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> str:
    """4 train / 3 val synthetic images of 64 px (overrides the folder's 2 val images)."""
    root = str(tmp_path_factory.mktemp("synthetic3"))
    make_synthetic(root, num_train=4, num_val=3, seed=0, size=SIZE, progress=False)
    return root


def _reference_titles() -> np.ndarray:
    """The title bands of image | CAM | mask | ground truth at 64 px, drawn here."""
    mask = PixelData(data=torch.zeros((1, SIZE, SIZE), dtype=torch.long))
    sample = SegDataSample(pred_sem_seg=mask, gt_sem_seg=mask)
    sample.pred_cam = PixelData(data=torch.zeros((1, SIZE, SIZE)))
    vis = L2GLocalVisualizer(name="show_dir_reference", vis_backends=[])
    drawn = vis.draw_layout(np.zeros((SIZE, SIZE, 3), np.uint8), sample, with_labels=False)
    return drawn[: BandSizes.for_image(SIZE, SIZE).title]


def test_show_dir_draws_every_image_of_a_small_run(synthetic_root, l2g_checkpoint, tmp_path):
    show_dir = str(tmp_path / "shown")
    options = [
        f"{split}_dataloader.dataset.data_root={synthetic_root}" for split in ("train", "test")
    ] + ["test_dataloader.num_workers=0", "test_dataloader.persistent_workers=False"]
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, "tools/test.py"), L2G_CONFIG, l2g_checkpoint,
         "--work-dir", str(tmp_path / "work"), "--show-dir", show_dir, "--cfg-options", *options],
        capture_output=True, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    folder = osp.join(show_dir, "vis_data", "vis_image")
    assert f"drawing all 3 test images into {folder}" in out.stdout + out.stderr
    drawn = sorted(glob.glob(osp.join(folder, "*.png")))
    assert [osp.basename(p) for p in drawn] == [f"test_val_00000{i}.jpg_0.png" for i in range(3)]
    titles = _reference_titles()
    top = titles.shape[0]
    for index, path in enumerate(drawn):
        picture = cv2.imread(path)[..., ::-1]
        assert picture.shape[1] == 4 * SIZE  # image | CAM | mask | ground truth
        assert (picture[:top] == titles).all()
        image = cv2.imread(osp.join(synthetic_root, "JPEGImages", f"val_00000{index}.jpg"))
        assert (picture[top : top + SIZE, :SIZE] == image[..., ::-1]).all()


def test_show_interval_sets_the_hook_and_the_message_says_how_to_draw_all() -> None:
    args = test_tool.parse_args([L2G_CONFIG, L2G_CONFIG, "--show-dir", "d", "--show-interval", "5"])
    cfg = test_tool.build_config(args)
    assert cfg.default_hooks.visualization.interval == 5
    assert test_tool.parse_args([L2G_CONFIG, L2G_CONFIG, "--show-dir", "d"]).show_interval == 1
    message = test_tool.drawing_message(23, 12, 2, 5, 1, False, "d")
    assert message == (
        "drawing one batch in 5: 2 of 12 batches, at most 4 of 23 test images, into "
        f"{osp.join('d', 'vis_data', 'vis_image')}; --show-interval 1 draws every batch"
    )
    assert test_tool.drawing_message(8, 2, 2, 1, 2, False, "d").endswith(
        "at most 4 of 8 test images, into d/vis_data/vis_image; "
        "one process (--launcher none) draws every image"
    )
    assert test_tool.drawing_message(3, 3, 1, 1, 1, True, None) == (
        "drawing all 3 test images in a window"
    )
    with pytest.raises(SystemExit):
        test_tool.parse_args([L2G_CONFIG, L2G_CONFIG, "--show-interval", "0"])

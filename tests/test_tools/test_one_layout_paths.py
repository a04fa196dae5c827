"""MMSegInferencer, demo/image_demo.py and gen_pseudo's vis/ draw the one layout.

The Inferencer's and the demo's drawings of the same prediction are equal pixel
for pixel; gen_pseudo's adds the ground-truth panel to the same panels (same
titles, same panel width) and is the layout of its own CAMs and masks.
"""

import os.path as osp

import cv2
import numpy as np
from mmseg.apis import MMSegInferencer
from tool_test_utils import L2G_CONFIG, load_script

from mmseg_l2g.datasets.label_io import read_index_mask
from mmseg_l2g.io import load_cams_npz
from mmseg_l2g.visualization import draw_cam_layout
from mmseg_l2g.visualization.panel_text import BandSizes

demo = load_script("demo/image_demo.py")
gen_pseudo = load_script("tools/gen_pseudo.py")
SIZE = 64


def _titles(drawn: np.ndarray, panels: int) -> np.ndarray:
    """The title bands of the first ``panels`` panels (grey levels)."""
    top = BandSizes.for_image(SIZE, SIZE).title
    return cv2.cvtColor(np.ascontiguousarray(drawn[:top, : panels * SIZE]), cv2.COLOR_RGB2GRAY)


def test_inferencer_demo_and_gen_pseudo_draw_one_layout(
    synthetic_root, l2g_checkpoint, tmp_path
) -> None:
    image = osp.join(synthetic_root, "JPEGImages", "val_000000.jpg")
    rgb = cv2.imread(image)[..., ::-1]
    inferencer = MMSegInferencer(model=L2G_CONFIG, weights=l2g_checkpoint, device="cpu")
    by_inferencer = inferencer(image, return_vis=True, opacity=0.8)["visualization"]
    out_file = str(tmp_path / "demo.png")
    argv = [image, L2G_CONFIG, l2g_checkpoint, "--out-file", out_file, "--opacity", "0.8"]
    demo.run(demo.parse_args(argv + ["--device", "cpu"]))
    by_demo = cv2.imread(out_file)[..., ::-1]
    assert by_inferencer.shape[1] == 3 * SIZE  # image | CAM | mask
    assert (by_demo == by_inferencer).all()
    top = BandSizes.for_image(SIZE, SIZE).title
    assert (by_inferencer[top : top + SIZE, :SIZE] == rgb).all()

    out_dir = str(tmp_path / "stage2")
    code = gen_pseudo.main(
        [L2G_CONFIG, l2g_checkpoint, "--out-dir", out_dir, "--split", "val", "--num-vis", "1",
         "--save-cams", "--device", "cpu",
         "--cfg-options", f"val_dataloader.dataset.data_root={synthetic_root}"]
    )  # fmt: skip
    assert code == 0
    vis_file = osp.join(out_dir, "vis", "val_000000.jpg")
    by_stage2 = cv2.imread(vis_file)[..., ::-1]
    assert by_stage2.shape[1] == 4 * SIZE  # image | CAM | mask | ground truth
    # The same three titled panels as the Inferencer's (up to JPEG), then ground truth.
    difference = np.abs(_titles(by_stage2, 3).astype(int) - _titles(by_inferencer, 3))
    assert difference.mean() < 2 and (difference > 64).mean() < 0.01
    assert np.abs(by_stage2[top : top + SIZE, :SIZE].astype(int) - rgb).mean() < 12  # JPEG
    # Exactly the layout of the run's own CAMs and mask (the same JPEG bytes).
    cams, _ = load_cams_npz(osp.join(out_dir, "cams", "val_000000.npz"))
    mask = read_index_mask(osp.join(out_dir, "masks", "val_000000.png"))
    gt = read_index_mask(osp.join(synthetic_root, "SegmentationClass", "val_000000.png"))
    palette = inferencer.model.dataset_meta["palette"]
    names = inferencer.model.dataset_meta["classes"]  # the legend names the classes
    drawn = draw_cam_layout(rgb[..., ::-1], cams.astype(np.float32), mask, palette, gt, names)
    encoded = cv2.imencode(".jpg", drawn[..., ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
    assert open(vis_file, "rb").read() == encoded.tobytes()

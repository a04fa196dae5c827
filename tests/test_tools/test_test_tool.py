"""tools/test.py: mmseg's --show / --show-dir / --wait-time / --tta (+ --show-interval), on L2G."""

import glob
import os
import os.path as osp
import subprocess
import sys

import cv2
import pytest
from mmengine.config import Config
from tool_test_utils import L2G_CONFIG, ROOT, load_script

test_tool = load_script("tools/test.py")


def _args(*extra: str, checkpoint: str = L2G_CONFIG):
    sys_argv = sys.argv
    sys.argv = ["test.py", L2G_CONFIG, checkpoint, *extra]
    try:
        return test_tool.parse_args()
    finally:
        sys.argv = sys_argv


def test_show_dir_and_tta_change_the_config_as_mmseg() -> None:
    cfg = test_tool.build_config(_args("--show-dir", "shown", "--tta"))
    hook = dict(type="SegVisualizationHook", draw=True, interval=1)  # --show-interval's default
    assert cfg.default_hooks.visualization == hook
    assert cfg.visualizer.save_dir == "shown"
    assert cfg.model.type == "L2GTTAModel" and cfg.model.module.type == "L2GClassifier"
    assert cfg.test_dataloader.dataset.pipeline == cfg.tta_pipeline


def test_show_sets_show_and_wait_time() -> None:
    cfg = test_tool.build_config(_args("--show", "--wait-time", "0.5"))
    hook = cfg.default_hooks.visualization
    assert hook.draw and hook.show and hook.wait_time == 0.5
    assert "save_dir" not in cfg.visualizer


def test_config_without_hook_or_tta_is_refused() -> None:
    cfg = Config(dict(default_hooks=dict(), model=dict(type="X")))
    with pytest.raises(RuntimeError, match="visualization hook"):
        test_tool.enable_visualization(cfg, False, "out", 2)
    with pytest.raises(KeyError, match="x.py has no tta_model and no tta_pipeline"):
        test_tool.use_tta(cfg, "x.py")


def test_tta_and_show_dir_end_to_end(synthetic_root, l2g_checkpoint, tmp_path) -> None:
    show_dir = str(tmp_path / "shown")
    options = [
        f"{split}_dataloader.dataset.data_root={synthetic_root}" for split in ("train", "test")
    ] + [
        "test_dataloader.num_workers=0",
        "test_dataloader.persistent_workers=False",
    ]
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, "tools/test.py"), L2G_CONFIG, l2g_checkpoint,
         "--work-dir", str(tmp_path / "work"), "--tta", "--show-dir", show_dir,
         "--cfg-options", *options],
        capture_output=True, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "mIoU" in out.stdout + out.stderr
    drawn = sorted(glob.glob(osp.join(show_dir, "vis_data", "vis_image", "*.png")))
    assert [osp.basename(p) for p in drawn] == [
        "test_val_000000.jpg_0.png",
        "test_val_000001.jpg_0.png",
    ]
    assert cv2.imread(drawn[0]).shape[1] == 4 * 64  # image | CAM | mask | ground truth

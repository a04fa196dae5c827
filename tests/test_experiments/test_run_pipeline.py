"""A miniature of the end-to-end demo: every stage's output feeds the next."""

import json
import math
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_tiny_pipeline_runs_every_stage(tmp_path) -> None:
    work_dir = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "tools/run_pipeline.py", "--budget", "tiny", "--work-dir", str(work_dir),
         "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((work_dir / "summary.json").read_text())
    for key in ("cam_miou", "l2g_miou", "l2g_sal_miou", "seg_miou", "seconds"):
        assert isinstance(summary[key], float) and math.isfinite(summary[key]), key
        assert 0.0 <= summary[key] <= (100.0 if key != "seconds" else math.inf)
    # Stage 1 -> 2: each classifier's checkpoint produced CAMs for every train image.
    data_root = summary["data_root"]
    train_ids = open(osp.join(data_root, "ImageSets/Segmentation/train.txt")).read().split()
    for name in ("cam", "l2g", "l2g_sal"):
        cams = sorted(p.stem for p in (work_dir / f"pseudo_{name}" / "cams").glob("*.npz"))
        assert cams == sorted(train_ids), name
    # Stage 2 -> 3: the masks the segmenter trained on are the chosen method's, at its
    # best threshold, and the seg config read exactly that folder for training.
    best = summary["seg_trained_on"]
    mask_dir = work_dir / f"masks_{best}" / "masks"
    assert sorted(p.stem for p in mask_dir.glob("*.png")) == sorted(train_ids)
    settings = json.loads((work_dir / f"masks_{best}" / "settings.json").read_text())
    assert math.isclose(settings["bg_thr"], summary[f"{best}_best_thr"])
    seg_cfg = Config.fromfile(next((work_dir / "seg").glob("*.py")))
    assert osp.samefile(seg_cfg.train_dataloader.dataset.data_prefix.seg_map_path, mask_dir)
    assert "SegmentationClass" in seg_cfg.val_dataloader.dataset.data_prefix.seg_map_path
    assert (work_dir / "figure.png").stat().st_size > 0

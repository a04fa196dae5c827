"""Miniatures of the end-to-end demo: every stage's output feeds the next."""

import json
import math
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
from mmengine.config import Config
from PIL import Image

from mmseg_l2g.datasets.synthetic import make_synthetic

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SUMMARY_KEYS = (
    "cam_miou", "cam_fused_miou", "l2g_miou", "l2g_fused_miou", "l2g_sal_miou",
    "l2g_sal_fused_miou", "seg_miou", "seconds",
)  # fmt: skip


def run_pipeline(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "tools/run_pipeline.py", "--budget", "tiny", "--quiet", *args],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def check_summary(summary: dict) -> None:
    for key in SUMMARY_KEYS:
        assert isinstance(summary[key], float) and math.isfinite(summary[key]), key
        assert 0.0 <= summary[key] <= (100.0 if key != "seconds" else math.inf)


def test_tiny_pipeline_runs_every_stage_from_an_install(installed_wheel) -> None:
    # The demo as a user of a regular install runs it: the installed package's tool, from
    # a folder outside the checkout, with a relative --work-dir.
    python, outside = installed_wheel
    tool = subprocess.run(
        [python, "-c", "from mmseg_l2g.utils.package_files import package_file; "
         "print(package_file('tools', 'run_pipeline.py'))"],
        cwd=outside, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert "site-packages" in tool and not tool.startswith(REPO)
    proc = subprocess.run(
        [python, tool, "--budget", "tiny", "--quiet", "--work-dir", "demo"],
        cwd=outside, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    work_dir = outside / "demo"
    summary = json.loads((work_dir / "summary.json").read_text())
    check_summary(summary)
    # Every classifier started from the one pretrained backbone, with fresh heads.
    pretrained = None
    for name in ("cam", "l2g", "l2g_sal"):
        cfg = Config.fromfile(next((work_dir / name).glob("*.py")))
        assert cfg.model.backbone.init_cfg.type == "Pretrained"
        assert cfg.model.backbone.init_cfg.prefix == "global_backbone."
        pretrained = pretrained or cfg.model.backbone.init_cfg.checkpoint
        assert cfg.model.backbone.init_cfg.checkpoint == pretrained
    assert osp.isfile(pretrained) and str(work_dir / "pretrain") in pretrained
    # Stage 1 -> 2: each classifier's checkpoint produced CAMs for every image of both splits.
    data_root = summary["data_root"]
    for split in ("train", "val"):
        ids = open(osp.join(data_root, f"ImageSets/Segmentation/{split}.txt")).read().split()
        for name in ("cam", "l2g", "l2g_sal"):
            cams = sorted(p.stem for p in (work_dir / f"pseudo_{name}_{split}" / "cams").glob("*"))
            assert cams == sorted(ids), (name, split)
    # Every column (fused ones: each method's maps with the saliency maps) is reported on
    # val at the threshold that is best on train.
    for column in ("cam", "cam_fused", "l2g", "l2g_fused", "l2g_sal", "l2g_sal_fused"):
        train = json.loads((work_dir / f"pseudo_{column}_train" / "metrics.json").read_text())
        val = json.loads((work_dir / f"pseudo_{column}_val" / "metrics.json").read_text())
        assert math.isclose(summary[f"{column}_best_thr"], train["best_thr"]), column
        at_thr = [e["miou"] for e in val["sweep"] if math.isclose(e["thr"], train["best_thr"])]
        assert math.isclose(summary[f"{column}_miou"], at_thr[0], abs_tol=0.01), column
        assert math.isclose(summary[f"{column}_val_best_miou"], val["best_miou"], abs_tol=0.01)
    # Stage 2 -> 3: the masks the segmenter trained on are the chosen method's, at its
    # best train threshold, and the seg config read exactly that folder for training.
    best = summary["seg_trained_on"]
    train_ids = open(osp.join(data_root, "ImageSets/Segmentation/train.txt")).read().split()
    mask_dir = work_dir / f"masks_{best}" / "masks"
    assert sorted(p.stem for p in mask_dir.glob("*.png")) == sorted(train_ids)
    settings = json.loads((work_dir / f"masks_{best}" / "settings.json").read_text())
    assert math.isclose(settings["bg_thr"], summary[f"{best}_best_thr"])
    seg_cfg = Config.fromfile(next((work_dir / "seg").glob("*.py")))
    assert osp.samefile(seg_cfg.train_dataloader.dataset.data_prefix.seg_map_path, mask_dir)
    assert "SegmentationClass" in seg_cfg.val_dataloader.dataset.data_prefix.seg_map_path
    assert (work_dir / "figure.png").stat().st_size > 0


def make_voc_folder(root: str) -> None:
    """A standard VOC-layout folder of 2 classes: no meta.json, saliency in its own folder."""
    make_synthetic(root, 8, 4, seed=1, size=64, num_classes=2, num_workers=1, progress=False)
    os.remove(osp.join(root, "meta.json"))
    os.rename(osp.join(root, "Saliency"), osp.join(root, "saliency_maps"))


def test_tiny_pipeline_on_a_voc_layout_folder(tmp_path) -> None:
    data_root, work_dir = str(tmp_path / "VOCmine"), tmp_path / "demo"
    make_voc_folder(data_root)
    names = tmp_path / "names.txt"
    names.write_text("cat\ndog\n")
    run_pipeline(
        "--work-dir", str(work_dir), "--data-root", data_root, "--classes", str(names),
        "--saliency-dir", "saliency_maps",
    )  # fmt: skip
    summary = json.loads((work_dir / "summary.json").read_text())
    check_summary(summary)
    assert summary["data_root"] == data_root
    assert not osp.exists(osp.join(data_root, "meta.json"))  # nothing generated into it
    # The classifiers read the user's class names and saliency folder.
    cfg = Config.fromfile(next((work_dir / "l2g_sal").glob("*.py")))
    assert cfg.train_dataloader.dataset.class_names_file == str(names)
    assert cfg.train_dataloader.dataset.data_prefix.sal_path == "saliency_maps"
    metrics = json.loads((work_dir / "pseudo_cam_val" / "metrics.json").read_text())
    assert metrics["classes"] == ["background", "cat", "dog"]
    # The segmenter was built for 2 + 1 classes, with those names.
    seg_cfg = Config.fromfile(next((work_dir / "seg").glob("*.py")))
    assert seg_cfg.model.decode_head.num_classes == 3
    assert list(seg_cfg.train_dataloader.dataset.metainfo.classes) == ["background", "cat", "dog"]
    best = summary["seg_trained_on"]
    for path in (work_dir / f"masks_{best}" / "masks").glob("*.png"):
        assert set(np.unique(np.asarray(Image.open(path)))) <= {0, 1, 2, 255}


def test_tiny_pipeline_without_saliency_runs_the_columns_that_need_none(tmp_path) -> None:
    data_root, work_dir = str(tmp_path / "VOCnosal"), tmp_path / "demo"
    make_voc_folder(data_root)
    shutil.rmtree(osp.join(data_root, "saliency_maps"))
    (tmp_path / "VOCnosal" / "classes.txt").write_text("cat\ndog\n")
    proc = subprocess.run(
        [sys.executable, "tools/run_pipeline.py", "--budget", "tiny", "--quiet",
         "--work-dir", str(work_dir), "--data-root", data_root],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "no saliency folder; skipping the columns that need one" in proc.stdout
    summary = json.loads((work_dir / "summary.json").read_text())
    skipped = ["cam_fused", "l2g_fused", "l2g_sal", "l2g_sal_fused"]
    assert summary["skipped"] == skipped
    for column in skipped:
        assert summary[f"{column}_miou"] is None
        assert not (work_dir / f"pseudo_{column}_val").exists()
    for column in ("cam", "l2g"):
        assert 0.0 <= summary[f"{column}_miou"] <= 100.0
    assert summary["seg_trained_on"] == "l2g" and not (work_dir / "l2g_sal").exists()
    assert summary["provenance"]["args"]["data_root"] == data_root
    names = "plain CAM, fused, L2G, fused, L2G + saliency, L2G + saliency, fused"
    assert f"skipped (no saliency maps): {names}" in proc.stdout

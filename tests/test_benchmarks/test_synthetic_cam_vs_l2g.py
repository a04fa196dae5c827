"""The synthetic CAM-vs-L2G benchmark runs the shipped path end to end at a tiny size."""

import json
import math
import os.path as osp
from pathlib import Path

from mmengine.config import Config

from benchmarks import synthetic_cam_vs_l2g as bench
from mmseg_l2g.experiments.statistics import mean_std


def test_tiny_run_scores_every_column_through_the_tools(tmp_path) -> None:
    out = tmp_path / "result.json"
    work = tmp_path / "work"
    argv = [
        "--seeds", "3", "4", "--iters", "2", "--pretrain-iters", "2", "--pretrain-images", "8",
        "--num-train", "8", "--num-val", "4", "--size", "64", "--batch-size", "2",
        "--scales", "1.0", "--splits", "val", "--work-dir", str(work), "--out", str(out), "--quiet",
        "--cfg-options", "model.loss_transfer.loss_weight=3.0",
    ]  # fmt: skip
    rows = bench.main(argv)
    doc = json.loads(out.read_text())
    assert doc["rows"] == rows and [r["seed"] for r in rows] == [3, 4]
    for row in rows:
        for column in ("cam", "cam_fused", "l2g", "l2g_fused", "l2g_sal", "l2g_sal_fused"):
            assert set(row["scores"][column]) == {"val"}
            for split in ("val",):
                cell = row["scores"][column][split]
                assert 0.0 <= cell["best_miou"] <= 100.0 and 0.0 <= cell["best_thr"] < 1.0
                assert 0.0 <= cell["fixed_miou"] <= cell["best_miou"]
                assert cell["curve"][f"{cell['best_thr']:.2f}"] == cell["best_miou"]
                # No train split here: the threshold comes from val itself, and says so.
                assert cell["thr_split"] == "val" and cell["miou"] == cell["best_miou"]
            premise = row["premise"][column]
            assert 0.0 <= premise["near_recall"] <= 100.0 and 0.0 <= premise["far_recall"] <= 100.0
            assert premise["near_pixels"] > 0 and premise["far_pixels"] > 0
    # Written by this script, with its arguments and the commit.
    assert doc["script"] == "benchmarks/synthetic_cam_vs_l2g.py"
    assert doc["args"]["seeds"] == [3, 4] and len(doc["git_commit"] or "x" * 40) == 40
    # What ran is what the configs say, with the benchmark's --cfg-options on top.
    l2g_dir = Path(osp.dirname(rows[0]["checkpoints"]["l2g"]))
    cfg = Config.fromfile(str(next(l2g_dir.glob("*.py"))))
    assert cfg.model.loss_transfer.loss_weight == 3.0
    assert cfg.model.backbone.init_cfg.checkpoint == rows[0]["pretrained"]
    assert rows[0]["pretrained"] == rows[1]["pretrained"]  # one pretraining for both seeds
    # Mean and standard deviation over the seeds.
    values = [r["scores"]["l2g"]["val"]["best_miou"] for r in rows]
    mean, std = mean_std(values)
    assert doc["summary"]["l2g"]["val"]["best_miou"] == dict(mean=round(mean, 2), std=round(std, 2))
    assert math.isclose(std, abs(values[0] - values[1]) / math.sqrt(2), abs_tol=1e-9)
    last = doc["tables"]["val"].splitlines()[-1]
    assert last.startswith("| mean +- std |") and f"{mean:.1f} +- {std:.1f}" in last

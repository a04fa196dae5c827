"""The synthetic CAM-vs-L2G benchmark runs end to end at a tiny size."""

import json
import math

from benchmarks import synthetic_cam_vs_l2g as bench


def test_tiny_run_scores_every_method_on_both_splits(tmp_path) -> None:
    out = tmp_path / "result.json"
    argv = [
        "--seeds", "3", "--cam-iters", "4", "--l2g-iters", "2", "--num-train", "8",
        "--num-val", "4", "--size", "64", "--batch-size", "2", "--workers", "0",
        "--scales", "1.0", "--device", "cpu", "--data-dir", str(tmp_path / "data"),
        "--out", str(out), "--readout", "softmax", "--fused",
    ]  # fmt: skip
    rows = bench.main(argv)
    doc = json.loads(out.read_text())
    assert doc["rows"] == rows and len(rows) == 1
    for method in ("cam", "cam_fused", "l2g", "l2g_sal"):
        for split in ("val", "train"):
            cell = rows[0][f"{method}_{split}"]
            assert 0.0 <= cell["miou"] <= 100.0 and 0.0 < cell["thr"] < 1.0
    assert math.isfinite(rows[0]["seconds_l2g"])
    lines = doc["table"].splitlines()
    assert len(lines) == 4 and lines[2].startswith("| 3 | val |")
    assert "plain CAM + saliency (fused)" in lines[0]
    best = max(rows[0]["l2g_val"]["miou"], rows[0]["l2g_sal_val"]["miou"])
    assert lines[2].endswith(f"| {best - rows[0]['cam_val']['miou']:+.1f} |")

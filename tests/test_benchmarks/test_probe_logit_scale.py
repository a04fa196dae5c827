"""The logit-scale probe runs end to end at a tiny size and reports consistent rows."""

import json
import math

from benchmarks import probe_logit_scale as probe


def test_tiny_probe_reads_every_checkpoint(tmp_path) -> None:
    out = tmp_path / "probe.json"
    argv = [
        "--seed", "2", "--iters", "4", "--every", "2", "--pretrain-iters", "2",
        "--pretrain-images", "8", "--num-train", "8", "--num-val", "4", "--size", "64",
        "--probe-images", "4", "--work-dir", str(tmp_path / "work"), "--out", str(out),
    ]  # fmt: skip
    rows = probe.main(argv)
    assert json.loads(out.read_text())["rows"] == rows
    assert [(r["stage"], r["iteration"]) for r in rows] == [
        ("cam", 0), ("cam", 2), ("cam", 4), ("l2g", 0), ("l2g", 2), ("l2g", 4),
    ]  # fmt: skip
    for row in rows:
        assert math.isfinite(row["peak"]) and row["mean"] <= row["peak"]
        # Each value is rounded to 3 decimals.
        rounding = 5e-4 * (1 + abs(row["ratio"]) + abs(row["peak"])) + 1e-9
        assert abs(row["ratio"] * row["peak"] - row["mean"]) <= rounding
    # Training moved the logits: each checkpoint reads differently from the fresh model.
    assert rows[1]["peak"] != rows[0]["peak"] and rows[4]["peak"] != rows[3]["peak"]

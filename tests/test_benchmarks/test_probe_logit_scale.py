"""The logit-scale probe runs end to end at a tiny size and reports consistent rows."""

import json
import math

from benchmarks import probe_logit_scale as probe


def test_tiny_probe_reports_every_stage(tmp_path) -> None:
    out = tmp_path / "probe.json"
    argv = [
        "--seed", "2", "--cam-iters", "4", "--l2g-iters", "2", "--every", "2",
        "--num-train", "8", "--num-val", "4", "--size", "64", "--probe-images", "4",
        "--workers", "0", "--device", "cpu", "--data-dir", str(tmp_path / "data"),
        "--out", str(out),
    ]  # fmt: skip
    rows = probe.main(argv)
    assert json.loads(out.read_text())["rows"] == rows
    assert [(r["stage"], r["iteration"]) for r in rows] == [
        ("cam", 0), ("cam", 2), ("cam tail", 0), ("cam tail", 2), ("l2g", 0), ("l2g", 2),
    ]  # fmt: skip
    for row in rows:
        assert math.isfinite(row["peak"]) and row["mean"] <= row["peak"]
        # Each value is rounded to 3 decimals.
        rounding = 5e-4 * (1 + abs(row["ratio"]) + abs(row["peak"])) + 1e-9
        assert abs(row["ratio"] * row["peak"] - row["mean"]) <= rounding
    # The L2G run starts from the CAM network as it was at the end of its first part.
    assert rows[4]["peak"] == rows[2]["peak"] and rows[4]["mean"] == rows[2]["mean"]

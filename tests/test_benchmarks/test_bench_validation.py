"""benchmarks/bench_validation.py at a tiny size: the forward-pass counts it reports."""

import pytest

from benchmarks import bench_validation


def test_counts_one_pass_for_validation_and_scales_x_flips_for_tta(capsys) -> None:
    args = bench_validation.parse_args(
        ["--num-images", "3", "--size", "32", "--repeats", "1", "--threads", "1",
         "--cfg-options", "model.test_cfg.scales=[1.0,0.5]", "val_dataloader.batch_size=2"]
    )  # fmt: skip
    rows = {row["path"]: row for row in bench_validation.run(args)}
    plain, tta = rows["val_step (predict)"], rows["--tta (L2GTTAModel)"]
    assert plain["images"] == tta["images"] == 3
    # Batches of 2 and 1 image: one call each (plain); one per scale each (--tta).
    assert plain["forward_calls_per_image"] == pytest.approx(2 / 3)
    assert plain["forward_images_per_image"] == pytest.approx(1.0)
    assert tta["forward_calls_per_image"] == pytest.approx(4 / 3)
    assert tta["forward_images_per_image"] == pytest.approx(4.0)  # 2 scales x 2 flips
    assert plain["ms_per_image"] > 0 and tta["ms_per_image"] > 0
    table = bench_validation.format_table(list(rows.values()))
    assert table.count("\n") == 3 and "| val_step (predict) | 3 | 0.667 | 1.00 |" in table

"""The per-backbone benchmark builds each model from its config and reports its facts."""

import json

import pytest

from benchmarks import bench_backbones

CONFIGS = [
    "configs/l2g/cam_plaincnn_1xb8-600it_synthetic-128.py",
    "configs/l2g/l2g_tinyvit_1xb8-600it_synthetic-128.py",
]


def test_backbone_table_from_the_configs(tmp_path, capsys):
    out = tmp_path / "backbones.json"
    argv = ["--configs", *CONFIGS, "--size", "48", "--warmup", "0", "--repeats", "1"]
    bench_backbones.main([*argv, "--out", str(out)])
    doc = json.loads(out.read_text())
    rows = doc["measurements"]["backbones"]
    cam, vit = rows[
        "cam_plaincnn_1xb8-600it_synthetic-128"
    ], rows["l2g_tinyvit_1xb8-600it_synthetic-128"]  # fmt: skip
    # The configs' own facts: no views for the plain CAM; 6 views at 90/128 of the image.
    assert (cam["num_views"], cam["crop_size"]) == (0, None)
    assert (vit["num_views"], vit["crop_size"]) == (6, round(48 * 90 / 128))
    assert cam["feat_stride"] == vit["feat_stride"] == 8
    assert cam["readout_maps"] == vit["readout_maps"] == 8  # 4 scales x 2 flips
    assert 0 < cam["global_params_m"] < vit["global_params_m"] < 5
    for name, row in rows.items():
        ratio = doc["ratios"][f"{name}/step_over_global"]
        assert ratio == pytest.approx(row["step_ms"] / row["global_fwd_bwd_ms"])
    printed = capsys.readouterr().out
    assert "| l2g_tinyvit_1xb8-600it_synthetic-128 | " in printed

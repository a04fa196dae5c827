"""The experiment driver's options and reports, on hand-computed cases."""

import json
import math
import os.path as osp

from mmseg_l2g.experiments.experiment import (
    SWEEP,
    ExperimentPlan,
    data_options,
    design_tag,
    loop_options,
    mean_std,
    pretrain_backbone,
    pretrained_backbone_options,
    results_table,
    summarise,
)


def test_sweep_holds_the_release_threshold_and_low_values():
    assert "0.25" in SWEEP and SWEEP[0] == "0.01" and SWEEP[-1] == "0.95"
    assert len(SWEEP) == len(set(SWEEP)) == 4 + 19


def test_summarise_reads_best_and_fixed_threshold():
    metrics = dict(
        best_thr=0.1,
        best_miou=51.234,
        sweep=[dict(thr=0.1, miou=51.234), dict(thr=0.25, miou=40.004)],
    )
    assert summarise(metrics) == dict(best_thr=0.1, best_miou=51.23, fixed_miou=40.0)
    assert all(math.isnan(v) for v in summarise({}).values())


def test_mean_std_is_the_sample_standard_deviation():
    assert mean_std([1.0, 3.0]) == (2.0, math.sqrt(2.0))
    assert mean_std([5.0, math.nan]) == (5.0, 0.0)
    assert all(math.isnan(v) for v in mean_std([]))


def test_results_table_rows_and_mean():
    def row(seed, cam, l2g):
        score = lambda m: dict(best_thr=0.2, best_miou=m, fixed_miou=m - 1)  # noqa: E731
        return dict(seed=seed, scores=dict(cam=dict(val=score(cam)), l2g=dict(val=score(l2g))))

    lines = results_table([row(0, 40.0, 50.0), row(1, 44.0, 54.0)]).splitlines()
    assert lines[0].startswith("| seed | plain CAM: best (thr) / at 0.25 | L2G:")
    assert lines[2] == "| 0 | 40.0 (0.20) / 39.0 | 50.0 (0.20) / 49.0 |"
    assert lines[4] == "| mean +- std | 42.0 +- 2.8 / 41.0 +- 2.8 | 52.0 +- 2.8 / 51.0 +- 2.8 |"


def test_options_point_every_split_and_the_backbone():
    options = data_options("/d", {"class_names_file": "/n.txt"})
    assert options["val_dataloader.dataset.data_root"] == "/d"
    assert options["test_dataloader.dataset.class_names_file"] == "/n.txt"
    assert loop_options(30, 4)["param_scheduler.0.end"] == 30
    assert loop_options(30, 4)["train_dataloader.batch_size"] == 4
    backbone = pretrained_backbone_options("/p/iter_5.pth")
    assert backbone["model.backbone.init_cfg.prefix"] == "global_backbone."
    assert backbone["model.backbone.init_cfg.checkpoint"] == "/p/iter_5.pth"


class _RecordingStages:
    """Stands in for StageRunner: records where each training would go."""

    def __init__(self) -> None:
        self.out_dirs = []

    def train(self, name, config, options, out_dir=None):
        self.out_dirs.append(out_dir)
        return osp.join(out_dir, "iter_1.pth")


def test_pretraining_of_another_design_is_another_cache_entry(tmp_path):
    stages = _RecordingStages()
    plain = ExperimentPlan(iters=1, pretrain_iters=1, pretrain_images=2, size=32)
    other = ExperimentPlan(
        iters=1, pretrain_iters=1, pretrain_images=2, size=32, design={"mark_offset": 0.0}
    )
    pretrain_backbone(stages, plain, str(tmp_path))
    pretrain_backbone(stages, other, str(tmp_path))
    assert stages.out_dirs[0] == osp.join(str(tmp_path), "pretrain_seed1000_32px_2img_1it")
    assert stages.out_dirs[1] != stages.out_dirs[0]
    assert design_tag({"mark_offset": 0.0}) in stages.out_dirs[1]
    # Each corpus is generated with its own design, in its own folder.
    with open(osp.join(str(tmp_path), "pretrain_seed1000_32px_2img_data", "meta.json")) as f:
        assert json.load(f)["design"]["mark_offset"] != 0.0
    other_data = stages.out_dirs[1].rsplit("_", 1)[0] + "_data"
    with open(osp.join(other_data, "meta.json")) as f:
        assert json.load(f)["design"]["mark_offset"] == 0.0

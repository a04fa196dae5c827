"""The background-threshold sweep against hand-computed confusion matrices."""

import json
import math

import numpy as np
import pytest
import torch

from mmseg_l2g.evaluation import ThresholdSweep, confusion_matrix, threshold_range
from mmseg_l2g.models.postprocess import cam_peaks, sweep_masks

CLASSES = ["background", "a", "b"]
THRESHOLDS = [0.05, 0.2, 0.4, 0.6]
# One class (0-based 0 -> mask value 1), four pixels; ground truth bg, bg, a, a.
CAMS = torch.tensor([[[0.1, 0.3, 0.5, 0.8]]])
GT = torch.tensor([[0, 0, 1, 1]], dtype=torch.uint8)


def sweep_of(num_images: int) -> ThresholdSweep:
    sweep = ThresholdSweep(THRESHOLDS, CLASSES)
    score, value = cam_peaks(CAMS, torch.tensor([0]))
    for _ in range(num_images):
        preds = sweep_masks(score, value, sweep.thresholds)
        sweep.update(confusion_matrix(preds, GT, num_classes=3))
    return sweep


def test_sweep_matrices_and_miou_by_hand():
    sweep = sweep_of(2)
    # thr 0.05: all 'a' -> rows bg: (0,2,0), a: (0,2,0); thr 0.2: bg (1,1,0), a (0,2,0);
    # thr 0.4: perfect; thr 0.6: bg (2,0,0), a (1,1,0). Two identical images double them.
    expected = 2 * np.array(
        [
            [[0, 2, 0, 0], [0, 2, 0, 0], [0, 0, 0, 0]],
            [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 0, 0]],
            [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 0]],
            [[2, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]],
        ]
    )
    assert np.array_equal(sweep.confusion, expected)
    mious = [sweep.scores(t)["miou"] for t in THRESHOLDS]
    # IoUs (bg, a): (0, 1/2), (1/2, 2/3), (1, 1), (2/3, 1/2); class b absent (NaN, left out).
    assert np.allclose(mious, [0.25, 7 / 12, 1.0, 7 / 12])
    assert sweep.best_threshold() == 0.4
    assert sweep.num_images == 2


def test_summary_and_table():
    sweep = sweep_of(1)
    report = sweep.summary(chosen=0.2)
    # Scores in percent, as mmseg logs them.
    assert report["best_thr"] == 0.4 and report["best_miou"] == 100.0
    assert report["chosen_thr"] == 0.2
    assert math.isclose(report["chosen"]["iou"]["a"], 200 / 3)
    assert math.isclose(report["chosen"]["precision"]["background"], 100.0)
    assert math.isclose(report["chosen"]["recall"]["background"], 50.0)
    assert math.isnan(report["chosen"]["iou"]["b"])
    assert [entry["thr"] for entry in report["sweep"]] == THRESHOLDS
    table = sweep.format_table(chosen=0.2)
    lines = table.splitlines()
    assert any(
        line.strip().startswith("0.400") and "100.00" in line and line.endswith("<- best")
        for line in lines
    )
    assert any(
        line.strip().startswith("0.200") and "58.33" in line and line.endswith("<- chosen")
        for line in lines
    )
    with pytest.raises(KeyError):
        sweep.scores(0.3)


def test_threshold_range_and_bad_updates():
    assert threshold_range(0.05, 0.5, 0.05) == [
        0.05,
        0.1,
        0.15,
        0.2,
        0.25,
        0.3,
        0.35,
        0.4,
        0.45,
        0.5,
    ]
    assert threshold_range(0.1, 0.3, 0.1) == [0.1, 0.2, 0.3]
    with pytest.raises(ValueError, match="positive"):
        threshold_range(0.1, 0.3, 0)
    with pytest.raises(ValueError, match="more than 1001; use a larger step"):
        threshold_range(0.0, 1.0, 1e-7)  # 10^7 thresholds: refused before any list is built
    with pytest.raises(ValueError, match="finite"):
        threshold_range(0.0, float("inf"), 0.1)
    sweep = sweep_of(1)
    with pytest.raises(ValueError, match="shape"):
        sweep.update(np.zeros((1, 3, 4), dtype=np.int64))


def test_metric_sums_images_and_reports_like_the_sweep():
    from mmseg_l2g.evaluation import ThresholdSweepMetric

    reference = sweep_of(2)
    metric = ThresholdSweepMetric(THRESHOLDS, reference.class_names, chosen_thr=0.2)
    one = sweep_of(1).confusion
    metric.process(None, [dict(confusion=one)])
    metric.process(None, [dict(confusion=reference.confusion - one)])
    assert len(metric.results) == 1  # one running sum per rank, not one entry per image
    report = metric.evaluate_ranks()
    expected = reference.summary(chosen=0.2)
    assert report["num_images"] == 2 and report["best_miou"] == 100.0
    assert json.dumps(report, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert np.array_equal(metric.sweep.confusion, reference.confusion)
    assert metric.results == []  # mmengine clears the results after evaluating
    with pytest.raises(ValueError, match="shape"):
        metric.process(None, [dict(confusion=np.zeros((1, 3, 4), dtype=np.int64))])


def test_parse_thresholds_from_text():
    from mmseg_l2g.evaluation import parse_thresholds

    assert parse_thresholds(["0.1:0.3:0.1"]) == [0.1, 0.2, 0.3]
    assert parse_thresholds(["0.2", "0.4"]) == [0.2, 0.4]
    for bad, match in ((["0.1:0.3"], "START:STOP:STEP"), (["x"], "numbers"), (["1.5"], r"\[0, 1\]"),
                       (["nan"], r"\[0, 1\]"), (["0:1:1e-9"], "larger step")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            parse_thresholds(bad)

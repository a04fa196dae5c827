"""Confusion matrices and scores against hand-computed values."""

import math

import numpy as np
import pytest
import torch

from mmseg_l2g.evaluation import confusion_matrix, scores_from_confusion

# K = 3 classes; gt 255 is skipped, predicted 255 is the last column.
GT = np.array([[0, 0, 1], [1, 2, 255]], dtype=np.uint8)
PRED = np.array([[0, 1, 1], [255, 2, 2]], dtype=np.uint8)


def test_confusion_by_hand():
    # Pairs (gt, pred): (0,0) (0,1) (1,1) (1,255) (2,2); the gt-255 pixel is left out.
    expected = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    conf = confusion_matrix(PRED, GT, num_classes=3)
    assert conf.dtype == np.int64
    assert np.array_equal(conf, expected)
    stacked = confusion_matrix(torch.from_numpy(np.stack([PRED, GT])), torch.from_numpy(GT), 3)
    assert np.array_equal(stacked[0], expected)
    # GT as its own prediction: diagonal only (5 scored pixels).
    assert np.array_equal(stacked[1], [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 1, 0]])


def test_scores_by_hand():
    scores = scores_from_confusion(confusion_matrix(PRED, GT, 3))
    # TP (1, 1, 1); gt counts (2, 2, 1); predicted counts (1, 2, 1) (255 not a class).
    assert np.allclose(scores["iou"], [1 / 2, 1 / 3, 1.0])
    assert np.allclose(scores["precision"], [1.0, 1 / 2, 1.0])
    assert np.allclose(scores["recall"], [1 / 2, 1 / 2, 1.0])
    assert math.isclose(scores["miou"], (1 / 2 + 1 / 3 + 1) / 3)
    assert math.isclose(scores["accuracy"], 3 / 5)
    assert math.isclose(scores["ignored_ratio"], 1 / 5)


def test_absent_class_is_nan_and_left_out_of_the_mean():
    gt = np.array([[0, 1]], dtype=np.uint8)
    scores = scores_from_confusion(confusion_matrix(gt, gt, num_classes=3))
    assert np.allclose(scores["iou"][:2], [1.0, 1.0]) and math.isnan(scores["iou"][2])
    assert math.isnan(scores["precision"][2]) and math.isnan(scores["recall"][2])
    assert scores["miou"] == 1.0


def test_out_of_range_values_raise():
    with pytest.raises(ValueError, match="ground-truth values"):
        confusion_matrix(PRED, np.full_like(GT, 7), 3)
    with pytest.raises(ValueError, match="predicted values"):
        confusion_matrix(np.full_like(PRED, 5), GT, 3)
    with pytest.raises(ValueError, match="must be"):
        confusion_matrix(PRED[:1], GT, 3)

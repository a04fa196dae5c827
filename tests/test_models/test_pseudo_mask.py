"""Threshold and saliency-fusion rules on hand-made CAMs."""

import pytest
import torch

from mmseg_l2g.models.postprocess import (
    cam_peaks,
    make_mask,
    saliency_fused_mask,
    sweep_masks,
    threshold_mask,
)


def make_pseudo_mask(cams, labels, bg_thr=0.25, saliency=None, sal_thr=0.5):
    """The mask :func:`make_mask` makes from the float16-rounded CAMs."""
    return make_mask(cams.half(), labels, bg_thr, saliency, sal_thr)[0]


# Two classes present: 0-based 0 (mask value 1) and 2 (mask value 3); one row of 5 pixels.
CAMS = torch.tensor(
    [
        [[0.1, 0.6, 0.25, 0.3, 0.9]],
        [[0.2, 0.6, 0.10, 0.7, 0.0]],
    ]
)
LABELS = torch.tensor([0, 2])
SALIENCY = torch.tensor([[0.9, 0.1, 0.8, 0.6, 0.4]])


def test_threshold_rule_by_hand():
    # px0: best 0.2 <= 0.25 -> bg; px1: tie between classes -> first (value 1);
    # px2: 0.25 == bg_thr -> tie goes to background; px3: 0.7 -> value 3; px4: 0.9 -> 1.
    mask = make_pseudo_mask(CAMS, LABELS, bg_thr=0.25)
    assert mask.dtype == torch.uint8
    assert mask.tolist() == [[0, 1, 0, 3, 1]]
    # A higher background score keeps only the strongest pixels.
    assert make_pseudo_mask(CAMS, LABELS, bg_thr=0.65).tolist() == [[0, 0, 0, 3, 1]]


def test_threshold_rule_is_argmax_over_background_and_cams():
    torch.manual_seed(0)
    cams = torch.rand(3, 7, 9)
    labels = torch.tensor([1, 4, 6])
    for bg_thr in (0.1, 0.5, 0.9):
        stacked = torch.cat([torch.full((1, 7, 9), bg_thr), cams.half().float()])
        index = stacked.argmax(0)
        expected = torch.where(index == 0, 0, labels[(index - 1).clamp(min=0)] + 1)
        assert torch.equal(make_pseudo_mask(cams, labels, bg_thr).long(), expected)


def test_saliency_fusion_by_hand():
    # px0 salient, best 0.2 <= cam_thr -> ignore; px1 not salient -> bg;
    # px2 salient, 0.25 not above cam_thr -> ignore; px3 salient, 0.7 -> 3; px4 not salient -> bg.
    mask = make_pseudo_mask(CAMS, LABELS, bg_thr=0.25, saliency=SALIENCY, sal_thr=0.5)
    assert mask.tolist() == [[255, 0, 255, 3, 0]]
    score, value = cam_peaks(CAMS, LABELS)
    assert torch.allclose(score, torch.tensor([[0.2, 0.6, 0.25, 0.7, 0.9]]))
    assert value.tolist() == [[3, 1, 1, 3, 1]]
    # Lower saliency threshold: px4 (0.4) becomes salient and keeps its class.
    low = saliency_fused_mask(score, value, SALIENCY, sal_thr=0.3, cam_thr=0.25)
    assert low.tolist() == [[255, 0, 255, 3, 1]]


def test_sweep_masks_equal_single_masks():
    score, value = cam_peaks(CAMS, LABELS)
    thresholds = [0.05, 0.25, 0.5, 0.8]
    stacked = sweep_masks(score, value, thresholds)
    fused = sweep_masks(score, value, thresholds, SALIENCY, 0.5)
    assert stacked.shape == (4, 1, 5)
    for t, thr in enumerate(thresholds):
        assert torch.equal(stacked[t], threshold_mask(score, value, thr))
        assert torch.equal(fused[t], saliency_fused_mask(score, value, SALIENCY, 0.5, thr))
    assert stacked[0].tolist() == [[3, 1, 1, 3, 1]]
    assert stacked[3].tolist() == [[0, 0, 0, 0, 1]]


def test_no_class_gives_background_and_bad_shapes_raise():
    mask = make_pseudo_mask(torch.zeros(0, 2, 3), torch.zeros(0, dtype=torch.long))
    assert mask.tolist() == [[0, 0, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="n labels"):
        cam_peaks(CAMS, torch.tensor([0]))
    score, value = cam_peaks(CAMS, LABELS)
    with pytest.raises(ValueError, match="saliency shape"):
        saliency_fused_mask(score, value, torch.zeros(2, 5), 0.5, 0.25)

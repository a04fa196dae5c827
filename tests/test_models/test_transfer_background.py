"""Tests of the local target's background rule (``background='network'`` / ``'complement'``)."""

import pytest
import torch

from mmseg_l2g.models.losses import AttentionTransferLoss, ShapeTransferLoss
from mmseg_l2g.models.losses.transfer_target import local_attention_target

EPS = 1e-8  # added to each channel's max by the local target


def _local_logits() -> torch.Tensor:
    """(1, 3, 1, 3) local logits: class 0, class 1 (absent from the label), background."""
    class0 = [[4.0, 1.0, 0.0]]  # ReLU / max 4 -> [1, .25, 0]
    class1 = [[9.0, 9.0, 9.0]]  # absent: zeroed whatever its value
    background = [[0.0, 0.0, 0.0]]  # untrained channel, never above 0 here
    return torch.tensor([[class0, class1, background]], dtype=torch.float64)


LABELS = torch.tensor([[1.0, 0.0]], dtype=torch.float64)


def test_network_rule_is_the_release_target():
    target = local_attention_target(_local_logits(), LABELS, num_views=1)
    d = 4 + EPS
    # Background never wins (0 everywhere); the last pixel is all zero (first channel wins
    # the tie with value 0).
    zeros = [[0.0, 0.0, 0.0]]
    expected = torch.tensor([[[[4 / d, 1 / d, 0.0]], zeros, zeros]], dtype=torch.float64)
    torch.testing.assert_close(target, expected, rtol=1e-12, atol=0)


def test_complement_rule_calls_background_where_no_class_reaches_half():
    target = local_attention_target(_local_logits(), LABELS, num_views=1, background="complement")
    d = 4 + EPS
    # background = 1 - max(class 0) = [1 - 4/d, 1 - 1/d, 1]: wins at pixels 2 and 3.
    class0 = [[4 / d, 0.0, 0.0]]
    background = [[0.0, 1 - 1 / d, 1.0]]
    expected = torch.tensor([[class0, [[0.0, 0.0, 0.0]], background]], dtype=torch.float64)
    torch.testing.assert_close(target, expected, rtol=1e-12, atol=0)


def test_constant_rule_cuts_the_local_cam_at_the_score():
    target = local_attention_target(_local_logits(), LABELS, num_views=1, background=0.25)
    d = 4 + EPS
    # Class 0's [1, .25 - 1e-9, 0] against the constant 0.25: background wins pixels 2 and 3
    # (class 0's 1/d is below 0.25; ties would go to the class, the first channel).
    class0 = [[4 / d, 0.0, 0.0]]
    background = [[0.0, 0.25, 0.25]]
    expected = torch.tensor([[class0, [[0.0, 0.0, 0.0]], background]], dtype=torch.float64)
    torch.testing.assert_close(target, expected, rtol=1e-12, atol=0)


def test_complement_ignores_absent_classes():
    # Class 1 is absent: its large logits must not lower the background's complement.
    labels = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    target = local_attention_target(_local_logits(), labels, num_views=1, background="complement")
    expected = torch.zeros(1, 3, 1, 3, dtype=torch.float64)
    expected[:, 2] = 1.0
    torch.testing.assert_close(target, expected, rtol=0, atol=0)


def test_losses_use_the_rule():
    # G = softmax of zero logits = 1/3 everywhere; the box covers the 1x3 map at stride 8.
    global_logits = torch.zeros(1, 3, 1, 3, dtype=torch.float64)
    boxes = torch.tensor([[0.0, 0.0, 24.0, 8.0]], dtype=torch.float64)
    local = _local_logits()
    for rule in ("network", "complement", 0.25):
        target = local_attention_target(local, LABELS, 1, background=rule)
        expected = ((1 / 3 - target) ** 2).mean().item()
        loss = AttentionTransferLoss(loss_weight=1.0, background=rule)
        assert loss(global_logits, local, boxes, LABELS).item() == pytest.approx(expected)
    # Shape loss, saliency 1 everywhere: class channels keep B * 1, background B * 0.
    saliency = torch.ones(1, 1, 1, 3, dtype=torch.float64)
    mask = (local_attention_target(local, LABELS, 1, background="complement") > 0.001).double()
    shape_target = torch.cat([mask[:, :-1], mask[:, -1:] * 0.0], dim=1)
    expected = ((1 / 3 - shape_target) ** 2).mean().item()
    loss = ShapeTransferLoss(loss_weight=1.0, background="complement")
    assert loss(global_logits, local, boxes, LABELS, saliency).item() == pytest.approx(expected)
    # ... which differs from the release's rule here (pixel 2 is background, not class 0).
    release = ShapeTransferLoss(loss_weight=1.0)(global_logits, local, boxes, LABELS, saliency)
    assert release.item() != pytest.approx(expected)


@pytest.mark.parametrize("loss_type", [AttentionTransferLoss, ShapeTransferLoss])
def test_unknown_rule_is_refused(loss_type):
    with pytest.raises(ValueError, match="background must be one of"):
        loss_type(background="saliency")
    for bad in (0.0, 1.0, -0.5, True):
        with pytest.raises(ValueError, match="background must be one of"):
            loss_type(background=bad)
    with pytest.raises(ValueError, match="background must be one of"):
        local_attention_target(_local_logits(), LABELS, 1, background="zero")

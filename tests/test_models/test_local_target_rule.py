"""Tests of the local target's rule: the release's (the network's own background), the only one."""

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


def test_losses_use_the_release_target():
    # G = softmax of zero logits = 1/3 everywhere; the box covers the 1x3 map at stride 8.
    global_logits = torch.zeros(1, 3, 1, 3, dtype=torch.float64)
    boxes = torch.tensor([[0.0, 0.0, 24.0, 8.0]], dtype=torch.float64)
    local = _local_logits()
    target = local_attention_target(local, LABELS, 1)
    expected = ((1 / 3 - target) ** 2).mean().item()
    loss = AttentionTransferLoss(loss_weight=1.0)
    assert loss(global_logits, local, boxes, LABELS).item() == pytest.approx(expected)
    # Shape loss, saliency 1 everywhere: class channels keep B * 1, background B * 0;
    # B = T > 0.001 is [1, 1, 0] on class 0 and 0 elsewhere.
    saliency = torch.ones(1, 1, 1, 3, dtype=torch.float64)
    shape_target = torch.zeros(1, 3, 1, 3, dtype=torch.float64)
    shape_target[0, 0, 0, :2] = 1.0
    expected = ((1 / 3 - shape_target) ** 2).mean().item()
    loss = ShapeTransferLoss(loss_weight=1.0)
    assert loss(global_logits, local, boxes, LABELS, saliency).item() == pytest.approx(expected)


@pytest.mark.parametrize("loss_type", ["AttentionTransferLoss", "ShapeTransferLoss"])
def test_a_config_asking_for_a_removed_background_rule_fails_at_build(loss_type):
    # The rules that lost ('complement', a constant) left the losses: a config that
    # still sets one is refused when the model is built, naming the argument.
    from mmseg.registry import MODELS

    with pytest.raises(TypeError, match="background"):
        MODELS.build(dict(type=loss_type, background="complement"))

"""The transfer-target probe's counting, on hand-made targets and truths."""

import pytest
import torch

from benchmarks import probe_transfer_targets as probe


def test_truth_is_sampled_at_the_cell_centres():
    gt = torch.arange(64).reshape(8, 8)
    # A 4x4 box at (2, 4) read as a 2x2 map: centres at x = 3, 5 and y = 5, 7.
    truth = probe.truth_at_cells(gt, torch.tensor([[2.0, 4.0, 6.0, 8.0]]), (2, 2))
    assert truth.tolist() == [[[5 * 8 + 3, 5 * 8 + 5], [7 * 8 + 3, 7 * 8 + 5]]]


def test_winner_outcomes_count_each_kind():
    # K = 3 (classes 0, 1, background); 1 view of 1x4 pixels.
    target = torch.zeros(1, 3, 1, 4)
    target[0, 0, 0, 0] = 0.9  # object of class 1 (truth 1): own class
    target[0, 2, 0, 1] = 0.7  # object of class 1: background
    target[0, 1, 0, 2] = 0.5  # background pixel: a class
    # pixel 3: background, all channels 0 -> nothing
    truth = torch.tensor([[[1, 1, 0, 0]]])
    tally = probe.Tally()
    probe.winner_outcomes(target, truth, 0.001, tally, "network")
    shares = tally.shares()
    assert shares["objects/network"] == pytest.approx(
        {"pixels": 2, "nothing": 0.0, "background": 50.0, "own class": 50.0, "other class": 0.0}
    )
    assert shares["background/network"] == pytest.approx(
        {"pixels": 2, "nothing": 50.0, "background": 0.0, "a class": 50.0}
    )


def test_ignored_pixels_are_not_counted():
    target = torch.zeros(1, 3, 1, 2)
    target[0, 0] = 1.0
    tally = probe.Tally()
    probe.winner_outcomes(target, torch.tensor([[[255, 1]]]), 0.001, tally, "network")
    assert tally.shares()["objects/network"]["pixels"] == 1
    assert tally.shares()["objects/network"]["own class"] == 100.0


def test_near_and_far_object_pixels_are_tallied_apart():
    target = torch.zeros(1, 3, 1, 4)
    target[0, 0, 0, 0] = 0.9  # near the mark: own class
    target[0, 2, 0, 1] = 0.8  # far: background
    target[0, 0, 0, 2] = 0.6  # far: own class
    truth = torch.tensor([[[1, 1, 1, 0]]])
    near = torch.tensor([[[True, False, False, False]]])
    tally = probe.Tally()
    probe.winner_outcomes(target, truth, 0.001, tally, "network", near)
    shares = tally.shares()
    assert shares["objects near mark/network"]["pixels"] == 1
    assert shares["objects near mark/network"]["own class"] == 100.0
    assert shares["objects far/network"]["pixels"] == 2
    assert shares["objects far/network"]["own class"] == 50.0
    assert shares["objects far/network"]["background"] == 50.0
    assert shares["objects/network"]["pixels"] == 3  # the split adds to the whole


class _Sample:
    """The fields of a packed data sample that ``near_at_cells`` reads."""

    def __init__(self, gt: torch.Tensor, flip: bool) -> None:
        from types import SimpleNamespace

        self.gt_sem_seg = SimpleNamespace(data=gt[None])
        self.ori_shape = tuple(gt.shape)
        self.img_path = "/data/JPEGImages/img7.jpg"
        self.metainfo = {"flip": flip}
        self.local_boxes = torch.tensor([[0.0, 0.0, 40.0, 1.0]])


@pytest.mark.parametrize("flip", [False, True])
def test_near_cells_follow_the_mark_through_a_flip(flip):
    # A 1 x 40 object of class 1 whose mark sits at x = 2..3 (before the flip).
    gt = torch.ones(1, 40, dtype=torch.long)
    marks = {"img7": [{"class": 0, "box": [0, 2, 1, 4]}]}  # centre x = 2.5
    if flip:
        gt = gt.flip(1)  # the pipeline flipped the image: the mark is now at x = 36..37
    near = probe.near_at_cells(_Sample(gt, flip), marks, (1, 40))[0, 0]
    centre = 36.5 if flip else 2.5
    expected = [abs(x - centre) <= probe.NEAR_RADIUS for x in range(40)]
    assert near.tolist() == expected
    assert sum(expected) == 18  # a hand count: 15 px to one side, the image edge on the other


def test_near_cells_refuse_a_rescaled_image():
    sample = _Sample(torch.ones(1, 40, dtype=torch.long), False)
    sample.ori_shape = (2, 80)
    with pytest.raises(ValueError, match="img7.jpg: the view probe's near / far split"):
        probe.near_at_cells(sample, {"img7": []}, (1, 40))


def _local_logits() -> torch.Tensor:
    """(1, 3, 1, 3): class 0 [4, 1, 0] (ReLU / max -> [1, .25, 0]), class 1 (absent from
    the label) 9 everywhere, the untrained background channel 0 everywhere."""
    values = [4.0, 1.0, 0.0] + [9.0] * 3 + [0.0] * 3
    return torch.tensor(values, dtype=torch.float64).view(1, 3, 1, 3)


RULE_LABELS = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
D = 4 + 1e-8  # class 0's max plus the normalisation's eps


def test_network_rule_is_the_losses_target():
    from mmseg_l2g.models.losses.transfer_target import local_attention_target

    expected = local_attention_target(_local_logits(), RULE_LABELS, 1)
    target = probe.target_under_rule(_local_logits(), RULE_LABELS, 1, "network")
    torch.testing.assert_close(target, expected, rtol=0, atol=0)


def test_complement_rule_calls_background_where_no_class_reaches_half():
    target = probe.target_under_rule(_local_logits(), RULE_LABELS, 1, "complement")
    # background = 1 - max(class 0) = [1 - 4/d, 1 - 1/d, 1]: wins at pixels 2 and 3.
    class0 = [[4 / D, 0.0, 0.0]]
    background = [[0.0, 1 - 1 / D, 1.0]]
    expected = torch.tensor([[class0, [[0.0, 0.0, 0.0]], background]], dtype=torch.float64)
    torch.testing.assert_close(target, expected, rtol=1e-12, atol=0)


def test_constant_rule_cuts_the_local_cam_at_the_score():
    target = probe.target_under_rule(_local_logits(), RULE_LABELS, 1, 0.25)
    # Class 0's [1, .25 - 1e-9, 0] against the constant 0.25: background wins pixels 2, 3.
    class0 = [[4 / D, 0.0, 0.0]]
    background = [[0.0, 0.25, 0.25]]
    expected = torch.tensor([[class0, [[0.0, 0.0, 0.0]], background]], dtype=torch.float64)
    torch.testing.assert_close(target, expected, rtol=1e-12, atol=0)


def test_complement_ignores_absent_classes():
    # Class 1 is absent: its large logits must not lower the background's complement.
    labels = torch.zeros(1, 2, dtype=torch.float64)
    target = probe.target_under_rule(_local_logits(), labels, 1, "complement")
    expected = torch.zeros(1, 3, 1, 3, dtype=torch.float64)
    expected[:, 2] = 1.0
    torch.testing.assert_close(target, expected, rtol=0, atol=0)


@pytest.mark.parametrize("rule", ["zero", 0.0, 1.0])
def test_unknown_rule_is_refused(rule):
    with pytest.raises(ValueError, match="unknown background rule"):
        probe.target_under_rule(_local_logits(), RULE_LABELS, 1, rule)

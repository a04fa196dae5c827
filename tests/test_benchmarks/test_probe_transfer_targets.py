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

"""A non-finite learning rate or weight stops training before any checkpoint holds it.

``parse_losses`` refuses a NaN loss, but a NaN learning rate poisons the
weights on a step whose loss is finite; without ``FiniteTrainingHook`` the
checkpoint after that step held NaN weights, ``last_checkpoint`` named it and
the next step's error advised resuming from it.
"""

import math
import os
import os.path as osp

import pytest
import torch
from reliability_helpers import MAX_ITERS, last_checkpoint, load_weights, tail, train


def _checkpoints(work_dir):
    """The checkpoint files in ``work_dir`` (none when it does not exist)."""
    names = os.listdir(work_dir) if osp.isdir(work_dir) else []
    return sorted(name for name in names if name.endswith(".pth"))


def _train_poisoned_at_the_first_step(tiny_config: str, tmp_path, option: str, message: str):
    """Trains with one NaN option, checkpoints every iteration: fails naming it, saves nothing."""
    work_dir = str(tmp_path / "work")
    proc = train(
        tiny_config, work_dir, "--cfg-options", option, "default_hooks.checkpoint.interval=1"
    )
    assert proc.returncode == 1, tail(proc)
    assert message in proc.stderr, tail(proc)
    assert _checkpoints(work_dir) == []
    assert not osp.exists(osp.join(work_dir, "last_checkpoint"))
    return proc


def test_nan_learning_rate_stops_before_the_first_update(tiny_config, tmp_path):
    proc = _train_poisoned_at_the_first_step(
        tiny_config,
        tmp_path,
        "optim_wrapper.optimizer.lr=nan",
        "learning rate not finite at iteration 1 (lr = nan)",
    )
    assert "resum" not in proc.stderr.split("FloatingPointError")[-1]


def test_learning_rate_turning_nan_before_a_save_keeps_the_last_finite_checkpoint(
    tiny_config, tmp_path
):
    # The schedule multiplies the rate by NaN from iteration 4 on: the step whose
    # checkpoint (every 2 iterations) would be iter_4.pth.
    config = tmp_path / "nan_schedule.py"
    config.write_text(
        f"_base_ = {tiny_config!r}\n"
        "param_scheduler = [\n"
        "    dict(type='MultiStepLR', by_epoch=False, milestones=[3], gamma=float('nan'))\n"
        "]\n"
    )
    work_dir = str(tmp_path / "work")
    proc = train(str(config), work_dir)
    assert proc.returncode == 1, tail(proc)
    assert "learning rate not finite at iteration 4" in proc.stderr, tail(proc)
    assert _checkpoints(work_dir) == ["iter_2.pth"]
    assert last_checkpoint(work_dir) == osp.join(work_dir, "iter_2.pth")
    weights = load_weights(osp.join(work_dir, "iter_2.pth"))
    assert all(bool(torch.isfinite(v).all()) for v in weights.values() if v.is_floating_point())


def test_weights_poisoned_with_a_finite_loss_are_never_saved(tiny_config, tmp_path):
    # A NaN weight decay: the learning rate is finite, the first step's loss too,
    # and the update makes every decayed weight NaN.
    proc = _train_poisoned_at_the_first_step(
        tiny_config,
        tmp_path,
        "optim_wrapper.optimizer.weight_decay=nan",
        "weights not finite after iteration 1",
    )
    assert "holds nan" in proc.stderr
    assert f"[1/{MAX_ITERS}]" not in proc.stdout + proc.stderr  # not even logged as done


def test_first_nonfinite_tensor_names_the_tensor_and_what_it_holds():
    from mmseg_l2g.engine.hooks.finite_training_hook import (
        FiniteTrainingHook,
        first_nonfinite_tensor,
        learning_rates,
    )

    finite = [("a", torch.ones(3)), ("steps", torch.tensor([2, 3]))]
    assert first_nonfinite_tensor(finite) is None
    assert first_nonfinite_tensor([]) is None
    tensors = finite + [("b", torch.tensor([1.0, float("inf")])), ("c", torch.tensor(float("nan")))]
    assert first_nonfinite_tensor(tensors) == ("b", "inf")
    assert first_nonfinite_tensor(tensors[:2] + tensors[3:]) == ("c", "nan")
    flat = learning_rates({"lr": [0.1, float("nan")], "base.lr": 0.5})
    assert [name for name, _ in flat] == ["lr", "lr", "base.lr"]
    assert flat[0][1] == 0.1 and math.isnan(flat[1][1]) and flat[2][1] == 0.5
    with pytest.raises(ValueError, match="interval must be a positive integer"):
        FiniteTrainingHook(interval=0)

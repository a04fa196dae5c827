"""A NaN or infinite loss stops training, naming the iteration and the loss term."""

import os.path as osp

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmseg.registry import DATASETS, MODELS
from reliability_helpers import last_checkpoint, load_weights, tail, train

from mmseg_l2g.apis import load_config


def test_nan_loss_stops_training_through_tools_train(tiny_config, tmp_path):
    work_dir = str(tmp_path / "work")
    # Before iteration 3 the global CAM head's weights become NaN (a divergence).
    proc = train(tiny_config, work_dir, env={"L2G_TEST_POISON_AT_ITER": "3"})
    assert proc.returncode == 1, tail(proc)
    # One line from the tools' error handler, naming the term and the iteration.
    assert "train.py: error: loss term 'loss_at' is nan at iteration 3" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Iterations 1-2 trained and saved; nothing was saved after the bad step.
    assert "Iter(train) [2/8]" in proc.stdout + proc.stderr
    assert "Iter(train) [3/8]" not in proc.stdout + proc.stderr
    assert last_checkpoint(work_dir) == osp.join(work_dir, "iter_2.pth")
    assert not osp.exists(osp.join(work_dir, "iter_4.pth"))
    weights = load_weights(osp.join(work_dir, "iter_2.pth"))
    assert all(bool(torch.isfinite(v).all()) for v in weights.values() if v.is_floating_point())


@pytest.mark.parametrize("weight", [float("inf"), float("nan")])
def test_nonfinite_loss_weight_stops_the_step(tiny_config, weight):
    # The Runner's path in-process: a batch of the config's own dataset, train_step.
    cfg = load_config(tiny_config)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[0], dataset[1]])
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.loss_transfer.loss_weight = weight
    hub = MessageHub.get_instance(f"test_nonfinite_loss_{weight}")
    hub.update_info("iter", 41)  # 0-based, as the Runner records it: iteration 42
    assert MessageHub.get_current_instance() is hub
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    expected = "nan" if weight != weight else "(inf|nan)"
    with pytest.raises(FloatingPointError, match=rf"'loss_at' is {expected} at iteration 42"):
        model.train_step(batch, optim)
    for key, value in model.state_dict().items():
        if value.is_floating_point() and "running" not in key:
            assert torch.equal(value, before[key]), key  # no update happened

"""Training killed between checkpoints (or mid-checkpoint) resumes to the same weights.

A tiny L2G run (PlainCNN, 16 images, 8 iterations, a checkpoint every 2) on
CPU with a fixed seed is killed, then restarted with ``--resume``; its final
checkpoint must equal, tensor for tensor, that of an uninterrupted run.
"""

import collections
import os
import os.path as osp
import pickle
import signal

import pytest
import torch
from reliability_helpers import MAX_ITERS, last_checkpoint, load_weights, tail, train

import mmseg_l2g  # noqa: F401  (registers the checkpoint allow-list)
from mmseg_l2g.engine.checkpoint_globals import history_buffer_getattr


def assert_same_final_state(reference_dir: str, resumed_dir: str) -> None:
    """Model weights and optimizer state of the last checkpoints are identical."""
    name = f"iter_{MAX_ITERS}.pth"
    ref = torch.load(osp.join(reference_dir, name), map_location="cpu", weights_only=True)
    got = torch.load(osp.join(resumed_dir, name), map_location="cpu", weights_only=True)
    assert got["meta"]["iter"] == ref["meta"]["iter"] == MAX_ITERS
    assert ref["state_dict"].keys() == got["state_dict"].keys()
    for key, value in ref["state_dict"].items():
        assert torch.equal(value, got["state_dict"][key]), key
    ref_state, got_state = ref["optimizer"]["state"], got["optimizer"]["state"]
    assert ref_state.keys() == got_state.keys() and len(ref_state) > 0
    for key in ref_state:
        assert torch.equal(ref_state[key]["momentum_buffer"], got_state[key]["momentum_buffer"])
    # Training moved the weights after iteration 4: equal finals are not two idle copies.
    mid = load_weights(osp.join(reference_dir, "iter_4.pth"))
    assert any(not torch.equal(mid[k], v) for k, v in got["state_dict"].items())


def test_sigkill_between_checkpoints_then_resume(tiny_config, reference_run, tmp_path):
    work_dir = str(tmp_path / "work")
    killed = train(tiny_config, work_dir, env={"L2G_TEST_KILL_AFTER_ITER": "5"})
    assert killed.returncode == -signal.SIGKILL, tail(killed)
    # Iteration 5 ran but was never saved: the last checkpoint is iteration 4.
    assert "Iter(train) [5/8]" in killed.stdout + killed.stderr
    assert last_checkpoint(work_dir) == osp.join(work_dir, "iter_4.pth")
    assert not osp.exists(osp.join(work_dir, "iter_6.pth"))

    resumed = train(tiny_config, work_dir, "--resume")
    assert resumed.returncode == 0, tail(resumed)
    log = resumed.stdout + resumed.stderr
    assert "resumed epoch: 0, iter: 4" in log and "Iter(train) [4/8]" not in log
    assert_same_final_state(reference_run, work_dir)


def test_killed_while_writing_a_checkpoint_then_resume(tiny_config, reference_run, tmp_path):
    work_dir = str(tmp_path / "work")
    # After iteration 5 files may only grow to half a checkpoint: the kernel
    # kills the process (SIGXFSZ) half-way through writing iter_6.pth.
    killed = train(tiny_config, work_dir, env={"L2G_TEST_FSIZE_AFTER_ITER": "5:kill"})
    assert killed.returncode == -signal.SIGXFSZ, tail(killed)
    assert "Saving checkpoint at 6 iterations" in killed.stdout + killed.stderr
    # No half-written iter_6.pth for anyone to take for a checkpoint.
    assert not osp.exists(osp.join(work_dir, "iter_6.pth"))
    assert last_checkpoint(work_dir) == osp.join(work_dir, "iter_4.pth")

    resumed = train(tiny_config, work_dir, "--resume")
    assert resumed.returncode == 0, tail(resumed)
    assert "resumed epoch: 0, iter: 4" in resumed.stdout + resumed.stderr
    assert_same_final_state(reference_run, work_dir)
    # The killed write's temp file is gone too.
    assert [n for n in os.listdir(work_dir) if n.startswith(".")] == []


def test_checkpoint_allow_list_refuses_other_getattr(tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer

    assert history_buffer_getattr(HistoryBuffer, "mean") is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match="refused getattr"):
        history_buffer_getattr(os, "system")

    class Evil:  # an allow-listed owner, a name outside the statistics methods
        def __reduce__(self):
            return getattr, (collections.OrderedDict, "fromkeys")

    path = str(tmp_path / "evil.pth")
    torch.save({"x": Evil()}, path)
    with pytest.raises(pickle.UnpicklingError, match="refused getattr"):
        torch.load(path, weights_only=True)

"""Chaining stages: the CAM -> L2G initialisation and finding the last checkpoint."""

import pytest
import torch

from mmseg_l2g.engine.checkpointing import latest_checkpoint
from mmseg_l2g.experiments import cam_to_l2g_init


def test_cam_to_l2g_init_copies_global_into_local(tmp_path) -> None:
    state = {
        "global_backbone.conv.weight": torch.randn(4, 3, 3, 3),
        "global_head.conv_cam.weight": torch.randn(5, 4, 1, 1),
        "data_preprocessor.mean": torch.zeros(3),
    }
    src = tmp_path / "cam.pth"
    torch.save({"state_dict": state, "meta": {}}, src)
    out = cam_to_l2g_init(str(src), str(tmp_path / "init.pth"))
    converted = torch.load(out, weights_only=True)["state_dict"]
    assert set(converted) == {
        "global_backbone.conv.weight",
        "global_head.conv_cam.weight",
        "local_backbone.conv.weight",
        "local_head.conv_cam.weight",
    }
    for name in ("backbone.conv.weight", "head.conv_cam.weight"):
        assert torch.equal(converted["local_" + name], state["global_" + name])
        assert converted["local_" + name].data_ptr() != converted["global_" + name].data_ptr()
    assert not list(tmp_path.glob(".tmp*"))


def test_cam_to_l2g_init_rejects_other_checkpoints(tmp_path) -> None:
    src = tmp_path / "seg.pth"
    torch.save({"state_dict": {"backbone.w": torch.zeros(1)}}, src)
    with pytest.raises(ValueError, match="no global_backbone"):
        cam_to_l2g_init(str(src), str(tmp_path / "init.pth"))


def test_latest_checkpoint_is_the_one_last_checkpoint_names(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        latest_checkpoint(str(tmp_path))
    for n in (2, 10, 4):
        (tmp_path / f"iter_{n}.pth").write_bytes(b"x")
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "iter_4.pth"))
    assert latest_checkpoint(str(tmp_path)).endswith("iter_4.pth")
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "iter_6.pth"))
    with pytest.raises(FileNotFoundError, match="iter_6.pth, which does not exist"):
        latest_checkpoint(str(tmp_path))

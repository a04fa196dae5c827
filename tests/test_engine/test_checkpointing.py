"""The checkpoint layer: allow-listed loading, strict matching, non-finite weights, saving."""

import hashlib
import os

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging.history_buffer import HistoryBuffer

from mmseg_l2g.engine.checkpointing import (
    AtomicLocalBackend,
    compare_state_dicts,
    file_sha256,
    key_check_lines,
    latest_checkpoint,
    load_state_dict,
    load_weights_strict,
    report_key_check,
    save_checkpoint,
)


class GetattrPayload:
    """Unpickles as getattr(HistoryBuffer, '__init__'): an attribute the loader must refuse."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, "__init__")


def test_load_state_dict_runner_style_and_ddp_prefix(tmp_path, monkeypatch):
    weights = {"module.conv.weight": torch.ones(2, 3), "module.conv.bias": torch.zeros(2)}
    buffer = HistoryBuffer()
    buffer.update(1.5)
    meta = {"seed": np.int64(3), "epoch": np.float64(1.0), "arr": np.arange(3)}
    path = str(tmp_path / "ckpt.pth")
    torch.save({"state_dict": weights, "meta": meta, "message_hub": {"loss": buffer}}, path)
    # As in a fresh process: HistoryBuffer fills its method table on first use only.
    monkeypatch.setattr(HistoryBuffer, "_statistics_methods", {})
    state = load_state_dict(path)
    assert sorted(state) == ["conv.bias", "conv.weight"]
    assert torch.equal(state["conv.weight"], torch.ones(2, 3))
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_state_dict(str(tmp_path / "nope.pth"))
    # Any other getattr in the pickle is refused (weights_only stays safe).
    hostile = str(tmp_path / "hostile.pth")
    torch.save({"state_dict": weights, "x": GetattrPayload()}, hostile)
    with pytest.raises(ValueError, match="refused getattr"):
        load_state_dict(hostile)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pth"):
        load_state_dict(str(garbage))


def test_strict_loading_names_every_mismatch(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 2, 1))
    state = model.state_dict()
    state["1.weight"] = torch.zeros(5, 4, 1, 1)
    del state["0.bias"]
    state["head.extra"] = torch.zeros(1)
    path = str(tmp_path / "other.pth")
    torch.save({"state_dict": state}, path)
    with pytest.raises(ValueError) as exc:
        load_weights_strict(model, path, "my_config.py")
    message = str(exc.value)
    assert "other.pth" in message and "my_config.py" in message
    assert "1 missing keys (0.bias)" in message
    assert "1 unexpected keys (head.extra)" in message
    assert "1.weight: checkpoint (5, 4, 1, 1) vs model (2, 4, 1, 1)" in message
    good = str(tmp_path / "good.pth")
    reference = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 2, 1))
    torch.save({"state_dict": reference.state_dict()}, good)
    load_weights_strict(model, good)
    assert torch.equal(model[1].weight, reference[1].weight)


def test_non_finite_weights_are_refused_naming_file_and_tensor(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 1))
    state = model.state_dict()
    state["0.weight"] = torch.full_like(state["0.weight"], float("nan"))
    path = str(tmp_path / "diverged.pth")
    torch.save({"state_dict": state}, path)
    assert torch.isnan(load_state_dict(path)["0.weight"]).all()  # reading alone allows it
    with pytest.raises(ValueError, match=r"diverged\.pth: weights 0\.weight hold NaN"):
        load_weights_strict(model, path, require_finite=True)


def test_atomic_saving_and_content_hash(tmp_path):
    path = str(tmp_path / "ckpt.pth")
    save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)
    first = file_sha256(path)
    assert torch.equal(load_state_dict(path)["w"], torch.ones(2))
    save_checkpoint({"state_dict": {"w": torch.zeros(2)}}, path)  # same size, other content
    assert file_sha256(path) != first
    AtomicLocalBackend().put(b"abc", str(tmp_path / "iter_1.pth"))
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pth", "iter_1.pth"]
    # The digest is hashlib's of the whole content, whatever the chunk size.
    (tmp_path / "abc.bin").write_bytes(b"abc" * 1000)
    expected = hashlib.sha256(b"abc" * 1000).hexdigest()
    assert file_sha256(str(tmp_path / "abc.bin"), chunk_size=7) == expected


def test_compare_state_dicts_and_its_report():
    own = {"a": torch.zeros(2), "b": torch.zeros(3, 1), "c": torch.zeros(1)}
    theirs = {"b": torch.zeros(4, 1), "c": torch.ones(1), "z": torch.zeros(1), "y": torch.zeros(1)}
    check = compare_state_dicts(theirs, own)
    assert check == (["a"], ["y", "z"], ["b: checkpoint (4, 1) vs model (3, 1)"])
    assert key_check_lines(*check) == [
        "check: 1 missing key(s): a",
        "check: 2 unexpected key(s): y, z",
        "check: 1 shape mismatch key(s): b: checkpoint (4, 1) vs model (3, 1)",
    ]
    assert compare_state_dicts(own, own) == ([], [], [])


def test_report_key_check_prints_and_refuses(capsys):
    report_key_check(([], [], []), "ResNet38")
    assert capsys.readouterr().out.count("check: 0 ") == 3
    with pytest.raises(ValueError, match="do not fit ResNet38; nothing written"):
        report_key_check((["a"], [], []), "ResNet38")
    assert "check: 1 missing key(s): a" in capsys.readouterr().out
    assert key_check_lines([], [], [])[0] == "check: 0 missing key(s)"


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

"""Checkpoint loading, strict weight matching and the stage-2 dataset config."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
from stage2_helpers import TinyDataset

from mmseg_l2g.apis import (
    dataset_config,
    load_state_dict,
    load_weights_strict,
    spread_indices_with_masks,
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


def test_dataset_config_unwraps_and_empties_pipeline():
    inner = dict(type="SyntheticWSSSDataset", data_root="d", pipeline=[dict(type="X")])
    cfg = Config(
        dict(
            train_dataloader=dict(dataset=dict(type="RepeatDataset", times=3, dataset=inner)),
            val_dataloader=dict(dataset=dict(inner, indices=4)),
        )
    )
    train = dataset_config(cfg, "train")
    assert train["type"] == "SyntheticWSSSDataset" and train["pipeline"] == []
    assert "indices" not in dataset_config(cfg, "val")
    with pytest.raises(KeyError, match="test_dataloader"):
        dataset_config(cfg, "test")


def test_spread_indices_with_masks():
    items = [
        dict(img_id=str(i), seg_map_path=None if i % 3 == 0 else f"{i}.png") for i in range(12)
    ]
    dataset = TinyDataset(items)
    with_masks = [1, 2, 4, 5, 7, 8, 10, 11]
    assert spread_indices_with_masks(dataset, 100) == with_masks
    assert spread_indices_with_masks(dataset, 4) == [1, 4, 7, 10]

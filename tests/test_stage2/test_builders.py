"""Stage 2's inputs from a config: the model (an L2GClassifier only) and the dataset."""

import pytest
from mmengine.config import Config
from stage2_helpers import TinyDataset

from mmseg_l2g.apis import build_cam_model, load_config
from mmseg_l2g.datasets.builders import dataset_config, spread_indices_with_masks


def test_build_cam_model_refuses_a_model_that_is_not_an_l2g_classifier(tmp_path):
    path = tmp_path / "pspnet.py"
    path.write_text('model = dict(type="CrossEntropyLoss")\n')
    with pytest.raises(TypeError, match="pspnet.py: the model is a CrossEntropyLoss, not an L2G"):
        build_cam_model(load_config(str(path)), None)


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

"""Fixtures of the tool tests: tiny synthetic data and a randomly initialised L2G checkpoint."""

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from tool_test_utils import L2G_CONFIG

from mmseg_l2g.datasets.synthetic import make_synthetic


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> str:
    """4 train / 2 val synthetic images of 64 px."""
    root = str(tmp_path_factory.mktemp("synthetic"))
    make_synthetic(root, num_train=4, num_val=2, seed=0, size=64, progress=False)
    return root


@pytest.fixture(scope="module")
def l2g_checkpoint(tmp_path_factory, synthetic_root) -> str:
    """A randomly initialised L2G (PlainCNN) checkpoint with the dataset's classes in its meta."""
    init_default_scope("mmseg")
    cfg = Config.fromfile(L2G_CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    dataset = dict(cfg.test_dataloader.dataset, data_root=synthetic_root)
    meta = DATASETS.build(dataset).metainfo
    path = str(tmp_path_factory.mktemp("ckpt") / "random.pth")
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=meta["classes"], palette=meta["palette"])),
        ),
        path,
    )
    return path

"""The tiny-ViT synthetic configs: stride 8, one training step, the readout at any size."""

import os.path as osp

import pytest
import torch
from l2g_step_utils import build_model, one_training_step, predict_at, random_batch
from mmengine.config import Config
from mmengine.registry import DefaultScope

CONFIGS = osp.join(osp.dirname(__file__), "../../configs/l2g")
NAMES = [
    "l2g_tinyvit_1xb8-600it_synthetic-128.py",
    "cam_tinyvit_1xb8-600it_synthetic-128.py",
    "l2g-sal_tinyvit_1xb8-600it_synthetic-128.py",
]


@pytest.fixture(autouse=True)
def _mmseg_scope() -> None:
    DefaultScope.get_instance("test_tinyvit_configs", scope_name="mmseg")


def _cfg(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIGS, name))


@pytest.mark.parametrize("name", NAMES)
def test_one_training_step(name: str) -> None:
    torch.manual_seed(0)
    cfg = _cfg(name)
    model = build_model(cfg)
    assert model.global_backbone.patch_embed.projection.stride == (8, 8)
    assert model.feat_stride == 8
    num_views = 2 if model.with_local else 0
    batch = random_batch(
        128, 90, num_views, model.num_classes, batch_size=2, saliency="-sal_" in name
    )
    log_vars, changed, seconds = one_training_step(cfg, model, batch)
    print(f"{name}: {seconds:.2f} s per step (batch 2, {num_views} local views, 128 px)")
    assert torch.isfinite(torch.tensor(log_vars["loss"]))
    assert any(n.startswith("global_backbone.layers.") for n in changed)
    assert any(n.startswith("global_backbone.patch_embed.") for n in changed)
    if model.with_local:
        assert model.loss_transfer.feat_stride == 8
        assert any(n.startswith("local_backbone.layers.") for n in changed)
        transfer = "loss_st" if "-sal_" in name else "loss_at"
        assert log_vars[transfer] > 0
    else:
        assert not hasattr(model, "local_backbone")


@pytest.mark.parametrize(("height", "width", "grid"), [(128, 128, (16, 16)), (100, 150, (13, 19))])
def test_readout_at_any_size(height: int, width: int, grid: tuple) -> None:
    model = build_model(_cfg(NAMES[0])).eval()
    # mmpretrain pads the bottom / right to a multiple of the patch (8): ceil(H / 8) cells.
    with torch.no_grad():
        logits = model.extract_cam_logits(torch.randn(1, 3, height, width))
    assert tuple(logits.shape) == (1, 5, *grid)
    for tta in (False, True):  # one pass; the release's scales 0.5-2 with flips
        sample = predict_at(model, height, width, labels=[1, 3], tta=tta)
        cams = sample.pred_cam.data
        assert tuple(cams.shape) == (4, height, width)
        assert tuple(sample.pred_sem_seg.data.shape) == (1, height, width)
        assert cams[[0, 2]].abs().sum() == 0 and cams[[1, 3]].amax() > 0.99
        assert set(sample.pred_sem_seg.data.unique().tolist()) <= {0, 2, 4}

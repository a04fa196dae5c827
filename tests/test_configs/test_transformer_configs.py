"""The ViT / Swin / ConvNeXt L2G configs build, train one step at 448 px and read any size."""

import os.path as osp

import pytest
import torch
from l2g_step_utils import build_model, one_training_step, predict_at, random_batch
from mmengine.config import Config
from mmengine.registry import DefaultScope

CONFIGS = osp.join(osp.dirname(__file__), "../../configs/l2g")
# backbone -> (output stride, CAM grid of a 200 x 296 input): ViT pads to a multiple of
# 16 (ceil: 13 x 19); Swin pads at every stage (ceil: 50x74, 25x37, 13x19, 7x10);
# ConvNeXt does not pad (floor: 50x74, 25x37, 12x18, 6x9).
BACKBONES = {"deit-s16": (16, (13, 19)), "swin-t": (32, (7, 10)), "convnext-t": (32, (6, 9))}
DATASETS = {"voc12aug": 20, "coco14": 80}
CASES = [(b, d) for b in BACKBONES for d in DATASETS]


@pytest.fixture(autouse=True)
def _mmseg_scope() -> None:
    DefaultScope.get_instance("test_transformer_configs", scope_name="mmseg")


def _cfg(backbone: str, dataset: str) -> Config:
    return Config.fromfile(osp.join(CONFIGS, f"l2g_{backbone}_1xb3-10e_{dataset}-448.py"))


@pytest.mark.parametrize(("backbone", "dataset"), CASES)
def test_config_points_at_mmpretrain_imagenet_weights(backbone: str, dataset: str) -> None:
    cfg = _cfg(backbone, dataset)
    init = cfg.model.backbone.init_cfg
    assert init.type == "Pretrained" and init.prefix == "backbone."
    assert init.checkpoint.startswith("https://download.openmmlab.com/mmclassification/")
    assert cfg.model.head.num_classes == DATASETS[dataset]
    assert cfg.optim_wrapper.optimizer.type == "AdamW"
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys["head.conv_cam"].lr_mult == 10.0
    pads = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == "PadWithSaliency"]
    assert [tuple(t.size) for t in pads] == [(448, 448)]  # the release's 448 global view


@pytest.mark.parametrize(("backbone", "dataset"), CASES)
def test_one_training_step_at_448(backbone: str, dataset: str) -> None:
    torch.manual_seed(0)
    cfg = _cfg(backbone, dataset)
    model = build_model(cfg)
    stride = BACKBONES[backbone][0]
    assert model.feat_stride == stride
    assert model.loss_transfer.feat_stride == model.loss_shape.feat_stride == stride
    batch = random_batch(448, 320, 2, DATASETS[dataset], batch_size=1)
    with torch.no_grad():
        logits = model.extract_cam_logits(torch.zeros(1, 3, 448, 448))
    assert tuple(logits.shape) == (1, DATASETS[dataset] + 1, 448 // stride, 448 // stride)
    log_vars, changed, seconds = one_training_step(cfg, model, batch)
    print(f"{backbone} {dataset}: {seconds:.1f} s per step (batch 1, 2 local views, 448 px)")
    assert torch.isfinite(torch.tensor(log_vars["loss"])) and log_vars["loss_at"] > 0
    for network in ("global", "local"):
        assert any(n.startswith(f"{network}_backbone.") for n in changed), network
        assert f"{network}_head.conv_cam.weight" in changed


@pytest.mark.parametrize("backbone", BACKBONES)
def test_readout_at_a_size_not_a_multiple_of_16(backbone: str) -> None:
    model = build_model(_cfg(backbone, "voc12aug")).eval()
    with torch.no_grad():
        logits = model.extract_cam_logits(torch.randn(1, 3, 200, 296))
    assert tuple(logits.shape[-2:]) == BACKBONES[backbone][1]
    for tta in (False, True):  # one pass; the release's scales 0.5-2 with flips
        sample = predict_at(model, 200, 296, labels=[4, 14], tta=tta)
        cams = sample.pred_cam.data
        assert tuple(cams.shape) == (20, 200, 296)
        assert tuple(sample.pred_sem_seg.data.shape) == (1, 200, 296)
        assert cams[4].amax() > 0.99 and cams[14].amax() > 0.99
        absent = torch.ones(20, dtype=torch.bool)
        absent[[4, 14]] = False
        assert cams[absent].abs().sum() == 0

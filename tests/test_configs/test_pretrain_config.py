"""The synthetic runs start from the pretraining config's backbone with fresh heads."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import mmseg_l2g  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAIN = osp.join(REPO, "configs/pretrain/plaincnn_1xb8-1000it_synthetic-pretrain-128.py")
L2G_CONFIGS = [
    "configs/l2g/cam_plaincnn_1xb8-600it_synthetic-128.py",
    "configs/l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py",
    "configs/l2g/l2g-sal_plaincnn_1xb8-600it_synthetic-128.py",
]


def pretrained_options(checkpoint: str) -> dict:
    """What the experiment driver passes with --cfg-options."""
    return {
        "model.backbone.init_cfg.type": "Pretrained",
        "model.backbone.init_cfg.checkpoint": checkpoint,
        "model.backbone.init_cfg.prefix": "global_backbone.",
    }


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A 'pretrained' classifier built from the pretraining config, saved as a checkpoint."""
    DefaultScope.get_instance("test_pretrain_config", scope_name="mmseg")
    cfg = Config.fromfile(PRETRAIN)
    assert not cfg.model.with_local and cfg.model.global_cls_weight > 0
    assert cfg.val_dataloader is None and cfg.custom_hooks == []
    torch.manual_seed(123)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():  # make the weights unlike any fresh initialisation
        for param in model.parameters():
            param.add_(1.5)
    path = str(tmp_path_factory.mktemp("pretrain") / "iter_10.pth")
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    return path, model.state_dict()


@pytest.mark.parametrize("config", L2G_CONFIGS)
def test_backbones_load_the_pretrained_weights_and_heads_stay_fresh(config, pretrained):
    path, state = pretrained
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict(pretrained_options(path))
    model = MODELS.build(cfg.model)
    model.init_weights()
    networks = ["global"] + (["local"] if cfg.model.with_local else [])
    for network in networks:
        backbone = getattr(model, f"{network}_backbone").state_dict()
        assert backbone.keys() == {
            k[len("global_backbone.") :] for k in state if k.startswith("global_backbone.")
        }
        for key, value in backbone.items():
            torch.testing.assert_close(value, state[f"global_backbone.{key}"], rtol=0, atol=0)
        head = getattr(model, f"{network}_head").conv_cam.weight
        pretrained_head = state["global_head.conv_cam.weight"]
        assert head.shape == pretrained_head.shape
        assert (head - pretrained_head).abs().min() > 0.5  # not copied: fresh Xavier
        bound = (6.0 / (head.shape[0] + head.shape[1])) ** 0.5  # Xavier uniform, 1x1 conv
        assert head.abs().max() <= bound
    if cfg.model.with_local:  # two networks, one start: separate weights, equal values
        assert model.local_backbone is not model.global_backbone


def test_without_the_option_the_backbone_is_random(pretrained):
    path, state = pretrained
    cfg = Config.fromfile(osp.join(REPO, L2G_CONFIGS[1]))
    model = MODELS.build(cfg.model)
    model.init_weights()
    first = next(iter(model.global_backbone.state_dict()))
    value = model.global_backbone.state_dict()[first]
    assert not torch.allclose(value, state[f"global_backbone.{first}"])

"""Shared by the backbone config tests: a random L2G batch, one training step, the readout."""

import time
from typing import Any, Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_l2g  # noqa: F401
from mmseg_l2g.testing import random_l2g_batch


def build_model(cfg: Config) -> torch.nn.Module:
    """The config's model, backbone ``init_cfg`` removed (nothing downloads)."""
    cfg.model.backbone.pop("init_cfg", None)
    return MODELS.build(cfg.model)


def random_batch(size: int, crop: int, num_views: int, num_classes: int, **kwargs: Any) -> dict:
    """A packed, collated batch of random images (``mmseg_l2g.testing.random_l2g_batch``)."""
    return random_l2g_batch(
        size=size, crop=crop, num_views=num_views, num_classes=num_classes, **kwargs
    )


def one_training_step(
    cfg: Config, model: torch.nn.Module, batch: dict
) -> Tuple[Dict[str, torch.Tensor], List[str], float]:
    """One ``train_step`` with the config's optimiser.

    Returns:
        The logged losses, the names of the parameters the step changed, and
        the seconds the step took.
    """
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    start = time.perf_counter()
    log_vars = model.train_step(batch, optim_wrapper)
    seconds = time.perf_counter() - start
    changed = [
        name for name, p in model.named_parameters() if not torch.equal(before[name], p.detach())
    ]
    return log_vars, changed, seconds


def predict_at(
    model: torch.nn.Module, height: int, width: int, labels: List[int], tta: bool = False
) -> SegDataSample:
    """``model.predict`` of one random normalised image of (height, width)."""
    sample = SegDataSample(metainfo=dict(ori_shape=(height, width), img_shape=(height, width)))
    label = torch.zeros(model.num_classes)
    label[labels] = 1
    sample.gt_label = label
    model.eval()
    with torch.no_grad():
        return model.predict(torch.randn(1, 3, height, width), [sample], tta=tta)[0]

"""Shared by the backbone config tests: a random L2G batch, one training step, the readout."""

import time
from typing import Dict, List, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.transforms import LocalCropTransform, PackL2GInputs


def build_model(cfg: Config) -> torch.nn.Module:
    """The config's model, backbone ``init_cfg`` removed (nothing downloads)."""
    cfg.model.backbone.pop("init_cfg", None)
    return MODELS.build(cfg.model)


def random_batch(
    size: int,
    crop: int,
    num_views: int,
    num_classes: int,
    batch_size: int = 1,
    saliency: bool = False,
    seed: int = 0,
) -> dict:
    """A packed, collated batch of random images, each with one or two classes.

    ``num_views=0``: no local views (the plain-CAM pipeline); ``saliency``: each
    image has a random saliency map (the shape transfer loss's images).
    """
    rng = np.random.default_rng(seed)
    inputs, samples = [], []
    for i in range(batch_size):
        label = np.zeros(num_classes, np.float32)
        label[rng.choice(num_classes, size=1 + i % 2, replace=False)] = 1
        results = dict(
            img=rng.integers(0, 255, (size, size, 3), dtype=np.uint8),
            gt_label=label,
            img_id=f"img{i}",
            ori_shape=(size, size),
            img_shape=(size, size),
        )
        if saliency:
            results["gt_saliency"] = rng.random((size, size)).astype(np.float32)
        if num_views:
            results = LocalCropTransform(num_views=num_views, crop_size=crop)(results)
        packed = PackL2GInputs()(results)
        inputs.append(packed["inputs"])
        samples.append(packed["data_samples"])
    return dict(inputs=inputs, data_samples=samples)


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

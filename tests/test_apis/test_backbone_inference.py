"""mmseg's init_model + inference_model on each new backbone's config (random weights)."""

import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.apis import inference_model, init_model
from mmseg.registry import MODELS
from PIL import Image

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.wsss_dataset import bit_colormap

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = [
    "configs/l2g/l2g_tinyvit_1xb8-600it_synthetic-128.py",
    "configs/l2g/l2g_deit-s16_1xb3-10e_voc12aug-448.py",
    "configs/l2g/l2g_swin-t_1xb3-10e_voc12aug-448.py",
    "configs/l2g/l2g_convnext-t_1xb3-10e_voc12aug-448.py",
]


@pytest.mark.parametrize("config", CONFIGS)
def test_init_model_and_inference_model(config, tmp_path):
    init_default_scope("mmseg")
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.backbone.pop("init_cfg", None)  # nothing downloads
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    num_classes = model.num_classes
    classes = ["background"] + [f"c{i}" for i in range(num_classes)]
    meta = dict(dataset_meta=dict(classes=classes, palette=bit_colormap(num_classes + 1)))
    checkpoint = str(tmp_path / "random.pth")
    torch.save(dict(state_dict=model.state_dict(), meta=meta), checkpoint)
    model = init_model(cfg, checkpoint, device="cpu")
    # An image whose sides are not multiples of the patch size or the stride.
    image = str(tmp_path / "img.jpg")
    rgb = np.random.default_rng(0).integers(0, 256, (75, 101, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(image)
    result = inference_model(model, image)
    size = (75, 101)  # read at the test pipeline's square size, returned at the image's
    assert tuple(result.pred_sem_seg.data.shape) == (1, *size)
    assert tuple(result.seg_logits.data.shape) == (num_classes + 1, *size)
    labels = result.seg_logits.data.argmax(0)
    assert torch.equal(labels, result.pred_sem_seg.data[0].long())
    assert result.pred_sem_seg.data.max() <= num_classes

"""Validation (IoUMetric through L2GClassifier.predict) and stage 2 read the same masks.

Both go through the model's one readout (``test_cfg``), so at the same settings
the masks are identical and the validation mIoU is stage 2's mIoU at ``bg_thr``.
"""

import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmseg.evaluation import IoUMetric
from mmseg.registry import DATASETS

from mmseg_l2g.datasets.label_io import read_index_mask
from mmseg_l2g.datasets.synthetic import make_synthetic
from mmseg_l2g.stage2 import build_cam_model, generate_pseudo_masks, load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")
# The config's test pipeline at the images' own size (its Resize is a no-op at 128).
PIPELINE = [
    dict(type="LoadWSSSImage"),
    dict(type="LoadWSSSAnnotations"),
    dict(type="PackL2GInputs"),
]


@pytest.mark.parametrize(
    "test_cfg",
    [
        dict(scales=(1.0, 0.5), flip=True),
        dict(scales=(1.0,), flip=False, interp="bilinear", bg_thr=0.4),
    ],
)
def test_validation_masks_and_miou_equal_stage2(tmp_path, test_cfg):
    root = str(tmp_path / "data")
    make_synthetic(root, 5, 1, seed=3, size=48, num_workers=1, progress=False)
    cfg = load_config(CONFIG, {"model.test_cfg": test_cfg})
    torch.manual_seed(0)
    model = build_cam_model(cfg, None)
    dataset = DATASETS.build(
        dict(
            type="SyntheticWSSSDataset",
            data_root=root,
            ann_file="ImageSets/Segmentation/train.txt",
            pipeline=PIPELINE,
        )
    )
    out = str(tmp_path / "pseudo")
    result = generate_pseudo_masks(
        model, dataset, out, dict(num_vis=0, batch_size=2), progress=False
    )

    metric = IoUMetric(iou_metrics=["mIoU"])
    metric.dataset_meta = dataset.metainfo
    for index in range(len(dataset)):
        (sample,) = model.val_step(pseudo_collate([dataset[index]]))
        img_id = dataset.get_data_info(index)["img_id"]
        written = read_index_mask(osp.join(out, "masks", img_id + ".png"))
        assert np.array_equal(sample.pred_sem_seg.data[0].numpy(), written), img_id
        metric.process({}, [sample.to_dict()])
    scores = metric.compute_metrics(metric.results)
    # IoUMetric rounds to 2 decimals; stage 2 reports % too (one unit everywhere).
    assert scores["mIoU"] == pytest.approx(result.metrics["chosen"]["miou"], abs=0.006)

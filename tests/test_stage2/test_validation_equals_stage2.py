"""One readout (``model.test_cfg``): ``--tta`` is stage 2; the plain test is it in one pass.

- ``tools/test.py --tta`` (the config's ``tta_model`` on its ``tta_pipeline``)
  writes exactly ``tools/gen_pseudo.py``'s masks on the same checkpoint and
  images, with the readout flags of gen_pseudo given to the test as
  ``model.test_cfg``; both read len(scales) x 2 images per image.
- Validation (``val_step``, the plain test) reads each image once (one forward
  pass per image, the batch together) and equals stage 2 run with
  ``scales=(1.0,), flip=False``; its mIoU is stage 2's at ``bg_thr``.
"""

import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmseg.evaluation import IoUMetric
from mmseg.registry import DATASETS, MODELS

from benchmarks.bench_validation import ForwardCounter
from mmseg_l2g.apis import build_cam_model, load_config
from mmseg_l2g.datasets.label_io import read_index_mask
from mmseg_l2g.datasets.synthetic import make_synthetic
from mmseg_l2g.stage2 import generate_pseudo_masks

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")
NUM_IMAGES = 5
# The config's test pipeline at the images' own size (its Resize squashes to 128).
PIPELINE = [
    dict(type="LoadWSSSImage"),
    dict(type="LoadWSSSAnnotations"),
    dict(type="PackL2GInputs"),
]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("one_readout") / "data")
    make_synthetic(root, NUM_IMAGES, 1, seed=3, size=48, num_workers=1, progress=False)
    return root


def _dataset(root: str, pipeline: list):
    return DATASETS.build(
        dict(
            type="SyntheticWSSSDataset",
            data_root=root,
            ann_file="ImageSets/Segmentation/train.txt",
            pipeline=pipeline,
        )
    )


def _gen_pseudo():
    spec = importlib.util.spec_from_file_location("gen_pseudo_tool", f"{REPO}/tools/gen_pseudo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _score(dataset, samples) -> float:
    metric = IoUMetric(iou_metrics=["mIoU"])
    metric.dataset_meta = dataset.metainfo
    for sample in samples:
        metric.process({}, [sample.to_dict()])
    return metric.compute_metrics(metric.results)["mIoU"]


def test_tta_masks_equal_gen_pseudo_masks(data_root, tmp_path):
    cfg = load_config(CONFIG)
    torch.manual_seed(0)
    checkpoint = str(tmp_path / "ckpt.pth")
    torch.save({"state_dict": build_cam_model(cfg, None).state_dict()}, checkpoint)
    out = str(tmp_path / "pseudo")
    status = _gen_pseudo().main(
        [CONFIG, checkpoint, "--out-dir", out, "--scales", "1.0", "0.5", "--bg-thr", "0.3",
         "--interp", "bilinear", "--num-vis", "0", "--batch-size", "2",
         "--cfg-options", f"train_dataloader.dataset.data_root={data_root}"]
    )  # fmt: skip
    assert status == 0

    # tools/test.py --tta: the config's tta_model around its model, on its tta_pipeline.
    readout = {"model.test_cfg.scales": (1.0, 0.5), "model.test_cfg.bg_thr": 0.3}
    cfg = load_config(CONFIG, {**readout, "model.test_cfg.interp": "bilinear"})
    tta = MODELS.build(dict(cfg.tta_model, module=build_cam_model(cfg, checkpoint)))
    counter = ForwardCounter(tta.module)
    dataset = _dataset(data_root, cfg.tta_pipeline)
    samples, labels = [], set()
    for start in range(0, NUM_IMAGES, 2):
        batch = [dataset[i] for i in range(start, min(start + 2, NUM_IMAGES))]
        samples += tta.test_step(pseudo_collate(batch))
    for index, sample in enumerate(samples):
        img_id = dataset.get_data_info(index)["img_id"]
        written = read_index_mask(osp.join(out, "masks", img_id + ".png"))
        assert np.array_equal(sample.pred_sem_seg.data[0].numpy(), written), img_id
        labels |= set(np.unique(written).tolist())
    assert len(labels) > 1  # not blank masks
    # Two scales, each with its flip, for every image; one call per scale and batch.
    assert counter.images == NUM_IMAGES * 2 * 2
    assert counter.calls == 3 * 2


def test_tta_and_stage2_read_scales_x_flips(data_root, tmp_path):
    cfg = load_config(CONFIG, {"model.test_cfg.scales": (1.0, 0.5, 1.5)})
    torch.manual_seed(0)
    model = build_cam_model(cfg, None)
    dataset = _dataset(data_root, PIPELINE)
    counter = ForwardCounter(model)
    result = generate_pseudo_masks(
        model, dataset, None, dict(num_vis=0, batch_size=NUM_IMAGES), progress=False
    )
    assert counter.images == NUM_IMAGES * 3 * 2 and counter.calls == 3
    counter.calls = counter.images = 0
    tta = MODELS.build(dict(cfg.tta_model, module=model))
    samples = tta.test_step(pseudo_collate([dataset[i] for i in range(NUM_IMAGES)]))
    assert counter.images == NUM_IMAGES * 3 * 2 and counter.calls == 3
    assert _score(dataset, samples) == pytest.approx(result.metrics["chosen"]["miou"], abs=0.006)


@pytest.mark.parametrize(
    "test_cfg",
    [
        dict(scales=(1.0, 0.5), flip=True),
        dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, interp="bilinear", bg_thr=0.4),
    ],
)
def test_validation_is_stage2_in_one_pass(data_root, tmp_path, test_cfg):
    cfg = load_config(CONFIG, {"model.test_cfg": test_cfg})
    torch.manual_seed(0)
    model = build_cam_model(cfg, None)
    dataset = _dataset(data_root, PIPELINE)
    counter = ForwardCounter(model)
    samples = model.val_step(pseudo_collate([dataset[i] for i in range(NUM_IMAGES)]))
    assert counter.images == NUM_IMAGES and counter.calls == 1  # one pass, the batch together

    one_pass = load_config(CONFIG, {"model.test_cfg": dict(test_cfg, scales=(1.0,), flip=False)})
    torch.manual_seed(0)
    out = str(tmp_path / "pseudo")
    result = generate_pseudo_masks(
        build_cam_model(one_pass, None), dataset, out, dict(num_vis=0, batch_size=2),
        progress=False,
    )  # fmt: skip
    for index, sample in enumerate(samples):
        img_id = dataset.get_data_info(index)["img_id"]
        written = read_index_mask(osp.join(out, "masks", img_id + ".png"))
        assert np.array_equal(sample.pred_sem_seg.data[0].numpy(), written), img_id
    # IoUMetric rounds to 2 decimals; stage 2 reports % too (one unit everywhere).
    assert _score(dataset, samples) == pytest.approx(result.metrics["chosen"]["miou"], abs=0.006)

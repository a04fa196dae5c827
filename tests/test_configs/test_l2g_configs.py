"""Every L2G config builds and runs one training iteration (and validation).

VOC / COCO configs run on generated files in their real layouts; sizes and
backbone widths are shrunk through the config, the structure is the config's.
"""

import glob
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_l2g.datasets.synthetic import make_synthetic

CONFIGS = sorted(glob.glob(osp.join(osp.dirname(__file__), "../../configs/l2g/*.py")))


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("synthetic"))
    make_synthetic(root, num_train=4, num_val=2, seed=0, size=64, progress=False)
    return root


def _voc_layout(src: str, dst: str, split_dirs: dict) -> None:
    """Copies synthetic data into a VOC or COCO-like layout (``split_dirs``: kind -> folder)."""
    for split, files in (("train", "train"), ("val", "val")):
        ids = open(osp.join(src, "ImageSets/Segmentation", f"{files}.txt")).read().split()
        labels = open(osp.join(src, "ImageSets/Segmentation", f"{files}_cls.txt")).read()
        for kind, (sub, ext) in dict(
            img=("JPEGImages", ".jpg"), seg=("SegmentationClass", ".png"), sal=("Saliency", ".png")
        ).items():
            folder = osp.join(dst, split_dirs[f"{split}_{kind}"])
            os.makedirs(folder, exist_ok=True)
            for img_id in ids:
                shutil.copy(osp.join(src, sub, img_id + ext), osp.join(folder, img_id + ext))
        for key in (f"{split}_list", f"{split}_labels"):
            os.makedirs(osp.dirname(osp.join(dst, split_dirs[key])), exist_ok=True)
        with open(osp.join(dst, split_dirs[f"{split}_list"]), "w") as f:
            f.write("\n".join(ids) + "\n")
        with open(osp.join(dst, split_dirs[f"{split}_labels"]), "w") as f:
            f.write(labels)


VOC_DIRS = dict(
    train_img="JPEGImages", val_img="JPEGImages",
    train_seg="SegmentationClassAug", val_seg="SegmentationClassAug",
    train_sal="saliency_maps", val_sal="saliency_maps",
    train_list="ImageSets/Segmentation/train_aug.txt", val_list="ImageSets/Segmentation/val.txt",
    train_labels="ImageSets/Segmentation/train_aug_cls.txt",
    val_labels="ImageSets/Segmentation/val_cls.txt",
)  # fmt: skip
COCO_DIRS = dict(
    train_img="JPEGImages/train2014", val_img="JPEGImages/val2014",
    train_seg="SegmentationClass/train2014", val_seg="SegmentationClass/val2014",
    train_sal="saliency_maps/train2014", val_sal="saliency_maps/val2014",
    train_list="ImageSets/train2014.txt", val_list="ImageSets/val2014.txt",
    train_labels="train2014_cls.txt", val_labels="val2014_cls.txt",
)  # fmt: skip


def _shrink(cfg: Config, global_size: int = 64, crop: int = 48) -> None:
    """Small images, narrow backbones, no pretrained weights, one iteration."""
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.batch_size = 2
        for step in loader.dataset.pipeline:
            if step["type"] == "ResizeWithSaliency":
                step["scale"] = (global_size, global_size)
            if step["type"] == "LocalCropTransform":
                step["crop_size"] = crop
    backbone = cfg.model.backbone
    backbone.pop("init_cfg", None)
    if backbone.type == "ResNet38":
        backbone.base_channels = 4  # 1/16 width: conv4 32, conv5 64, conv6 256 channels
        cfg.model.head.in_channels = 256
        if cfg.model.head.get("pcm"):
            cfg.model.head.pcm.in_channels = (32, 64)
    elif backbone.type == "mmpretrain.ResNet":
        backbone.base_channels = 16
        backbone.stem_channels = 16
        cfg.model.head.in_channels = 512
    if cfg.train_cfg.type == "IterBasedTrainLoop":
        cfg.train_cfg.max_iters = 1
        cfg.train_cfg.val_interval = 1
    else:
        cfg.train_cfg.max_epochs = 1
        cfg.train_cfg.val_interval = 1
    cfg.default_hooks.logger.interval = 1


@pytest.mark.parametrize("config", CONFIGS, ids=osp.basename)
def test_config_builds_and_runs_one_iteration(config, synthetic_root, tmp_path) -> None:
    cfg = Config.fromfile(config)
    name = osp.basename(config)
    if "synthetic" in name:
        root = synthetic_root
    else:
        root = str(tmp_path / "data")
        _voc_layout(synthetic_root, root, VOC_DIRS if "voc12aug" in name else COCO_DIRS)
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = root
    _shrink(cfg)
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    dataset = runner.train_dataloader.dataset
    if "-sal_" in name:
        assert dataset.num_with_saliency == len(dataset) == 4
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    changed = [k for k in after if not torch.equal(before[k], after[k])]
    assert any(k.startswith("global_") for k in changed)
    if cfg.model.get("with_local", True):
        assert any(k.startswith("local_") for k in changed)
    scalars = runner.message_hub.log_scalars
    assert "train/loss" in scalars and torch.isfinite(torch.tensor(scalars["train/loss"].current()))
    assert "val/mIoU" in scalars

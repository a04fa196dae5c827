"""Every L2G config builds and runs one training iteration (and validation).

VOC / COCO configs run on generated files in their real layouts; sizes and
backbone widths are shrunk through the config, the structure is the config's.
"""

import glob
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from mmseg_l2g.datasets.synthetic import make_synthetic
from mmseg_l2g.datasets.view_sizes import set_view_sizes

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
        set_view_sizes(loader.dataset.pipeline, global_size, crop)
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
    elif backbone.type == "mmpretrain.VisionTransformer":
        backbone.arch = dict(embed_dims=48, num_layers=2, num_heads=3, feedforward_channels=96)
        cfg.model.head.in_channels = 48
    elif backbone.type == "mmpretrain.SwinTransformer":
        backbone.arch = dict(embed_dims=24, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1])
        cfg.model.head.in_channels = 192
    elif backbone.type == "mmpretrain.ConvNeXt":
        backbone.arch = dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64])
        cfg.model.head.in_channels = 64
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


# ------------------------------------------------------------ the data protocol
CONFIG_DIR = osp.join(osp.dirname(__file__), "../../configs/l2g")
RELEASE_CONFIGS = [c for c in CONFIGS if "voc12aug" in c or "coco14" in c]
PIPELINE = "train_dataloader.dataset.pipeline"
# The README's "Data protocol" switch-back options, as typed after --cfg-options,
# for the l2g-sal VOC / COCO configs (in the l2g and cam configs every index is one
# lower and there is no saliency step).
SAL_SWITCH_BACK = [
    f"{PIPELINE}.2.scale=(448,448)",
    f"{PIPELINE}.2.keep_ratio=False",
    f"{PIPELINE}.2.interpolation=bilinear",
    f"{PIPELINE}.2.backend=cv2",
    f"{PIPELINE}.2.saliency_interpolation=bilinear",
    f"{PIPELINE}.3.prob=[0.0,1.0]",
    f"{PIPELINE}.6.prob=0.5",
    f"{PIPELINE}.7.mode=none",
    f"{PIPELINE}.8.mode=random",
]
L2G_SWITCH_BACK = [
    f"{PIPELINE}.1.scale=(448,448)",
    f"{PIPELINE}.1.keep_ratio=False",
    f"{PIPELINE}.1.interpolation=bilinear",
    f"{PIPELINE}.1.backend=cv2",
    f"{PIPELINE}.2.prob=[0.0,1.0]",
    f"{PIPELINE}.5.prob=0.5",
    f"{PIPELINE}.6.mode=random",
]
SYNTHETIC_SWITCH_BACK = {  # local views only: the synthetic global view was not changed
    "l2g_plaincnn_1xb8-600it_synthetic-128.py": [f"{PIPELINE}.3.mode=random"],
    "l2g-sal_plaincnn_1xb8-600it_synthetic-128.py": [
        f"{PIPELINE}.4.mode=none",
        f"{PIPELINE}.5.mode=random",
    ],
}


@pytest.fixture
def mmseg_scope():
    from mmengine.registry import DefaultScope

    DefaultScope.get_instance("test_l2g_configs", scope_name="mmseg")


def cfg_options(options: list) -> dict:
    """``options`` parsed as tools/train.py parses --cfg-options (mmengine's DictAction)."""
    import argparse

    from mmengine.config import DictAction

    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    return parser.parse_args(["--cfg-options", *options]).cfg_options


def _image_and_saliency(root) -> dict:
    """A 500 x 375 image and a saliency map (maximum 128) on disk: the loader's input."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8)).save(root / "a.png")
    saliency = np.zeros((375, 500), np.uint8)
    saliency[100:300, 150:350] = 128
    Image.fromarray(saliency).save(root / "s.png")
    return dict(img_path=str(root / "a.png"), sal_path=str(root / "s.png"), gt_label=[1.0])


@pytest.mark.parametrize("config", RELEASE_CONFIGS, ids=osp.basename)
def test_release_protocol_is_the_default(config) -> None:
    cfg = Config.fromfile(config)
    steps = {step["type"]: step for step in cfg.train_dataloader.dataset.pipeline}
    resize = steps["ResizeWithSaliency"]
    assert resize.scale == (4096, 512) and resize.keep_ratio
    assert (resize.interpolation, resize.backend, resize.saliency_interpolation) == (
        "bicubic",
        "pillow",
        "nearest",
    )
    colour = steps["RandomChoice"]
    assert colour.prob == [1.0, 0.0]
    assert colour.transforms[0] == [
        dict(type="PILColorJitter", brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)
    ]
    assert colour.transforms[1][0].type == "PhotoMetricDistortion"
    assert steps["RandomCrop"].crop_size == (448, 448)
    assert steps["PadWithSaliency"].size == (448, 448) and steps["PadWithSaliency"].pad_val.img == 0
    assert steps["RandomFlip"].prob == 0.0
    assert "PhotoMetricDistortion" not in steps
    if cfg.model.get("with_local", True):
        local = steps["LocalCropTransform"]
        assert (local.mode, local.num_views, local.crop_size) == ("corners", 6, 320)
    assert ("NormalizeSaliency" in steps) == ("LoadSaliencyMap" in steps)
    if "NormalizeSaliency" in steps:
        assert steps["NormalizeSaliency"].mode == "max"


@pytest.mark.parametrize("config", CONFIGS, ids=osp.basename)
def test_local_views_are_the_release_s_corners_in_every_config(config) -> None:
    cfg = Config.fromfile(config)
    local = [s for s in cfg.train_dataloader.dataset.pipeline if s.type == "LocalCropTransform"]
    assert len(local) == int(cfg.model.get("with_local", True))
    assert all(step.mode == "corners" and step.num_views == 6 for step in local)


@pytest.mark.parametrize("config", CONFIGS, ids=osp.basename)
def test_test_pipeline_starts_with_mmcv_load_image_from_file(config) -> None:
    cfg = Config.fromfile(config)
    first = cfg.test_dataloader.dataset.pipeline[0]
    assert first == dict(type="LoadImageFromFile", imdecode_backend="pillow")


def test_mmseg_inferencer_accepts_the_test_pipeline(tmp_path, mmseg_scope) -> None:
    from mmseg.apis import MMSegInferencer

    cfg = Config.fromfile(osp.join(CONFIG_DIR, "l2g_resnet38_1xb3-10e_voc12aug-448.py"))
    inferencer = MMSegInferencer.__new__(MMSegInferencer)  # its pipeline alone, no model
    pipeline = inferencer._init_pipeline(cfg)
    path = _image_and_saliency(tmp_path)["img_path"]
    from_path = pipeline(path)
    from_array = pipeline(np.asarray(Image.open(path))[:, :, ::-1].copy())
    for out in (from_path, from_array):
        assert tuple(out["inputs"].shape) == (3, 448, 448)
        assert out["data_samples"].metainfo["ori_shape"] == (375, 500)
    assert torch.equal(from_path["inputs"], from_array["inputs"])


def test_switch_back_options_restore_the_earlier_protocol(tmp_path, mmseg_scope) -> None:
    import mmcv
    from mmcv.transforms import Compose
    from mmseg.datasets.transforms import PhotoMetricDistortion

    cfg = Config.fromfile(osp.join(CONFIG_DIR, "l2g-sal_resnet38_1xb3-10e_voc12aug-448.py"))
    cfg.merge_from_dict(cfg_options(SAL_SWITCH_BACK))
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline[:-1])  # all but the packing
    colour = pipeline.transforms[3]
    assert colour.prob == [0.0, 1.0] and isinstance(
        colour.transforms[1].transforms[0], PhotoMetricDistortion
    )
    inputs = _image_and_saliency(tmp_path)
    # The image squashed to 448 x 448; the saliency map resized bilinearly, not rescaled.
    squashed = mmcv.imresize(
        np.asarray(Image.open(inputs["sal_path"]), np.float32) / 255,
        (448, 448),
        interpolation="bilinear",
    )
    flips, corner_sets = set(), set()
    for seed in range(12):
        np.random.seed(seed)
        out = pipeline(dict(inputs))
        assert out["img"].shape == (448, 448, 3)
        expected = squashed[:, ::-1] if out["flip"] else squashed
        np.testing.assert_allclose(out["gt_saliency"], expected, atol=1e-6)
        flips.add(out["flip"])
        corner_sets.add(tuple(out["local_boxes"][:4].ravel()))
    assert flips == {True, False}  # flipped half the time
    assert len(corner_sets) == 12  # random views, not the 4 corners


def test_readme_command_is_the_tested_switch_back() -> None:
    with open(osp.join(osp.dirname(__file__), "../../README.md")) as f:
        readme = f.read()
    block = readme.split("P=train_dataloader.dataset.pipeline\n", 1)[1].split("```", 1)[0]
    tokens = block.replace("\\\n", " ").split()
    options = [t.replace("$P", PIPELINE).replace("'", "") for t in tokens if t.startswith("$P")]
    assert options == SAL_SWITCH_BACK


def test_switch_back_options_of_the_l2g_and_synthetic_configs() -> None:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, "l2g_resnet38_1xb3-10e_voc12aug-448.py"))
    cfg.merge_from_dict(cfg_options(L2G_SWITCH_BACK))
    steps = cfg.train_dataloader.dataset.pipeline
    assert steps[1].scale == (448, 448) and steps[1].keep_ratio is False
    assert (steps[1].interpolation, steps[1].backend) == ("bilinear", "cv2")
    assert steps[2].prob == [0.0, 1.0] and steps[5].prob == 0.5 and steps[6].mode == "random"
    for name, options in SYNTHETIC_SWITCH_BACK.items():
        cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
        cfg.merge_from_dict(cfg_options(options))
        steps = {s.type: s for s in cfg.train_dataloader.dataset.pipeline}
        assert steps["LocalCropTransform"].mode == "random"
        if "NormalizeSaliency" in steps:
            assert steps["NormalizeSaliency"].mode == "none"

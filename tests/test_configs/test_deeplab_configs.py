"""Stage-3 configs: they build, train on pseudo masks and validate on the real ground truth."""

import glob
import os.path as osp

import mmseg
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmseg.registry import DATASETS, MODELS
from mmseg.utils import register_all_modules
from PIL import Image

import mmseg_l2g  # noqa: F401
import mmseg_l2g.models.segmentors  # noqa: F401  (registers CRFEncoderDecoder)
from mmseg_l2g.datasets.synthetic import class_names, class_palette, make_synthetic
from mmseg_l2g.models.decode_heads import DeepLabV2Head

CONFIG_DIR = osp.join(osp.dirname(__file__), "../../configs/deeplab")
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, "*.py")))
SYNTHETIC = [c for c in CONFIGS if "synthetic" in osp.basename(c)]
VOC = [c for c in CONFIGS if "voc12aug" in osp.basename(c)]
STOCK_VOC = osp.join(
    osp.dirname(mmseg.__file__),
    ".mim/configs/deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512.py",
)
PSEUDO_VALUE = 3  # every pseudo mask is filled with this class, unlike any ground truth


def _name(path: str) -> str:
    return osp.basename(path)


def _unscoped(value):
    """Drops the ``_scope_`` keys mmengine adds to what a config inherits with ``mmseg::``."""
    if isinstance(value, dict):
        return {k: _unscoped(v) for k, v in value.items() if k != "_scope_"}
    if isinstance(value, (list, tuple)):
        return type(value)(_unscoped(v) for v in value)
    return value


def _build_model(cfg: Config) -> torch.nn.Module:
    """Builds the config's model with random initialisation (no download)."""
    cfg.model.pretrained = None
    cfg.model.backbone.pop("init_cfg", None)
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope("mmseg"):
        return MODELS.build(cfg.model)


def test_config_set_is_complete():
    names = {_name(c) for c in CONFIGS}
    assert "deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512_l2g-pseudo.py" in names
    assert "deeplabv2_r101-d8_4xb4-40k_voc12aug-512x512_l2g-pseudo.py" in names
    assert any(n.startswith("deeplabv3plus_r18tiny") for n in map(_name, SYNTHETIC))
    assert any(n.startswith("deeplabv2_r18tiny") for n in map(_name, SYNTHETIC))


@pytest.mark.parametrize("path", CONFIGS, ids=_name)
def test_config_builds_with_pseudo_train_and_real_val_masks(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == "mmseg"
    assert cfg.custom_imports.imports == ["mmseg_l2g"]
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert train.data_prefix.seg_map_path == cfg.pseudo_mask_dir
    assert val.data_prefix.seg_map_path == "SegmentationClass"
    assert cfg.test_dataloader.dataset.data_prefix.seg_map_path == "SegmentationClass"

    if cfg.model.type == "CRFEncoderDecoder":  # the dense CRF is one --cfg-options away
        assert "crf" not in cfg.model.test_cfg
        cfg.merge_from_dict({"model.test_cfg.crf.iters": 3})
    model = _build_model(cfg)
    head = model.decode_head
    if cfg.model.type == "CRFEncoderDecoder":
        assert dict(model.test_cfg) == dict(mode="whole", crf=dict(iters=3))
    if "deeplabv2" in _name(path):
        assert isinstance(head, DeepLabV2Head) and head.conv_seg is None
        assert not model.with_auxiliary_head
        assert type(model).__name__ == "CRFEncoderDecoder"
    else:
        assert type(head).__name__ == "DepthwiseSeparableASPPHead"
    assert model.backbone.strides[:3] == (1, 2, 1)  # output stride 8
    if path in SYNTHETIC:
        assert head.num_classes == 5
        model.eval()
        with torch.no_grad():
            logits = model(torch.zeros(1, 3, 128, 128), mode="tensor")
        side = 16 if "deeplabv2" in _name(path) else 32  # v3+ decodes at 1/4, v2 at 1/8
        assert logits.shape == (1, 5, side, side)
    else:
        assert head.num_classes == 21
        assert model.backbone.depth == 101


@pytest.mark.parametrize("path", VOC, ids=_name)
def test_voc_configs_change_only_the_training_masks(path):
    cfg, stock = Config.fromfile(path), Config.fromfile(STOCK_VOC)
    train = cfg.train_dataloader.dataset
    assert train.type == "PascalVOCDataset"
    assert train.data_root == stock.data_root
    assert train.ann_file == "ImageSets/Segmentation/train_aug.txt"
    assert train.data_prefix.img_path == "JPEGImages"
    assert _unscoped(train.pipeline) == _unscoped(stock.train_pipeline)
    for key in ("val_dataloader", "test_dataloader", "train_cfg", "optim_wrapper"):
        assert _unscoped(cfg[key]) == _unscoped(stock[key]), key
    assert _unscoped(cfg.model.backbone) == _unscoped(stock.model.backbone)
    if "deeplabv3plus" in _name(path):
        assert _unscoped(cfg.model) == _unscoped(stock.model)
    else:
        assert cfg.model.decode_head.dilations == (6, 12, 18, 24)


def test_synthetic_metainfo_matches_the_generator():
    for path in SYNTHETIC:
        cfg = Config.fromfile(path)
        meta = cfg.train_dataloader.dataset.metainfo
        assert list(meta.classes) == class_names(4)
        assert [list(c) for c in meta.palette] == class_palette(4)
        assert cfg.val_dataloader.dataset.metainfo == meta
        assert cfg.train_dataloader.dataset.type == "BaseSegDataset"


@pytest.fixture(scope="module")
def synthetic_with_pseudo(tmp_path_factory) -> tuple:
    """A tiny synthetic dataset (128 x 128) and a folder of pseudo masks for its train split."""
    root = str(tmp_path_factory.mktemp("synthetic"))
    make_synthetic(root, num_train=8, num_val=4, seed=0, size=128, num_workers=1, progress=False)
    pseudo = str(tmp_path_factory.mktemp("pseudo"))
    ids = open(osp.join(root, "ImageSets/Segmentation/train.txt")).read().split()
    for img_id in ids:
        mask = np.full((128, 128), PSEUDO_VALUE, np.uint8)
        mask[:8] = 255
        Image.fromarray(mask, mode="L").save(osp.join(pseudo, img_id + ".png"))
    return root, pseudo


def _synthetic_cfg(path: str, root: str, pseudo: str, work_dir: str) -> Config:
    cfg = Config.fromfile(path)
    options = {
        "train_dataloader.dataset.data_prefix.seg_map_path": pseudo,  # as --cfg-options does
        "train_cfg.max_iters": 2,
        "train_cfg.val_interval": 1000,
        "param_scheduler.0.end": 2,
        "default_hooks.checkpoint.interval": 1000,
        "default_hooks.logger.interval": 1,
        "log_level": "WARNING",
    }
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options[f"{loader}.dataset.data_root"] = root
        options[f"{loader}.num_workers"] = 0
        options[f"{loader}.persistent_workers"] = False
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.visualizer.name = f"visualizer_{_name(path)}"
    return cfg


@pytest.mark.parametrize("path", SYNTHETIC, ids=_name)
def test_synthetic_config_trains_on_pseudo_masks_and_validates_on_ground_truth(
    path, synthetic_with_pseudo, tmp_path
):
    root, pseudo = synthetic_with_pseudo
    cfg = _synthetic_cfg(path, root, pseudo, str(tmp_path / "work"))

    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope("mmseg"):
        train_set = DATASETS.build(cfg.train_dataloader.dataset)
        val_set = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(train_set) == 8 and len(val_set) == 4
    for info in (train_set.get_data_info(i) for i in range(len(train_set))):
        assert osp.dirname(info["seg_map_path"]) == pseudo
    for info in (val_set.get_data_info(i) for i in range(len(val_set))):
        assert osp.dirname(info["seg_map_path"]) == osp.join(root, "SegmentationClass")
    # The training pipeline really loads the pseudo masks (PSEUDO_VALUE, ignore, padding).
    train_labels = np.unique(train_set[0]["data_samples"].gt_sem_seg.data.numpy())
    assert set(train_labels.tolist()) <= {PSEUDO_VALUE, 255} and PSEUDO_VALUE in train_labels
    val_info = val_set.get_data_info(0)
    ground_truth = np.array(Image.open(val_info["seg_map_path"]))
    np.testing.assert_array_equal(
        val_set[0]["data_samples"].gt_sem_seg.data[0].numpy(), ground_truth
    )

    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    assert runner.iter == 2
    changed = [k for k in before if before[k].is_floating_point()]
    assert any(not torch.equal(before[k], after[k]) for k in changed)
    metrics = runner.val()
    assert set(metrics) >= {"mIoU", "aAcc"}
    assert all(np.isfinite(float(v)) and 0 <= float(v) <= 100 for v in metrics.values())

    if "deeplabv2" in _name(path):  # the same model with the dense CRF at test time
        runner.model.test_cfg["crf"] = dict(iters=2)
        crf_metrics = runner.val()
        assert all(np.isfinite(float(v)) for v in crf_metrics.values())

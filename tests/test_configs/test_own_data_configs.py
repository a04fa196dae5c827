"""The own-data configs: one file (own_voc.py) gives every stage the data root and classes."""

import os
import os.path as osp
import subprocess
import sys

import numpy as np
from mmengine.config import Config
from PIL import Image

from mmseg_l2g.datasets.synthetic import make_synthetic

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OWN = osp.join(REPO, "configs", "own_data")
L2G, CAM, SAL = (f"{m}_plaincnn_1xb8-600it_own-voc-128.py" for m in ("l2g", "cam", "l2g-sal"))
DEEPLAB = "deeplabv3plus_r18tiny_1xb8-300it_own-voc-128_l2g-pseudo.py"
CLASSES = ("background", "kettle", "lamp")


def copy_own_configs(folder, data_root: str) -> str:
    """The folder copied as a user copies it (other bases by absolute path), own_voc.py set."""
    folder.mkdir()
    for name in os.listdir(OWN):
        text = open(osp.join(OWN, name), encoding="utf-8").read()
        (folder / name).write_text(text.replace('"../', f'"{REPO}/configs/'))
    (folder / "own_voc.py").write_text(
        f"own_data_root = {data_root!r}\nown_classes = {CLASSES!r}\nown_saliency_dir = 'Saliency'\n"
    )
    return str(folder)


def test_every_stage_takes_the_data_root_and_classes_from_own_voc(tmp_path):
    configs = copy_own_configs(tmp_path / "cfg", "/data/mine")
    for name in (L2G, CAM, SAL):
        cfg = Config.fromfile(osp.join(configs, name))
        assert cfg.model.head.num_classes == 2
        for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
            assert loader.dataset.data_root == "/data/mine"
            assert tuple(loader.dataset.metainfo.classes) == CLASSES
    cam, sal = (Config.fromfile(osp.join(configs, n)) for n in (CAM, SAL))
    assert cam.model.with_local is False
    assert "LoadSaliencyMap" in [t["type"] for t in sal.train_dataloader.dataset.pipeline]
    seg = Config.fromfile(osp.join(configs, DEEPLAB))
    assert seg.model.decode_head.num_classes == seg.model.auxiliary_head.num_classes == 3
    for loader in (seg.train_dataloader, seg.val_dataloader):
        assert loader.dataset.data_root == "/data/mine"
        assert dict(loader.dataset.metainfo) == dict(classes=CLASSES)  # no synthetic palette


def run_tool(*args: str) -> None:
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_train_pseudo_masks_and_deeplab_on_own_data(tmp_path):
    # A VOC-layout folder with 2 classes and no meta.json: the classes come from own_voc.py.
    root = tmp_path / "data"
    make_synthetic(str(root), 8, 4, seed=2, size=64, num_classes=2, num_workers=1, progress=False)
    os.remove(root / "meta.json")
    configs = copy_own_configs(tmp_path / "cfg", str(root))
    short = ["train_cfg.max_iters=2", "train_cfg.val_interval=2", "custom_hooks=[]"]
    short += ["train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False"]
    short += ["val_dataloader.num_workers=0", "val_dataloader.persistent_workers=False"]
    l2g_dir = str(tmp_path / "l2g")
    run_tool("tools/train.py", osp.join(configs, L2G), "--work-dir", l2g_dir,
             "--cfg-options", *short)  # fmt: skip
    pseudo = str(root / "l2g_pseudo")
    checkpoint = osp.join(l2g_dir, "iter_2.pth")
    run_tool("tools/gen_pseudo.py", osp.join(configs, L2G), checkpoint, "--out-dir", pseudo,
             "--split", "train", "--scales", "1.0", "--num-vis", "0")  # fmt: skip
    masks = sorted(os.listdir(osp.join(pseudo, "masks")))
    assert len(masks) == 8
    values = np.unique(np.concatenate([np.array(Image.open(osp.join(pseudo, "masks", m))).ravel()
                                       for m in masks]))  # fmt: skip
    assert set(values.tolist()) <= {0, 1, 2}
    seg_dir = str(tmp_path / "seg")
    run_tool("tools/train.py", osp.join(configs, DEEPLAB), "--work-dir", seg_dir,
             "--cfg-options", *short)  # fmt: skip
    assert osp.isfile(osp.join(seg_dir, "iter_2.pth"))

"""Round 2, security: no code runs from a data file, no write lands outside its folder.

- a ``cls_labels.npy`` whose pickle would run code is refused (nothing runs),
  through the dataset that reads it; a legitimate one still loads;
- ``tools/prepare_coco.py`` refuses ``file_name`` values that would write
  outside ``--out-dir`` (``../``, absolute, a folder part) and writes nothing;
- ``tools/prepare_voc.py`` reduces split-list paths to their file stem;
- ``load_from=`` a checkpoint whose pickle would run code: refused, the file named.
"""

import importlib.util
import json
import os
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS
from reliability_helpers import REPO, tail, train

from mmseg_l2g.apis import load_config
from mmseg_l2g.datasets.label_io import load_label_file, read_split_ids


class RunsCode:
    """A pickle payload: unpickling it calls ``os.system`` (creates ``marker``)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def load_tool(name):
    """``tools/<name>.py`` as a module (the one already loaded, if another test loaded it)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, "tools", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # worker processes unpickle its functions by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _mmseg_scope():
    DefaultScope.get_instance("test_round2_security", scope_name="mmseg")


# ------------------------------------------------------------- label .npy
def _hostile_npy(path, marker, payload="dict"):
    """A ``.npy`` as ``np.save`` writes a dict, but holding a code-running object."""
    content = np.empty((), dtype=object)
    if payload == "dict":
        content[()] = {"train_000000": RunsCode(marker)}
    else:  # the whole file is the payload
        content[()] = RunsCode(marker)
    np.save(path, content, allow_pickle=True)


@pytest.mark.parametrize("payload", ["dict", "top"])
def test_hostile_label_npy_is_refused_without_running_it(tiny_config, tmp_path, payload):
    marker = tmp_path / "code_ran"
    hostile = tmp_path / "cls_labels.npy"
    _hostile_npy(str(hostile), marker, payload)
    dataset_cfg = load_config(tiny_config).train_dataloader.dataset
    dataset_cfg.label_file = str(hostile)
    with pytest.raises(ValueError) as info:
        DATASETS.build(dataset_cfg)
    assert str(hostile) in str(info.value)
    assert "refused to load the global posix.system" in str(info.value)
    assert not marker.exists()


def test_legitimate_label_npy_loads_and_numpy_globals_stay_restricted(tiny_data, tmp_path):
    ids = read_split_ids(osp.join(tiny_data, "ImageSets", "Segmentation", "train.txt"))
    labels = {img_id: np.eye(4, dtype=np.float32)[i % 4] for i, img_id in enumerate(ids)}
    labels[ids[0]] = np.array([1, 0, 1, 0], dtype=np.int64)  # any numeric dtype
    path = tmp_path / "cls_labels.npy"
    np.save(path, labels)
    loaded = load_label_file(str(path), ("a", "b", "c", "d"))
    assert list(loaded) == ids
    np.testing.assert_array_equal(loaded[ids[0]], [1, 0, 1, 0])
    np.testing.assert_array_equal(loaded[ids[1]], [0, 1, 0, 0])
    assert all(v.dtype == np.float32 for v in loaded.values())
    # A pickle naming another numpy function (one that reads files) is refused too.
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        pickle.dump({"a": np.load}, f, protocol=3)
    with pytest.raises(ValueError, match=r"cls_labels\.npy: refused to load the global numpy"):
        load_label_file(str(path), ("a", "b", "c", "d"))
    # A plain array (here one declaring 2^40 elements): refused from its header.
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (1 << 20, 1 << 20)}
        )
    with pytest.raises(ValueError, match=r"got a float32 array of shape \(1048576, 1048576\)"):
        load_label_file(str(path), ("a", "b", "c", "d"))
    # An object that is not an array: named, not taken.
    np.save(path, {"a": "person"})
    with pytest.raises(ValueError, match="entry 'a' is a str, not a numeric array"):
        load_label_file(str(path), ("a", "b", "c", "d"))


# -------------------------------------------------------- prepare_coco
def write_coco(root, images, annotations=(), categories=None):
    """A COCO 2014 ``val2014`` tree with these entries (images on disk as named)."""
    (root / "annotations").mkdir(parents=True)
    categories = categories or [dict(id=1, name="person"), dict(id=18, name="dog")]
    content = dict(images=images, annotations=list(annotations), categories=categories)
    (root / "annotations" / "instances_val2014.json").write_text(json.dumps(content))
    (root / "val2014").mkdir()


@pytest.mark.parametrize(
    "file_name",
    ["../../escaped.jpg", "<tmp>/escaped_abs.jpg", "sub/../../escaped.jpg", "..\\x.jpg"],
)
def test_prepare_coco_refuses_file_names_outside_out_dir(tmp_path, capsys, file_name):
    root, out = tmp_path / "coco", tmp_path / "deep" / "out"
    file_name = file_name.replace("<tmp>", str(tmp_path))  # an absolute path
    images = [
        dict(id=1, file_name="fine.jpg", height=4, width=4),
        dict(id=2, file_name=file_name, height=4, width=4),
    ]
    write_coco(
        root, images, [dict(id=1, image_id=2, category_id=1, segmentation=[[0, 0, 3, 0, 3, 3]])]
    )
    before = sorted(os.listdir(tmp_path))
    prepare_coco = load_tool("prepare_coco")
    argv = ["--coco-root", str(root), "--out-dir", str(out), "--splits", "val2014", "--overwrite"]
    assert prepare_coco.main(argv) == 1
    err = capsys.readouterr().err
    assert "instances_val2014.json: images[1] (id 2): file_name" in err
    assert "not a plain file name" in err
    assert not out.exists() and not (tmp_path / "deep").exists()  # nothing written at all
    assert sorted(os.listdir(tmp_path)) == before
    assert not (tmp_path / "escaped_abs.png").exists()


def test_prepare_voc_reduces_split_list_paths_to_ids(tmp_path):
    split = tmp_path / "train.txt"
    split.write_text("../../escaped\n/abs/dir/other.jpg /SegmentationClassAug/other.png\nok\n")
    assert read_split_ids(str(split)) == ["escaped", "other", "ok"]
    # prepare_voc builds <root>/SegmentationClassAug/<id>.png from these ids.
    for img_id in read_split_ids(str(split)):
        out = osp.join(str(tmp_path), "SegmentationClassAug", img_id + ".png")
        assert osp.dirname(osp.realpath(out)) == osp.realpath(tmp_path / "SegmentationClassAug")


# ---------------------------------------------------------- load_from
def test_load_from_a_hostile_checkpoint_is_refused_naming_it(tiny_config, tmp_path):
    marker = tmp_path / "code_ran"
    checkpoint = tmp_path / "hostile.pth"
    torch.save({"state_dict": {}, "meta": RunsCode(str(marker))}, checkpoint)
    work_dir = str(tmp_path / "work")
    proc = train(tiny_config, work_dir, "--cfg-options", f"load_from={checkpoint}")
    assert proc.returncode == 1, tail(proc)
    assert f"load_from: cannot load {checkpoint}" in proc.stderr, tail(proc)
    assert "give a trusted MMEngine checkpoint" in proc.stderr
    assert not marker.exists()
    assert not osp.exists(osp.join(work_dir, "last_checkpoint"))


def test_prepare_coco_refuses_two_images_writing_one_mask(tmp_path, capsys):
    root, out = tmp_path / "coco", tmp_path / "out"
    images = [
        dict(id=1, file_name="same.jpg", height=4, width=4),
        dict(id=2, file_name="same.png", height=4, width=4),
    ]
    write_coco(root, images)
    argv = ["--coco-root", str(root), "--out-dir", str(out), "--splits", "val2014"]
    assert load_tool("prepare_coco").main(argv) == 1
    err = capsys.readouterr().err
    assert "images[1] (id 2): file name stem 'same' already used by images[0]" in err
    assert not out.exists()


def test_prepare_coco_refuses_duplicate_ids_a_file_out_dir_and_a_worker_flood(tmp_path, capsys):
    root = tmp_path / "coco"
    images = [
        dict(id=3, file_name="a.jpg", height=4, width=4),
        dict(id=3, file_name="b.jpg", height=4, width=4),
    ]
    write_coco(root, images)
    prepare_coco = load_tool("prepare_coco")
    argv = ["--coco-root", str(root), "--out-dir", str(tmp_path / "out"), "--splits", "val2014"]
    assert prepare_coco.main(argv) == 1
    assert "images[1] (id 3): id 3 already used by images[0]" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    argv = ["--coco-root", str(root), "--out-dir", str(tmp_path / "file"), "--splits", "val2014"]
    assert prepare_coco.main(argv) == 1
    assert "exists and is not a folder" in capsys.readouterr().err
    argv = ["--coco-root", str(root), "--splits", "val2014", "--workers", "100000"]
    assert prepare_coco.main(argv) == 1
    assert "--workers must be in 1..256, got 100000" in capsys.readouterr().err

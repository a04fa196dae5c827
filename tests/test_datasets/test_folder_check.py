"""check_voc_folder: every problem of one's own VOC-layout folder, listed before training."""

import os
import os.path as osp
import time

import numpy as np
import pytest
from PIL import Image

from mmseg_l2g.datasets.folder_check import check_voc_folder
from mmseg_l2g.datasets.synthetic import make_synthetic
from mmseg_l2g.experiments.demo import check_data


@pytest.fixture
def folder(tmp_path) -> str:
    root = str(tmp_path / "VOCmine")
    make_synthetic(root, 6, 3, seed=2, size=64, num_classes=2, num_workers=1, progress=False)
    return root


def ids(root: str, split: str) -> list:
    return open(osp.join(root, f"ImageSets/Segmentation/{split}.txt")).read().split()


def test_a_generated_folder_has_no_problem(folder):
    assert check_voc_folder(folder, 2) == []


def test_every_problem_is_listed_with_its_file(folder):
    train, val = ids(folder, "train"), ids(folder, "val")
    os.remove(osp.join(folder, "JPEGImages", f"{train[0]}.jpg"))  # a missing image
    with open(osp.join(folder, "JPEGImages", f"{train[1]}.jpg"), "wb") as f:
        f.write(b"not a jpeg")  # an unreadable image
    Image.fromarray(np.zeros((32, 64), np.uint8)).save(  # a mask of another size
        osp.join(folder, "SegmentationClass", f"{train[2]}.png")
    )
    Image.fromarray(np.full((64, 64), 7, np.uint8)).save(  # class 7 of 2
        osp.join(folder, "SegmentationClass", f"{train[3]}.png")
    )
    os.remove(osp.join(folder, "Saliency", f"{val[0]}.png"))  # a missing saliency map
    Image.fromarray(np.zeros((64, 64), np.uint16)).save(  # a 16-bit image
        osp.join(folder, "JPEGImages", f"{val[1]}.jpg"), format="PNG"
    )
    problems = check_voc_folder(folder, 2)
    jpeg = osp.join(folder, "JPEGImages")
    expected = [
        f"{jpeg}/{train[0]}.jpg: image missing",
        f"{jpeg}/{train[1]}.jpg: image unreadable",
        f"SegmentationClass/{train[2]}.png: mask of 64x32, its image is 64x64",
        f"SegmentationClass/{train[3]}.png: class indices [7] out of range",
        f"Saliency/{val[0]}.png: saliency map missing",
        f"{jpeg}/{val[1]}.jpg: image has image mode 'I;16'",
    ]
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected):
        assert start in problem, (problem, start)


def test_an_empty_split_and_a_missing_list_are_problems(folder):
    open(osp.join(folder, "ImageSets/Segmentation/val.txt"), "w").close()
    os.remove(osp.join(folder, "ImageSets/Segmentation/train.txt"))
    problems = check_voc_folder(folder, 2)
    assert len(problems) == 2
    assert problems[0].endswith("train.txt: the train split list is missing")
    assert problems[1].endswith("val.txt: the val split is empty")


def test_the_driver_stops_in_seconds_naming_the_problems(folder):
    os.remove(osp.join(folder, "SegmentationClass", f"{ids(folder, 'val')[0]}.png"))
    start = time.time()
    with pytest.raises(ValueError, match=r"1 problem\(s\) found before training .*mask not found"):
        check_data(folder, 2, "Saliency")
    assert time.time() - start < 10


def test_without_a_saliency_folder_the_driver_says_which_columns_it_skips(folder, capsys):
    os.rename(osp.join(folder, "Saliency"), osp.join(folder, "sal_elsewhere"))
    assert check_voc_folder(folder, 2) == []  # absent: not a problem of the folder itself
    assert check_data(folder, 2, "Saliency") is False
    out = capsys.readouterr().out
    assert "Saliency: no saliency folder; skipping the columns that need one" in out
    for name in ("L2G + saliency", "plain CAM, fused", "L2G, fused", "L2G + saliency, fused"):
        assert name in out
    assert check_data(folder, 2, "sal_elsewhere") is True  # named: used

"""Tests of tools/prepare_voc.py on a tiny VOC + SBD tree in the real formats."""

import os

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat
from tool_test_utils import load_script

from mmseg_l2g.datasets.label_io import load_label_file
from mmseg_l2g.datasets.voc_wsss_dataset import VOC_CLASSES

prepare_voc = load_script("tools/prepare_voc.py", register=True)

H, W = 5, 6


def _mask(values):
    """A 5x6 mask: background, with the given classes in successive rows."""
    mask = np.zeros((H, W), np.uint8)
    for row, value in enumerate(values):
        mask[row, 1:5] = value
    return mask


def _save_voc_png(mask, path):
    image = Image.fromarray(mask)
    image.putpalette([v for color in prepare_voc.PALETTE for v in color])
    image.save(path)


def _save_sbd_mat(mask, path):
    # SBD's cls/*.mat: struct GTcls with Segmentation (uint8), Boundaries, CategoriesPresent.
    present = np.unique(mask[(mask > 0) & (mask < 255)]).astype(np.uint8).reshape(-1, 1)
    gtcls = {"Segmentation": mask, "Boundaries": np.zeros((20, 1), object),
             "CategoriesPresent": present}  # fmt: skip
    savemat(path, {"GTcls": gtcls})


@pytest.fixture()
def tree(tmp_path):
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    sbd = tmp_path / "benchmark_RELEASE" / "dataset"
    for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / folder).mkdir(parents=True)
    (sbd / "cls").mkdir(parents=True)
    for img_id in ("a", "b", "c", "e", "v1", "v2"):  # d has no image
        Image.new("RGB", (W, H), (90, 120, 30)).save(voc / "JPEGImages" / f"{img_id}.jpg")
    voc_a = _mask([1, 15, 255])  # VOC masks carry 255 boundaries
    _save_voc_png(voc_a, voc / "SegmentationClass" / "a.png")
    _save_voc_png(_mask([20]), voc / "SegmentationClass" / "v1.png")
    _save_voc_png(_mask([0, 3, 3]), voc / "SegmentationClass" / "v2.png")
    _save_sbd_mat(_mask([2, 2]), sbd / "cls" / "a.mat")  # VOC's a.png wins
    sbd_b = _mask([7, 0, 7, 12])
    _save_sbd_mat(sbd_b, sbd / "cls" / "b.mat")
    _save_sbd_mat(_mask([]), sbd / "cls" / "c.mat")  # empty
    _save_sbd_mat(_mask([5]), sbd / "cls" / "v1.mat")  # in VOC val: excluded
    (voc / "ImageSets/Segmentation/train.txt").write_text("a\ne\n")
    (voc / "ImageSets/Segmentation/val.txt").write_text("v1\nv2\n")
    (sbd / "train.txt").write_text("b\nv1\na\n")
    (sbd / "val.txt").write_text("c\nd\n")
    return dict(voc=voc, sbd=sbd.parent, voc_a=voc_a, sbd_b=sbd_b, tmp=tmp_path)


def _read(path):
    with Image.open(path) as image:
        return image.mode, np.array(image)


def test_prepare_voc_outputs(tree, capsys):
    voc = tree["voc"]
    sal = tree["tmp"] / "sal"
    sal.mkdir()
    for img_id in ("a", "b", "v1"):
        Image.new("L", (W, H), 200).save(sal / f"{img_id}.png")
    args = ["--voc-root", str(voc), "--sbd-root", str(tree["sbd"]), "--saliency-dir", str(sal)]
    assert prepare_voc.main(args) == 0
    out = capsys.readouterr().out

    aug = voc / "SegmentationClassAug"
    assert sorted(os.listdir(aug)) == ["a.png", "b.png", "c.png", "v1.png", "v2.png"]
    # VOC's own mask is copied byte for byte (it takes precedence over SBD's).
    assert (aug / "a.png").read_bytes() == (voc / "SegmentationClass/a.png").read_bytes()
    mode, b = _read(aug / "b.png")
    assert mode == "P"
    np.testing.assert_array_equal(b, tree["sbd_b"])
    with Image.open(aug / "b.png") as image:
        assert image.getpalette()[3 * 7 : 3 * 8] == [128, 128, 128]  # car: VOC colour
    np.testing.assert_array_equal(_read(aug / "c.png")[1], np.zeros((H, W), np.uint8))

    sets = voc / "ImageSets/Segmentation"
    assert (sets / "train_aug.txt").read_text() == "a\nb\nc\nd\ne\n"
    assert (sets / "train_aug_cls.txt").read_text() == "a 0 14\nb 6 11\nc\nd\ne\n"
    assert (sets / "val_cls.txt").read_text() == "v1 19\nv2 2\n"
    labels = load_label_file(str(sets / "train_aug_cls.txt"), VOC_CLASSES[1:])
    assert np.flatnonzero(labels["b"]).tolist() == [6, 11] and not labels["c"].any()

    assert os.path.islink(voc / "saliency_maps")
    assert os.path.samefile(voc / "saliency_maps", sal)
    assert "saliency: 2 of 5 train_aug images have a map" in out
    assert "VOC train 2, val 2; SBD train 3, val 2 -> train_aug 5" in out
    assert "masks: 3 from VOC, 2 from SBD, 0 kept, 2 not made" in out
    assert "train_aug: 5 images, 2 with an image-level label" in out
    problems = (voc / "prepare_voc_problems.txt").read_text().splitlines()
    assert problems == [
        "c\tempty mask (no foreground class)",
        f"d\timage missing: {voc / 'JPEGImages' / 'd.jpg'}",
        "e\tmask missing (neither VOC nor SBD)",
    ]
    assert "problems: 3; empty mask: 1; image missing: 1; mask missing: 1" in out
    assert not [name for name in os.listdir(aug) if name.startswith(".tmp")]


def test_prepare_voc_resumes_and_overwrites(tree, capsys):
    voc, args = tree["voc"], ["--voc-root", str(tree["voc"]), "--sbd-root", str(tree["sbd"])]
    assert prepare_voc.main(args + ["--workers", "2"]) == 0
    b_png = voc / "SegmentationClassAug/b.png"
    stamp = os.stat(b_png).st_mtime_ns
    capsys.readouterr()
    _save_sbd_mat(_mask([9]), tree["sbd"] / "dataset/cls/b.mat")  # a changed source
    assert prepare_voc.main(args) == 0
    out = capsys.readouterr().out
    assert "masks: 0 from VOC, 0 from SBD, 5 kept" in out
    assert os.stat(b_png).st_mtime_ns == stamp
    assert "b 6 11" in (voc / "ImageSets/Segmentation/train_aug_cls.txt").read_text()
    assert "saliency: none" in out

    assert prepare_voc.main(args + ["--overwrite"]) == 0
    assert "masks: 3 from VOC, 2 from SBD, 0 kept" in capsys.readouterr().out
    np.testing.assert_array_equal(_read(b_png)[1], _mask([9]))
    assert "b 8\n" in (voc / "ImageSets/Segmentation/train_aug_cls.txt").read_text()


def test_prepare_voc_reports_bad_inputs(tree, capsys):
    voc = tree["voc"]
    (tree["sbd"] / "dataset/cls/b.mat").write_bytes(b"not a mat file")
    Image.new("RGB", (W + 1, H), 0).save(voc / "JPEGImages/c.jpg")  # wrong size
    bad = _mask([3])
    bad[0, 0] = 40  # not a VOC class
    _save_voc_png(bad, voc / "SegmentationClass/v2.png")
    args = ["--voc-root", str(voc), "--sbd-root", str(tree["sbd"] / "dataset")]
    assert prepare_voc.main(args) == 0
    problems = dict(
        line.split("\t") for line in (voc / "prepare_voc_problems.txt").read_text().splitlines()
    )
    assert problems["b"].startswith(f"{tree['sbd'] / 'dataset/cls/b.mat'}: cannot read")
    assert problems["c"] == "size mismatch: image 7x5, mask 6x5"
    assert "mask values [40] out of range" in problems["v2"]
    assert not (voc / "SegmentationClassAug/c.png").exists()

    assert prepare_voc.main(["--voc-root", str(voc), "--sbd-root", str(tree["tmp"])]) == 1
    assert "no cls/ folder" in capsys.readouterr().err
    os.remove(voc / "ImageSets/Segmentation/val.txt")
    assert prepare_voc.main(args) == 1
    assert "val.txt" in capsys.readouterr().err

    other = tree["tmp"] / "other_sal"
    other.mkdir()
    (voc / "saliency_maps").mkdir()
    with pytest.raises(FileExistsError, match="saliency_maps exists"):
        prepare_voc.wire_saliency(str(voc), str(other), ["a"])


def test_read_sbd_mask_and_train_aug_list(tmp_path):
    path = str(tmp_path / "x.mat")
    savemat(path, {"Other": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"x\.mat: no struct GTcls"):
        prepare_voc.read_sbd_mask(path)
    mask = np.arange(30, dtype=np.uint8).reshape(5, 6) % 21
    _save_sbd_mat(mask, path)
    got = prepare_voc.read_sbd_mask(path)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, mask)
    assert prepare_voc.train_aug_ids(["t1", "v"], ["v"], ["s1", "v", "t1"], ["s2"]) == [
        "s1",
        "s2",
        "t1",
    ]

"""Tests of the WSSS datasets (base, VOC, COCO, synthetic)."""

import json

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmseg.datasets import COCOStuffDataset, PascalVOCDataset
from mmseg.registry import DATASETS
from mmseg.utils import register_all_modules
from PIL import Image

import mmseg_l2g  # noqa: F401  (registers the datasets)
from mmseg_l2g.datasets import COCO_CLASSES, VOC_CLASSES, SyntheticWSSSDataset

register_all_modules(init_default_scope=False)

# Mask of each image: values present (1-based) -> expected 0-based label.
MASK_CLASSES = {"img_a": [1, 15], "img_b": [20], "img_c": [7, 8, 9]}


def save_mask(path, mask):
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    image = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
    image.putpalette([v for i in range(256) for v in (i, 255 - i, 77)])
    image.save(path)


def make_voc_tree(root, mask_classes=MASK_CLASSES, with_saliency=("img_a", "img_c"), size=(6, 8)):
    """Writes JPEGImages, SegmentationClassAug, saliency_maps and a split list."""
    height, width = size
    for folder in ("JPEGImages", "SegmentationClassAug", "saliency_maps"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for index, (img_id, classes) in enumerate(mask_classes.items()):
        rgb = np.full((height, width, 3), 30 * index, np.uint8)
        Image.fromarray(rgb).save(root / "JPEGImages" / f"{img_id}.jpg")
        mask = np.zeros((height, width), np.uint8)
        mask[0, -1] = 255
        for k, value in enumerate(classes):
            mask[k + 1, : k + 2] = value
        save_mask(root / "SegmentationClassAug" / f"{img_id}.png", mask)
        if img_id in with_saliency:
            sal = np.full((height, width), 128, np.uint8)
            Image.fromarray(sal).save(root / "saliency_maps" / f"{img_id}.png")
    (root / "train.txt").write_text("".join(f"{i}\n" for i in mask_classes))
    return root


def build(type_, **cfg):
    # The mmseg scope lets the dataset's pipeline find mmseg's TRANSFORMS.
    with DefaultScope.overwrite_default_scope("mmseg"):
        return DATASETS.build(dict(type=type_, **cfg))


def expected_label(classes, num_classes=20):
    label = np.zeros(num_classes, np.float32)
    label[np.array(classes) - 1] = 1
    return label


# ------------------------------------------------------------------------ VOC
def test_voc_labels_from_masks_and_item_keys(tmp_path, logs):
    root = make_voc_tree(tmp_path)
    dataset = build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt")
    assert len(dataset) == 3
    for idx, (img_id, classes) in enumerate(MASK_CLASSES.items()):
        item = dataset.get_data_info(idx)
        assert item["img_id"] == img_id
        assert item["img_path"] == str(root / "JPEGImages" / f"{img_id}.jpg")
        assert item["seg_map_path"] == str(root / "SegmentationClassAug" / f"{img_id}.png")
        assert item["gt_label"].dtype == np.float32 and item["gt_label"].shape == (20,)
        np.testing.assert_array_equal(item["gt_label"], expected_label(classes))
        assert item["reduce_zero_label"] is False and item["seg_fields"] == []
        assert dataset.get_cat_ids(idx) == [c - 1 for c in classes]
    assert dataset.get_data_info(1)["sal_path"] is None
    assert dataset.get_data_info(2)["sal_path"] == str(root / "saliency_maps" / "img_c.png")
    assert dataset.num_with_saliency == 2
    assert [dataset.has_saliency(i) for i in range(3)] == [True, False, True]
    assert any("saliency maps found for 2 of 3 images" in m for m in logs.messages)


def test_voc_metainfo_matches_mmseg():
    assert len(VOC_CLASSES) == 21 and VOC_CLASSES[0] == "background"
    meta = DATASETS.get("VOCWSSSDataset").METAINFO
    assert meta["classes"] == PascalVOCDataset.METAINFO["classes"]
    assert meta["palette"] == [list(c) for c in PascalVOCDataset.METAINFO["palette"]]
    assert meta["palette"][15] == [192, 128, 128]  # person


def test_coco_metainfo_and_build(tmp_path):
    assert len(COCO_CLASSES) == 81 and COCO_CLASSES[0] == "background"
    # COCO-Stuff's first 80 classes are the COCO things in the usual order.
    assert COCO_CLASSES[1:] == COCOStuffDataset.METAINFO["classes"][:80]
    root = tmp_path
    (root / "JPEGImages").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / "JPEGImages" / "c1.jpg")
    (root / "train.txt").write_text("c1\n")
    (root / "cls.txt").write_text("c1 toothbrush teddy_bear 0\n")
    dataset = build(
        "COCOWSSSDataset",
        data_root=str(root),
        ann_file="train.txt",
        label_file="cls.txt",
        data_prefix=dict(img_path="JPEGImages"),
    )
    palette = dataset.metainfo["palette"]
    assert len(dataset.metainfo["classes"]) == 81 and len(palette) == 81
    assert len({tuple(c) for c in palette}) == 81 and palette[0] == [0, 0, 0]
    label = dataset.get_data_info(0)["gt_label"]
    assert label.shape == (80,) and np.flatnonzero(label).tolist() == [0, 77, 79]
    assert dataset.get_data_info(0)["seg_map_path"] is None
    assert dataset.num_with_saliency == 0


def test_label_file_txt_takes_precedence_over_masks(tmp_path):
    root = make_voc_tree(tmp_path)
    # Labels deliberately different from the masks: the file must win.
    (root / "cls.txt").write_text("img_c cat\nimg_a 0\nimg_b 19 1\n")
    dataset = build(
        "VOCWSSSDataset", data_root=str(root), ann_file="train.txt", label_file="cls.txt"
    )
    labels = [np.flatnonzero(dataset.get_data_info(i)["gt_label"]).tolist() for i in range(3)]
    assert labels == [[0], [1, 19], [7]]


def test_label_file_npy_and_voc_aug_split_lines(tmp_path):
    root = make_voc_tree(tmp_path)
    (root / "train_aug.txt").write_text(
        "/JPEGImages/img_b.jpg /SegmentationClassAug/img_b.png\n"
        "/JPEGImages/img_a.jpg /SegmentationClassAug/img_a.png\n"
    )
    table = {"img_a": expected_label([3]), "img_b": expected_label([4, 5]), "extra": np.ones(20)}
    np.save(root / "cls_labels.npy", table)
    dataset = build(
        "VOCWSSSDataset",
        data_root=str(root),
        ann_file="train_aug.txt",
        label_file="cls_labels.npy",
    )
    assert [dataset.get_data_info(i)["img_id"] for i in range(2)] == ["img_b", "img_a"]
    np.testing.assert_array_equal(dataset.get_data_info(0)["gt_label"], table["img_b"])
    np.testing.assert_array_equal(dataset.get_data_info(1)["gt_label"], table["img_a"])


def test_base_dataset_needs_classes_background_first(tmp_path):
    root = make_voc_tree(tmp_path)
    common = dict(data_root=str(root), ann_file="train.txt")
    with pytest.raises(ValueError, match="metainfo needs 'classes'"):
        build("WSSSDataset", **common)
    with pytest.raises(ValueError, match="must start with the background"):
        build("WSSSDataset", metainfo=dict(classes=("cat", "dog")), **common)
    classes = tuple(f"c{i}" for i in range(21))
    dataset = build(
        "WSSSDataset",
        metainfo=dict(classes=("background", *classes[1:])),
        data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClassAug"),
        **common,
    )
    assert dataset.num_classes == 20 and len(dataset.metainfo["palette"]) == 21
    assert dataset.num_with_saliency == 0


# ------------------------------------------------------------------ bad input
def test_missing_image_names_file(tmp_path):
    root = make_voc_tree(tmp_path)
    (root / "JPEGImages" / "img_b.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of 3 images .*JPEGImages/img_b\.jpg"):
        build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt")


def test_unknown_class_in_label_file(tmp_path):
    root = make_voc_tree(tmp_path)
    (root / "cls.txt").write_text("img_a cat\nimg_b unicorn\nimg_c 3\n")
    with pytest.raises(ValueError, match=r"cls.txt:2: unknown class name 'unicorn'"):
        build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt", label_file="cls.txt")


def test_label_file_lacking_an_image(tmp_path):
    root = make_voc_tree(tmp_path)
    (root / "cls.txt").write_text("img_a cat\nimg_c 3\n")
    with pytest.raises(ValueError, match=r"no label for 1 of 3 images .*img_b"):
        build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt", label_file="cls.txt")


def test_unlabeled_image_dropped_with_count(tmp_path, logs):
    root = make_voc_tree(tmp_path, mask_classes={"img_a": [2], "img_b": [], "img_c": [3]})
    dataset = build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt")
    assert len(dataset) == 2 and dataset.num_dropped_unlabeled == 1
    assert [dataset.get_data_info(i)["img_id"] for i in range(2)] == ["img_a", "img_c"]
    assert any("dropped 1 of 3 images" in m and "img_b" in m for m in logs.messages)
    with pytest.raises(ValueError, match=r"1 images of .*train.txt have no positive label"):
        build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt", drop_unlabeled=False)


def test_empty_split_names_ann_file(tmp_path):
    root = make_voc_tree(tmp_path)
    (root / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match=r"split list .*empty\.txt holds no image ids"):
        build("VOCWSSSDataset", data_root=str(root), ann_file="empty.txt")


def test_missing_data_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_root not found: .*nowhere"):
        build("VOCWSSSDataset", data_root=str(tmp_path / "nowhere"), ann_file="train.txt")


def test_no_label_source(tmp_path):
    root = make_voc_tree(tmp_path)
    with pytest.raises(ValueError, match="give a label_file or a data_prefix seg_map_path"):
        build(
            "VOCWSSSDataset",
            data_root=str(root),
            ann_file="train.txt",
            data_prefix=dict(img_path="JPEGImages"),
        )


def test_missing_mask_when_labels_come_from_masks(tmp_path):
    root = make_voc_tree(tmp_path)
    (root / "SegmentationClassAug" / "img_c.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"masks are missing \(first: .*img_c\.png"):
        build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt")


def test_missing_saliency_folder_is_logged(tmp_path, logs):
    root = make_voc_tree(tmp_path)
    dataset = build(
        "VOCWSSSDataset",
        data_root=str(root),
        ann_file="train.txt",
        data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClassAug", sal_path="x"),
    )
    assert dataset.num_with_saliency == 0
    assert any("saliency map folder" in m and "not found" in m for m in logs.messages)


def test_lazy_init_and_subset(tmp_path):
    root = make_voc_tree(tmp_path)
    dataset = build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt", lazy_init=True)
    assert not dataset._fully_initialized
    assert dataset.num_with_saliency == 2  # triggers the full load
    subset = build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt", indices=[1])
    assert len(subset) == 1 and subset.num_with_saliency == 0 and not subset.has_saliency(0)


def test_pipeline_loads_image_saliency_and_mask(tmp_path):
    root = make_voc_tree(tmp_path)
    pipeline = [
        dict(type="LoadWSSSImage"),
        dict(type="LoadSaliencyMap"),
        dict(type="LoadWSSSAnnotations"),
    ]
    dataset = build("VOCWSSSDataset", data_root=str(root), ann_file="train.txt", pipeline=pipeline)
    results = dataset[0]
    assert results["img"].shape == (6, 8, 3) and results["img"].dtype == np.uint8
    np.testing.assert_allclose(results["gt_saliency"], 128 / 255, rtol=1e-6)
    assert results["gt_seg_map"][1, 0] == 1 and results["gt_seg_map"][2, 1] == 15
    assert results["seg_fields"] == ["gt_saliency", "gt_seg_map"]
    assert "gt_saliency" not in dataset[1]  # img_b has no saliency map


# ------------------------------------------------------------------ synthetic
def make_synthetic_tree(root, with_meta=True):
    classes = ["background", "disc", "square", "star"]
    palette = [[0, 0, 0], [200, 10, 10], [10, 200, 10], [10, 10, 200]]
    for folder in ("JPEGImages", "SegmentationClass", "Saliency", "ImageSets/Segmentation"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    masks = {"000": [1], "001": [2, 3], "002": [3]}
    for img_id, values in masks.items():
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / "JPEGImages" / f"{img_id}.jpg")
        mask = np.zeros((4, 4), np.uint8)
        mask[: len(values), 0] = values
        save_mask(root / "SegmentationClass" / f"{img_id}.png", mask)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / "Saliency" / f"{img_id}.png")
    sets = root / "ImageSets" / "Segmentation"
    (sets / "train.txt").write_text("000\n001\n")
    (sets / "val.txt").write_text("002\n")
    (sets / "train_cls.txt").write_text("000 2\n001 square\n")  # differs from masks
    if with_meta:
        meta = dict(classes=classes, palette=palette, generator_version="1.0", seed=3)
        (root / "meta.json").write_text(json.dumps(meta))
    return root, classes, palette


def test_synthetic_reads_meta_and_split_label_file(tmp_path):
    root, classes, palette = make_synthetic_tree(tmp_path)
    train = build("SyntheticWSSSDataset", data_root=str(root))
    assert isinstance(train, SyntheticWSSSDataset)
    assert train.metainfo["classes"] == tuple(classes)
    assert train.metainfo["palette"] == palette
    assert train.metainfo["generator_version"] == ("1.0",)
    assert train.label_file == str(root / "ImageSets/Segmentation/train_cls.txt")
    labels = [train.get_data_info(i)["gt_label"].tolist() for i in range(2)]
    assert labels == [[0, 0, 1], [0, 1, 0]]  # from train_cls.txt, not from the masks
    assert train.num_with_saliency == 2
    val = build(
        "SyntheticWSSSDataset", data_root=str(root), ann_file="ImageSets/Segmentation/val.txt"
    )
    assert val.label_file is None  # no val_cls.txt: labels from the masks
    assert val.get_data_info(0)["gt_label"].tolist() == [0, 0, 1]


def test_synthetic_config_metainfo_wins_and_missing_meta(tmp_path):
    root, _, _ = make_synthetic_tree(tmp_path, with_meta=False)
    with pytest.raises(FileNotFoundError, match="meta.json"):
        build("SyntheticWSSSDataset", data_root=str(root))
    names = ("background", "disc", "square", "other")
    dataset = build("SyntheticWSSSDataset", data_root=str(root), metainfo=dict(classes=names))
    assert dataset.metainfo["classes"] == names and len(dataset.metainfo["palette"]) == 4

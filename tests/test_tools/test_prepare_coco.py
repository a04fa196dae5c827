"""Tests of tools/prepare_coco.py on a tiny COCO 2014 tree in the real formats."""

import json
import os

import numpy as np
import pytest
from PIL import Image
from tool_test_utils import load_script

from mmseg_l2g.datasets.coco_wsss_dataset import COCO_CLASSES
from mmseg_l2g.datasets.label_io import load_label_file

prepare_coco = load_script("tools/prepare_coco.py", register=True)

# COCO's 80 category ids (1..90 without 12, 26, 29, 30, 45, 66, 68, 69, 71, 83).
COCO_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]


def _encode_rle_string(runs):
    """COCO's compressed RLE writer (an independent implementation for the test)."""
    out = []
    for i, run in enumerate(runs):
        value = run - runs[i - 2] if i > 2 else run
        more = True
        while more:
            group = value & 0x1F
            value >>= 5
            more = value != -1 if group & 0x10 else value != 0
            out.append(chr(48 + (group | 0x20 if more else group)))
    return "".join(out)


def _runs(mask):
    """Column-major run lengths, background first."""
    flat = mask.T.reshape(-1).astype(np.uint8)
    runs, current, length = [], 0, 0
    for value in flat:
        if value == current:
            length += 1
        else:
            runs.append(length)
            current, length = value, 1
    runs.append(length)
    return runs


def _inside(px, py, polygon):
    """Even-odd ray casting (the test's own point-in-polygon)."""
    pts = np.asarray(polygon, float).reshape(-1, 2)
    inside = False
    for (ax, ay), (bx, by) in zip(pts, np.roll(pts, -1, axis=0)):
        if (ay > py) != (by > py) and px < ax + (py - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside


# ----------------------------------------------------------------- decoding
def test_compressed_rle_hand_examples():
    assert prepare_coco.decode_rle_string("327") == [3, 2, 7]
    assert prepare_coco.decode_rle_string("3273") == [3, 2, 7, 5]  # 4th run: 2 + 3
    assert prepare_coco.decode_rle_string("327O") == [3, 2, 7, 1]  # 'O' = -1 -> 2 - 1
    assert prepare_coco.decode_rle_string("X1") == [40]  # 8 + 1 << 5
    assert prepare_coco.decode_rle_string(b"X1") == [40]
    with pytest.raises(ValueError, match="ends inside a run"):
        prepare_coco.decode_rle_string("X")
    with pytest.raises(ValueError, match="invalid character"):
        prepare_coco.decode_rle_string("3 2")


def test_rle_round_trip_both_encodings():
    rng = np.random.default_rng(0)
    for _ in range(20):
        h, w = rng.integers(1, 30, size=2)
        mask = rng.random((h, w)) < rng.random()
        runs = _runs(mask)
        assert (
            _encode_rle_string(runs)
            and prepare_coco.decode_rle_string(_encode_rle_string(runs)) == runs
        )
        for counts in (runs, _encode_rle_string(runs)):
            got = prepare_coco.decode_rle(dict(counts=counts, size=[int(h), int(w)]), h, w)
            np.testing.assert_array_equal(got, mask)
    # Column-major: runs [1, 2, 3] on 2x3 fill (1,0), (0,1) as foreground.
    got = prepare_coco.decode_rle(dict(counts=[1, 2, 3], size=[2, 3]), 2, 3)
    np.testing.assert_array_equal(got, [[False, True, False], [True, False, False]])
    with pytest.raises(ValueError, match="sum to 5, expected 6"):
        prepare_coco.decode_rle(dict(counts=[1, 4], size=[2, 3]), 2, 3)
    with pytest.raises(ValueError, match="differs from the image"):
        prepare_coco.decode_rle(dict(counts=[6], size=[3, 2]), 2, 3)


def test_polygon_rasterisation_is_pixel_centre_sampling():
    box = prepare_coco.rasterize_polygon([2, 1, 6, 1, 6, 4, 2, 4], 7, 9)
    expected = np.zeros((7, 9), bool)
    expected[1:4, 2:6] = True  # half-open: columns 2..5, rows 1..3
    np.testing.assert_array_equal(box, expected)
    # Partly outside the image: clipped.
    clipped = prepare_coco.rasterize_polygon([-3, -2, 4.2, -2, 4.2, 2.7, -3, 2.7], 5, 6)
    expected = np.zeros((5, 6), bool)
    expected[0:3, 0:4] = True
    np.testing.assert_array_equal(clipped, expected)
    # Random (also concave, self-crossing) polygons against ray casting.
    rng = np.random.default_rng(1)
    for _ in range(30):
        polygon = (rng.random(2 * int(rng.integers(3, 9))) * 14 - 2).round(3) + 0.0123
        got = prepare_coco.rasterize_polygon(polygon.tolist(), 10, 11)
        want = [[_inside(c + 0.5, r + 0.5, polygon) for c in range(11)] for r in range(10)]
        np.testing.assert_array_equal(got, np.array(want))


# ------------------------------------------------------------------- tool
def _ann(ann_id, image_id, category_id, area, segmentation, iscrowd=0):
    """One COCO instance annotation."""
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=category_id,
        iscrowd=iscrowd,
        area=area,
        segmentation=segmentation,
    )


def _write_coco(root, images_on_disk=True):
    car_rle = dict(counts=_encode_rle_string([5, 2, 2, 2, 2, 2, 5]), size=[4, 5])
    anns = [
        # image 1 (6x8): a person box (area 24), a dog triangle-free box on it
        # (area 4), a crowd region of people on the left column (RLE counts).
        _ann(1, 1, 1, 24.0, [[2, 1, 8, 1, 8, 5, 2, 5]]),
        _ann(2, 1, 18, 4.0, [[3, 2, 5, 2, 5, 4, 3, 4]]),
        _ann(3, 1, 1, 6.0, dict(counts=[0, 6, 42], size=[6, 8]), iscrowd=1),
        # image 2 (4x5): a car as a compressed RLE (rows 1-2 of columns 1-3),
        # and a toothbrush polygon in two parts.
        _ann(4, 2, 3, 6.0, car_rle),
        _ann(5, 2, 90, 2.0, [[0, 3, 1, 3, 1, 4, 0, 4], [4, 0, 5, 0, 5, 1, 4, 1]]),
        # image 4: a degenerate polygon only.
        _ann(6, 4, 5, 1.0, [[1, 1, 2, 2]]),
    ]
    images = [
        dict(id=1, file_name="COCO_val2014_000000000001.jpg", height=6, width=8),
        dict(id=2, file_name="COCO_val2014_000000000002.jpg", height=4, width=5),
        dict(id=3, file_name="COCO_val2014_000000000003.jpg", height=3, width=3),
        dict(id=4, file_name="COCO_val2014_000000000004.jpg", height=3, width=3),
    ]
    categories = [dict(id=i, name=n, supercategory="x") for i, n in zip(COCO_IDS, COCO_CLASSES[1:])]
    (root / "annotations").mkdir(parents=True)
    content = dict(images=images, annotations=anns, categories=categories)
    (root / "annotations" / "instances_val2014.json").write_text(json.dumps(content))
    (root / "val2014").mkdir()
    for info in images[:3] if images_on_disk else []:
        Image.new("RGB", (info["width"], info["height"])).save(root / "val2014" / info["file_name"])


def _read(path):
    with Image.open(path) as image:
        return image.mode, np.array(image)


def test_prepare_coco_masks_labels_and_problems(tmp_path, capsys):
    root = tmp_path / "coco"
    _write_coco(root)
    assert prepare_coco.main(["--coco-root", str(root), "--splits", "val2014"]) == 0
    out = capsys.readouterr().out
    masks = root / "SegmentationClass" / "val2014"

    mode, first = _read(masks / "COCO_val2014_000000000001.png")
    expected = np.zeros((6, 8), np.uint8)
    expected[:, 0] = 255  # crowd, where nothing else is
    expected[1:5, 2:8] = 1  # person (painted first: larger)
    expected[2:4, 3:5] = 17  # dog (COCO id 18) on top
    assert mode == "P"
    np.testing.assert_array_equal(first, expected)

    second = _read(masks / "COCO_val2014_000000000002.png")[1]
    expected = np.zeros((4, 5), np.uint8)
    expected[1:3, 1:4] = 3  # car, from the compressed RLE
    expected[3, 0] = expected[0, 4] = 80  # toothbrush (id 90), two polygons
    np.testing.assert_array_equal(second, expected)
    np.testing.assert_array_equal(
        _read(masks / "COCO_val2014_000000000003.png")[1], np.zeros((3, 3), np.uint8)
    )

    assert (root / "ImageSets" / "val2014.txt").read_text().split() == [
        f"COCO_val2014_00000000000{i}" for i in (1, 2, 3, 4)
    ]
    assert (root / "val2014_cls.txt").read_text().splitlines() == [
        "COCO_val2014_000000000001 0 16",
        "COCO_val2014_000000000002 2 79",
        "COCO_val2014_000000000003",
        "COCO_val2014_000000000004",
    ]
    labels = load_label_file(str(root / "val2014_cls.txt"), COCO_CLASSES[1:])
    assert np.flatnonzero(labels["COCO_val2014_000000000002"]).tolist() == [2, 79]
    assert os.path.samefile(root / "JPEGImages" / "val2014", root / "val2014")

    problems = (root / "prepare_coco_problems_val2014.txt").read_text().splitlines()
    assert problems == [
        "COCO_val2014_000000000003\tno annotations",
        "COCO_val2014_000000000004\timage missing",
        "COCO_val2014_000000000004\tannotation of class 5 unusable: no polygon with 3 or more "
        "points",
        "COCO_val2014_000000000004\tempty mask (no class pixel)",
    ]
    assert "[val2014] masks: 4 written, 0 kept, 0 not made; 2 of 4 images" in out
    assert "problems: 4; annotation: 1; empty mask (no class pixel): 1; image missing: 1" in out


def test_prepare_coco_resumes_with_workers_and_out_dir(tmp_path, capsys):
    root, out = tmp_path / "coco", tmp_path / "out"
    _write_coco(root)
    args = ["--coco-root", str(root), "--out-dir", str(out), "--splits", "val2014"]
    assert prepare_coco.main(args + ["--workers", "2"]) == 0
    png = out / "SegmentationClass" / "val2014" / "COCO_val2014_000000000002.png"
    stamp = os.stat(png).st_mtime_ns
    capsys.readouterr()
    assert prepare_coco.main(args) == 0
    text = capsys.readouterr().out
    assert "masks: 0 written, 4 kept" in text and "already exists" in text
    assert os.stat(png).st_mtime_ns == stamp
    assert (out / "val2014_cls.txt").read_text().startswith("COCO_val2014_000000000001 0 16\n")
    assert prepare_coco.main(args + ["--overwrite"]) == 0
    assert "masks: 4 written, 0 kept" in capsys.readouterr().out


def test_prepare_coco_bad_inputs(tmp_path, capsys):
    assert prepare_coco.main(["--coco-root", str(tmp_path), "--splits", "val2014"]) == 1
    assert "annotation file not found" in capsys.readouterr().err
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_val2014.json").write_text('{"images": []}')
    assert prepare_coco.main(["--coco-root", str(tmp_path), "--splits", "val2014"]) == 1
    assert "not COCO instances JSON" in capsys.readouterr().err
    categories = [dict(id=i, name=f"c{i}") for i in COCO_IDS]
    with pytest.raises(ValueError, match=r"categories\[0\] \(id 1\): 'c1' is not one of COCO's"):
        prepare_coco.category_indices(categories, "x.json")
    mapping = prepare_coco.category_indices(
        [dict(id=i, name=n) for i, n in zip(COCO_IDS, COCO_CLASSES[1:])], "x.json"
    )
    assert mapping[1] == 1 and mapping[13] == 12 and mapping[90] == 80 and len(mapping) == 80


# ------------------------------------------------------------ pycocotools
def test_pycocotools_is_used_when_importable():
    assert prepare_coco.coco_mask is not None  # installed with the test tools (tools/install.sh)


def test_rle_pycocotools_and_own_decoder_agree():
    rng = np.random.default_rng(2)
    for _ in range(30):
        h, w = (int(v) for v in rng.integers(1, 40, size=2))
        mask = rng.random((h, w)) < rng.random()
        runs = _runs(mask)
        for counts in (runs, _encode_rle_string(runs)):
            rle = dict(counts=counts, size=[h, w])
            ours = prepare_coco.instance_mask(rle, h, w, use_pycocotools=False)
            theirs = prepare_coco.instance_mask(rle, h, w, use_pycocotools=True)
            np.testing.assert_array_equal(ours, mask)
            np.testing.assert_array_equal(theirs, mask)
    # Both refuse runs that do not add up to the image (pycocotools alone would pad).
    for use in (False, True):
        with pytest.raises(ValueError, match="sum to 5, expected 6"):
            prepare_coco.instance_mask(dict(counts=[1, 4], size=[2, 3]), 2, 3, use_pycocotools=use)
        with pytest.raises(ValueError, match="differs from the image"):
            prepare_coco.instance_mask(dict(counts=[6], size=[3, 2]), 2, 3, use_pycocotools=use)


def _distance_to_outline(px, py, polygon):
    """Distance of points (px, py) to the nearest edge of a closed polygon."""
    pts = np.asarray(polygon, float).reshape(-1, 2)
    a, b = pts, np.roll(pts, -1, axis=0)
    p = np.stack([px, py], axis=1)[:, None, :]  # (N, 1, 2) against (E, 2) edges
    edge = b - a
    t = np.clip(((p - a) * edge).sum(-1) / np.maximum((edge**2).sum(-1), 1e-12), 0, 1)
    nearest = a + t[..., None] * edge
    return np.sqrt(((p - nearest) ** 2).sum(-1)).min(axis=1)


def test_polygon_difference_to_pycocotools_is_bounded_to_the_outline(capsys):
    """pycocotools' polygon rasteriser differs from pixel-centre sampling on outline pixels only."""
    rng = np.random.default_rng(3)
    height, width, fractions = 120, 160, []
    for _ in range(100):
        n = int(rng.integers(3, 12))
        centre = rng.uniform([30, 30], [130, 90])
        radius = rng.uniform(5, 40, size=n)
        angle = np.sort(rng.uniform(0, 2 * np.pi, n))
        polygon = np.stack([centre[0] + radius * np.cos(angle), centre[1] + radius * np.sin(angle)])
        polygon = polygon.T.round(2).reshape(-1).tolist()
        ours = prepare_coco.instance_mask([polygon], height, width, use_pycocotools=False)
        theirs = prepare_coco.instance_mask([polygon], height, width, use_pycocotools=True)
        differ = ours != theirs
        rows, cols = np.nonzero(differ)
        distance = _distance_to_outline(cols + 0.5, rows + 0.5, polygon)
        assert (distance <= 1.0).all(), distance.max()  # pixels the outline passes through
        fractions.append(differ.mean())
    with capsys.disabled():
        print(
            f"\npolygons, own rasteriser vs pycocotools: {100 * np.mean(fractions):.3f} % of "
            f"pixels differ on average, {100 * np.max(fractions):.3f} % at worst"
        )
    assert np.mean(fractions) < 0.001 and np.max(fractions) < 0.005
    assert np.mean(fractions) > 0  # they are two rasterisers, not one


def test_prepare_coco_fallback_gives_the_hand_computed_masks(tmp_path, monkeypatch):
    monkeypatch.setattr(prepare_coco, "coco_mask", None)
    root = tmp_path / "coco"
    _write_coco(root)
    assert prepare_coco.main(["--coco-root", str(root), "--splits", "val2014"]) == 0
    masks = root / "SegmentationClass" / "val2014"
    expected = np.zeros((4, 5), np.uint8)
    expected[1:3, 1:4] = 3
    expected[3, 0] = expected[0, 4] = 80
    np.testing.assert_array_equal(_read(masks / "COCO_val2014_000000000002.png")[1], expected)
    first = _read(masks / "COCO_val2014_000000000001.png")[1]
    assert (first[2:4, 3:5] == 17).all() and (first[:, 0] == 255).all()


def test_far_away_vertices_do_not_reach_pycocotools():
    # pycocotools would scale 1e9 into a C int (overflow) and allocate per outline pixel.
    triangle = [0.0, 0.0, 1e9, 0.0, 0.0, 1e9]
    got = prepare_coco.instance_mask([triangle], 5, 6, use_pycocotools=True)
    assert got.all()  # the triangle covers the whole image
    # Compressed RLE with runs short of the image: refused as by the own decoder.
    with pytest.raises(ValueError, match="sum to 5, expected 12"):
        prepare_coco.instance_mask(dict(counts="32", size=[3, 4]), 3, 4, use_pycocotools=True)

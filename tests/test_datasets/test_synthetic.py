"""Tests of the synthetic WSSS dataset generator (mmseg_l2g.datasets.synthetic)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmseg_l2g.datasets.synthetic import (
    GENERATOR_VERSION,
    SyntheticDesign,
    class_names,
    class_palette,
    make_synthetic,
    read_marks,
    render_sample,
)
from mmseg_l2g.datasets.synthetic import generator as generator_module
from mmseg_l2g.datasets.synthetic.classes import class_appearances
from mmseg_l2g.datasets.synthetic.saliency import contrast_ramp, local_contrast
from mmseg_l2g.datasets.synthetic.scene import _class_mask

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = 64
NUM_TRAIN, NUM_VAL = 6, 3
CLASSES = ["background", "red", "green", "blue", "yellow"]


def generate(root, seed=0, num_train=NUM_TRAIN, num_val=NUM_VAL, **kwargs):
    options = dict(size=SIZE, num_workers=1, progress=False)
    options.update(kwargs)
    return make_synthetic(str(root), num_train, num_val, seed, **options)


def all_files(root):
    """Relative path -> bytes of every file under root."""
    root = Path(root)
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def split_ids(root, split):
    return (Path(root) / "ImageSets/Segmentation" / f"{split}.txt").read_text().split()


def read_label_lists(root, split):
    lines = (Path(root) / "ImageSets/Segmentation" / f"{split}_cls.txt").read_text().splitlines()
    return {line.split()[0]: [int(t) for t in line.split()[1:]] for line in lines}


def read_mask(root, img_id):
    with Image.open(Path(root) / "SegmentationClass" / f"{img_id}.png") as image:
        assert image.mode == "P"
        return np.asarray(image)


def read_saliency(root, img_id):
    with Image.open(Path(root) / "Saliency" / f"{img_id}.png") as image:
        assert image.mode == "L"
        return np.asarray(image)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    meta = generate(root)
    return root, meta


def test_layout_and_meta(dataset):
    root, meta = dataset
    assert split_ids(root, "train") == [f"train_{i:06d}" for i in range(NUM_TRAIN)]
    assert split_ids(root, "val") == [f"val_{i:06d}" for i in range(NUM_VAL)]
    expected = {
        "classes": CLASSES,
        "palette": [[0, 0, 0], [255, 0, 0], [0, 210, 0], [0, 70, 255], [255, 225, 0]],
        "generator_version": GENERATOR_VERSION,
        "seed": 0,
        "size": SIZE,
        "num_train": NUM_TRAIN,
        "num_val": NUM_VAL,
        "design": SyntheticDesign().to_dict(),
    }
    assert meta == expected
    assert json.loads((root / "meta.json").read_text()) == expected
    for img_id in split_ids(root, "train") + split_ids(root, "val"):
        with Image.open(root / "JPEGImages" / f"{img_id}.jpg") as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (SIZE, SIZE))
        with Image.open(root / "SegmentationClass" / f"{img_id}.png") as mask:
            assert (mask.mode, mask.size) == ("P", (SIZE, SIZE))
            colours = np.array(mask.getpalette()[: 3 * 256]).reshape(256, 3)
            assert colours[:5].tolist() == expected["palette"]
            assert colours[255].tolist() == [224, 224, 192]
        assert read_saliency(root, img_id).shape == (SIZE, SIZE)


def test_same_seed_gives_identical_bytes_with_any_worker_count(dataset, tmp_path):
    root, _ = dataset
    generate(tmp_path / "again", num_workers=2)
    first, second = all_files(root), all_files(tmp_path / "again")
    assert len(first) == 3 * (NUM_TRAIN + NUM_VAL) + 7  # 3 files an image, 6 lists, meta
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_different_seed_gives_different_data(dataset, tmp_path):
    root, _ = dataset
    generate(tmp_path / "other", seed=1)
    first, second = all_files(root), all_files(tmp_path / "other")
    images = [name for name in first if name.startswith("JPEGImages")]
    assert len(images) == NUM_TRAIN + NUM_VAL
    assert all(first[name] != second[name] for name in images)
    masks = [name for name in first if name.startswith("SegmentationClass")]
    assert sum(first[name] != second[name] for name in masks) >= len(masks) - 1


def test_label_lists_agree_with_masks(dataset):
    root, _ = dataset
    for split in ("train", "val"):
        labels = read_label_lists(root, split)
        assert list(labels) == split_ids(root, split)
        for img_id, listed in labels.items():
            values = np.unique(read_mask(root, img_id))
            present = [int(v) - 1 for v in values if 0 < v < 255]
            assert listed == present, img_id  # a class is listed iff it has pixels
            assert 1 <= len(listed) <= 3
            assert set(values.tolist()) <= {0, 1, 2, 3, 4, 255}


def test_masks_have_a_border_band_on_every_outline(dataset):
    root, _ = dataset
    for img_id in split_ids(root, "train"):
        mask = read_mask(root, img_id)
        assert (mask == 255).any()
        assert (mask == 255).mean() < 0.2
        # Two 4-adjacent labelled pixels never differ: every class change crosses the band.
        for a, b in ((mask[:, 1:], mask[:, :-1]), (mask[1:, :], mask[:-1, :])):
            labelled = (a != 255) & (b != 255)
            assert not (labelled & (a != b)).any(), img_id


def test_border_band_is_hand_computed_on_a_square():
    instance = np.zeros((8, 8), np.int32)
    instance[2:6, 2:6] = 1
    objects = [type("Obj", (), {"class_index": 2})()]
    expected = np.zeros((8, 8), np.uint8)
    expected[1:7, 1:7] = 255
    expected[3:5, 3:5] = 3  # class index 2 -> value 3; the 2-px band around the outline
    np.testing.assert_array_equal(_class_mask(instance, objects), expected)


def test_saliency_aligned_with_foreground(dataset):
    root, _ = dataset
    for img_id in split_ids(root, "train") + split_ids(root, "val"):
        mask, saliency = read_mask(root, img_id), read_saliency(root, img_id).astype(float)
        inside = saliency[(mask > 0) & (mask < 255)].mean()
        outside = saliency[mask == 0].mean()
        assert inside - outside > 100, (img_id, inside, outside)
        assert saliency.max() >= 200 and saliency.min() <= 30


# The saliency error model's kinds, each measured alone (the others switched off).
EXACT_SALIENCY = dict(
    saliency_blur=0.0,
    saliency_bleed=0.0,
    saliency_hole_prob=0.0,
    saliency_false_positive_prob=0.0,
    saliency_small_miss_prob=0.0,
    saliency_contrast_range=(0.0, 0.0),
)


def foreground_of(sample):
    foreground = np.zeros(sample.mask.shape, bool)
    for obj in sample.objects:
        foreground |= obj.visible
    return foreground


def test_local_contrast_and_ramp_hand_computed():
    image = np.zeros((4, 4, 3), np.float32)
    image[:2, :, :] = (30.0, 40.0, 0.0)  # distance 50 from the black backdrop
    contrast = local_contrast(image, np.zeros_like(image), sigma=0.0)
    np.testing.assert_allclose(contrast, np.repeat([[50.0], [50.0], [0.0], [0.0]], 4, axis=1))
    np.testing.assert_allclose(
        contrast_ramp(np.array([0.0, 10.0, 25.0, 40.0, 90.0]), (10.0, 40.0)),
        [0.0, 0.0, 0.5, 1.0, 1.0],
    )


def test_saliency_without_errors_is_the_foreground():
    for sample in render_many(10, **EXACT_SALIENCY):
        foreground = foreground_of(sample)
        assert (sample.saliency[~foreground] == 0).all()
        assert (sample.saliency[foreground] >= 216).all()  # 0.85 * 255


def test_low_contrast_parts_are_missed():
    def missed(**design):
        samples = render_many(40, size=128, **dict(EXACT_SALIENCY, **design))
        return np.mean([(s.saliency[foreground_of(s)] < 128).mean() for s in samples])

    default_range = SyntheticDesign().saliency_contrast_range
    assert missed() == 0.0
    share = missed(saliency_contrast_range=default_range)
    assert 0.03 < share < 0.3, share  # some parts blend into the background
    assert missed(saliency_contrast_range=(60.0, 120.0)) > share + 0.1  # stricter: more missed


def test_clutter_blobs_are_lit_at_their_probability():
    def lit_share(prob):
        lit = []
        for sample in render_many(60, **dict(EXACT_SALIENCY, saliency_false_positive_prob=prob)):
            free = ~foreground_of(sample)
            for blob in sample.clutter:
                if (blob & free).sum() >= 10:
                    lit.append(sample.saliency[blob & free].min() >= 153)  # 0.6 * 255
        assert len(lit) > 60
        return np.mean(lit)

    assert lit_share(0.0) == 0.0
    assert 0.3 < lit_share(0.5) < 0.7
    assert lit_share(1.0) == 1.0


def test_edges_bleed_and_blur():
    from scipy.ndimage import distance_transform_edt

    size, bleed = 128, 0.05

    def widths(**design):
        out = []
        for sample in render_many(30, size=size, **dict(EXACT_SALIENCY, **design)):
            foreground = foreground_of(sample)
            distance = distance_transform_edt(~foreground)
            spill = (sample.saliency > 0) & ~foreground
            out.append(distance[spill].max() if spill.any() else 0.0)
        return np.array(out)

    spread = widths(saliency_bleed=bleed)
    assert spread.max() <= round(bleed * size) + 1  # never past the largest radius
    assert 1.5 < spread.mean() < bleed * size  # radii drawn in 0..6.4 px
    blurred = widths(saliency_blur=0.02)  # sigma 2.6 px: a soft ramp several px wide
    assert (blurred >= 4).all()
    assert widths().max() == 0.0


def test_small_objects_are_sometimes_missed():
    def dropped(prob):
        design = dict(
            EXACT_SALIENCY,
            body_size_range=(0.3, 0.4),
            saliency_small_area=0.5,
            saliency_small_miss_prob=prob,
        )
        objects = [
            (sample.saliency[obj.visible] == 0).all()
            for sample in render_many(30, size=128, **design)
            for obj in sample.objects
            if obj.visible.any()
        ]
        assert len(objects) > 30
        return np.mean(objects)

    assert dropped(0.0) == 0.0
    assert 0.3 < dropped(0.5) < 0.7
    assert dropped(1.0) == 1.0


def test_saliency_is_deterministic_per_seed():
    first, second = render_many(3), render_many(3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.saliency, b.saliency)


def render_many(count, size=64, **design):
    design = SyntheticDesign(**design)
    return [render_sample(np.random.default_rng([7, i]), size, 4, design) for i in range(count)]


def test_marks_are_visible_small_saturated_and_off_centre():
    size = 128
    design = SyntheticDesign()
    side = round(design.mark_size_ratio * size)
    for sample in render_many(30, size=size, noise_std=0.0):
        for obj in sample.objects:
            y0, x0, y1, x1 = obj.mark_box
            assert (y1 - y0, x1 - x0) == (side, side)
            assert obj.body[y0:y1, x0:x1].all()
            assert (sample.mask[y0:y1, x0:x1] == obj.class_index + 1).all()  # never occluded
            colour = class_palette(4)[obj.class_index + 1]
            centre_pixel = sample.image[(y0 + y1) // 2, (x0 + x1) // 2]
            assert centre_pixel.tolist() == colour
            ys, xs = np.nonzero(obj.body)
            radius = np.sqrt(ys.size / np.pi)
            distance = np.hypot((y0 + y1 - 1) / 2 - ys.mean(), (x0 + x1 - 1) / 2 - xs.mean())
            assert distance >= design.mark_offset * radius - 1.0


# The first design (small bodies, up to 3 objects, stripes the class's own 60 %).
SMALL_BODIES = dict(
    body_texture_reliability=0.6,
    body_size_range=(0.25, 0.5),
    max_objects=3,
    class_count_weights=(0.45, 0.35, 0.2),
)


def test_marks_are_recorded_where_they_are_drawn(dataset):
    root, _ = dataset
    for split in ("train", "val"):
        marks = read_marks(str(root), split)
        assert sorted(marks) == split_ids(root, split)
        labels = read_label_lists(root, split)
        for img_id, image_marks in marks.items():
            mask = read_mask(root, img_id)
            assert sorted({m["class"] for m in image_marks}) == labels[img_id]
            for mark in image_marks:
                y0, x0, y1, x1 = mark["box"]
                assert 0 <= y0 < y1 <= SIZE and 0 <= x0 < x1 <= SIZE
                # The recorded square is painted in its class's mask value (never occluded).
                assert (mask[y0:y1, x0:x1] == mark["class"] + 1).all()
    with pytest.raises(FileNotFoundError, match="records no mark positions"):
        read_marks(str(root / "nowhere"), "val")


def test_class_offset_gives_disjoint_classes():
    targets, others = class_appearances(4), class_appearances(4, offset=4)
    for field in ("name", "mark_colour", "stripe_angle", "stripe_period"):
        assert not {getattr(a, field) for a in targets} & {getattr(a, field) for a in others}
    assert class_names(4, 4) == ["background", "magenta", "cyan", "orange", "purple"]
    assert class_palette(4, 4)[1] == [255, 0, 255]
    with pytest.raises(ValueError, match="class_offset must be in 0..8 for 4 classes"):
        class_appearances(4, offset=9)
    # A sample of the offset design wears the other classes' mark colours.
    rng = np.random.default_rng(0)
    sample = render_sample(rng, 128, 4, SyntheticDesign(class_offset=4, noise_std=0.0))
    for obj in sample.objects:
        y0, x0, y1, x1 = obj.mark_box
        centre = sample.image[(y0 + y1) // 2, (x0 + x1) // 2].tolist()
        assert centre == class_palette(4, 4)[obj.class_index + 1]
        assert centre not in class_palette(4)


def test_body_texture_reliability_and_scene_statistics():
    samples = render_many(150, **SMALL_BODIES)
    objects = [obj for sample in samples for obj in sample.objects]
    own = np.mean([obj.texture_class == obj.class_index for obj in objects])
    assert len(objects) > 250
    assert abs(own - 0.6) < 0.1
    assert {len(sample.labels) for sample in samples} == {1, 2, 3}
    assert {len(sample.objects) for sample in samples} == {1, 2, 3}
    spans = [max(np.ptp(np.nonzero(o.body)[0]), np.ptp(np.nonzero(o.body)[1])) for o in objects]
    assert 0.25 * 64 <= np.median(spans) <= 0.5 * 64
    occluded = [o for o in objects if o.visible.sum() < o.body.sum()]
    assert occluded and all(o.visible.sum() >= 0.4 * o.body.sum() for o in objects)
    reliable = render_many(20, body_texture_reliability=1.0)
    assert all(o.texture_class == o.class_index for s in reliable for o in s.objects)
    unreliable = render_many(20, body_texture_reliability=0.0)
    assert all(o.texture_class != o.class_index for s in unreliable for o in s.objects)


def test_default_design_has_large_bodies_and_reliable_faint_stripes():
    design = SyntheticDesign()
    samples = render_many(60)
    objects = [obj for sample in samples for obj in sample.objects]
    assert {len(sample.labels) for sample in samples} == {1, 2}
    assert max(len(sample.objects) for sample in samples) == design.max_objects == 2
    assert all(o.texture_class == o.class_index for o in objects)  # reliability 1.0
    low, high = design.body_size_range
    spans = [max(np.ptp(np.nonzero(o.body)[0]), np.ptp(np.nonzero(o.body)[1])) for o in objects]
    assert low * 64 * 0.8 <= np.median(spans) <= high * 64


def test_reuse_returns_at_once(tmp_path, monkeypatch):
    meta = generate(tmp_path, num_train=2, num_val=1)

    def fail(task):
        raise AssertionError("a complete dataset must be reused, not regenerated")

    monkeypatch.setattr(generator_module, "_generate_one", fail)
    preview = tmp_path / "preview.png"
    assert generate(tmp_path, num_train=2, num_val=1, preview_path=str(preview)) == meta
    with Image.open(preview) as grid:
        rows = np.asarray(grid.convert("RGB"))
    assert rows.shape == (2 * SIZE + 4, 3 * SIZE + 8, 3)  # 2 train rows: image | mask | saliency
    with Image.open(tmp_path / "JPEGImages/train_000000.jpg") as image:
        np.testing.assert_array_equal(rows[:SIZE, :SIZE], np.asarray(image))
    mask = read_mask(tmp_path, "train_000000")
    palette = np.zeros((256, 3), np.uint8)
    palette[:5] = meta["palette"]
    palette[255] = (224, 224, 192)
    np.testing.assert_array_equal(rows[:SIZE, SIZE + 4 : 2 * SIZE + 4], palette[mask])


def test_other_arguments_raise_unless_overwrite(tmp_path):
    root = tmp_path / "data"
    generate(root, num_train=3, num_val=1)
    with pytest.raises(ValueError, match=r"meta\.json.*\['seed'\]"):
        generate(root, seed=1, num_train=3, num_val=1)
    with pytest.raises(ValueError, match="design"):
        generate(root, num_train=3, num_val=1, mark_size_ratio=0.1)
    meta = generate(root, seed=1, num_train=2, num_val=1, overwrite=True)
    assert meta["seed"] == 1
    assert split_ids(root, "train") == ["train_000000", "train_000001"]
    assert not (root / "JPEGImages/train_000002.jpg").exists()  # stale files removed
    assert sorted(os.listdir(root / "Saliency")) == [
        "train_000000.png",
        "train_000001.png",
        "val_000000.png",
    ]
    generate(tmp_path / "fresh", seed=1, num_train=2, num_val=1)
    assert all_files(tmp_path / "fresh") == all_files(root)


def test_incomplete_dataset_is_regenerated(tmp_path):
    generate(tmp_path, num_train=2, num_val=1)
    before = all_files(tmp_path)
    (tmp_path / "meta.json").unlink()
    (tmp_path / "JPEGImages/train_000001.jpg").unlink()
    (tmp_path / "JPEGImages/.tmp_l2g.999999999.abc.jpg").write_bytes(b"partial")  # a killed run's
    generate(tmp_path, num_train=2, num_val=1)
    assert all_files(tmp_path) == before


def test_a_users_tmp_file_is_neither_taken_nor_deleted(tmp_path):
    generate(tmp_path, num_train=2, num_val=1)
    (tmp_path / "meta.json").unlink()
    user_file = tmp_path / "JPEGImages/.tmp_notes.jpg"
    user_file.write_bytes(b"mine")
    with pytest.raises(ValueError, match="tmp_notes"):
        generate(tmp_path, num_train=2, num_val=1)
    assert user_file.read_bytes() == b"mine"


def test_bad_arguments_are_clear(tmp_path):
    with pytest.raises(ValueError, match="num_classes"):
        generate(tmp_path, num_classes=13)
    with pytest.raises(ValueError, match="size"):
        generate(tmp_path, size=16)
    with pytest.raises(ValueError, match="seed"):
        generate(tmp_path, seed=-1)
    with pytest.raises(TypeError, match="mark_colour_ratio"):
        generate(tmp_path, mark_colour_ratio=0.1)
    with pytest.raises(ValueError, match="body_texture_reliability"):
        generate(tmp_path, body_texture_reliability=1.5)
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "JPEGImages" / "2007_000032.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="did not write"):
        generate(tmp_path)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"meta\.json is not a readable"):
        generate(tmp_path)


def load_tool():
    spec = importlib.util.spec_from_file_location(
        "make_synthetic_tool", REPO_ROOT / "tools/make_synthetic.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_the_same_dataset_and_a_preview(tmp_path):
    out, preview = tmp_path / "cli", tmp_path / "grid.png"
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    command = [
        sys.executable,
        str(REPO_ROOT / "tools/make_synthetic.py"),
        "--out", str(out), "--num-train", "3", "--num-val", "2", "--seed", "5",
        "--size", str(SIZE), "--preview", str(preview), "--workers", "1", "--no-progress",
        "--design", "body_texture_reliability=0.5", "body_size_range=[0.3,0.5]",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "5 images (3 train, 2 val)" in result.stdout
    generate(
        tmp_path / "function", seed=5, num_train=3, num_val=2,
        body_texture_reliability=0.5, body_size_range=(0.3, 0.5),
    )  # fmt: skip
    assert all_files(out) == all_files(tmp_path / "function")
    with Image.open(preview) as grid:
        assert grid.size == (3 * SIZE + 8, 3 * SIZE + 8)  # 3 train rows, 4-px gaps


def test_cli_reports_a_clash_with_an_existing_dataset(tmp_path, capsys):
    generate(tmp_path, num_train=1, num_val=1)
    tool = load_tool()
    argv = ["--out", str(tmp_path), "--num-train", "1", "--num-val", "1", "--seed", "9"]
    with pytest.raises(SystemExit) as exit_info:
        tool.main(argv + ["--size", str(SIZE), "--no-progress"])
    assert exit_info.value.code == 2
    assert "meta.json describes a different dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        tool.parse_design(["no_equals_sign"])


def test_dataset_class_loads_it(dataset):
    from mmseg_l2g.datasets import SyntheticWSSSDataset

    root, meta = dataset
    train = SyntheticWSSSDataset(data_root=str(root), ann_file="ImageSets/Segmentation/train.txt")
    assert len(train) == NUM_TRAIN
    assert list(train.metainfo["classes"]) == meta["classes"]
    assert train.num_with_saliency == NUM_TRAIN
    labels = read_label_lists(root, "train")
    for index in range(NUM_TRAIN):
        item = train.get_data_info(index)
        expected = np.zeros(4, np.float32)
        expected[labels[item["img_id"]]] = 1.0
        np.testing.assert_array_equal(item["gt_label"], expected)
        assert os.path.isfile(item["img_path"]) and os.path.isfile(item["sal_path"])
        assert os.path.isfile(item["seg_map_path"])


def test_dataset_class_takes_class_names_from_a_text_file(dataset, tmp_path):
    import shutil

    from mmseg_l2g.datasets import SyntheticWSSSDataset
    from mmseg_l2g.datasets.synthetic_wsss_dataset import read_class_names

    root, _ = dataset
    voc = tmp_path / "voc"
    shutil.copytree(root, voc)
    os.remove(voc / "meta.json")
    split = "ImageSets/Segmentation/train.txt"
    with pytest.raises(FileNotFoundError, match="classes.txt"):
        SyntheticWSSSDataset(data_root=str(voc), ann_file=split)
    (voc / "classes.txt").write_text("a\n\nb\nc\nd\n")  # blank lines skipped
    loaded = SyntheticWSSSDataset(data_root=str(voc), ann_file=split)
    assert loaded.metainfo["classes"] == ("background", "a", "b", "c", "d")
    assert len(loaded.metainfo["palette"]) == 5
    other = tmp_path / "names.txt"
    other.write_text("bg\nw\nx\ny\nz\n")  # a background line is kept as given
    loaded = SyntheticWSSSDataset(data_root=str(voc), ann_file=split, class_names_file=str(other))
    assert loaded.metainfo["classes"] == ("bg", "w", "x", "y", "z")
    other.write_text("w\nw\n")
    with pytest.raises(ValueError, match="twice"):
        read_class_names(str(other))

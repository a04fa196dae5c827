"""Tests of image-level label parsing and writing (label_io, make_cls_labels)."""

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmseg_l2g.datasets import COCO_CLASSES, VOC_CLASSES
from mmseg_l2g.datasets.label_io import (
    format_label_line,
    labels_from_mask,
    load_cls_labels_npy,
    load_label_file,
    parse_label_list,
    read_index_mask,
    read_split_ids,
    write_label_list,
)

FG = ("cat", "dog", "traffic light")  # C = 3
REPO = Path(__file__).resolve().parents[2]


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def save_palette_mask(path, mask):
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    image = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
    # Colours unrelated to the indices: reading must give indices, not colours.
    palette = [value for i in range(256) for value in ((i * 7) % 256, (i * 13) % 256, 200)]
    image.putpalette(palette)
    image.save(path)
    return str(path)


# ------------------------------------------------------------------ text lists
def test_parse_indices_gives_multi_hot(tmp_path):
    path = write_text(tmp_path / "cls.txt", "a 0 2\nb 1 1\n\nc\n")
    labels = parse_label_list(path, FG)
    assert list(labels) == ["a", "b", "c"]
    np.testing.assert_array_equal(labels["a"], [1, 0, 1])
    np.testing.assert_array_equal(labels["b"], [0, 1, 0])
    np.testing.assert_array_equal(labels["c"], [0, 0, 0])
    assert labels["a"].dtype == np.float32


def test_parse_names_case_and_underscores(tmp_path):
    path = write_text(tmp_path / "cls.txt", "a Cat traffic_light\nb dog 0\n")
    labels = parse_label_list(path, FG)
    np.testing.assert_array_equal(labels["a"], [1, 0, 1])
    np.testing.assert_array_equal(labels["b"], [1, 1, 0])


def test_voc_release_convention_aeroplane_is_zero(tmp_path):
    path = write_text(tmp_path / "train_cls.txt", "2007_000032 0 14\n")
    label = parse_label_list(path, VOC_CLASSES[1:])["2007_000032"]
    assert np.flatnonzero(label).tolist() == [0, 14]
    assert VOC_CLASSES[1 + 0] == "aeroplane" and VOC_CLASSES[1 + 14] == "person"


@pytest.mark.parametrize(
    "line, problem",
    [
        ("b zebra", "unknown class name 'zebra'"),
        ("b background", "background is not a foreground class"),
        ("b 3", "class index 3 out of range 0..2"),
        ("b -1", "class index -1 out of range"),
        ("b 1.5", "malformed label token '1.5'"),
        ("/ 1", "malformed line, no image id in '/ 1'"),
    ],
)
def test_bad_label_lines_name_file_and_line(tmp_path, line, problem):
    path = write_text(tmp_path / "cls.txt", f"a 0\n{line}\n")
    with pytest.raises(ValueError) as info:
        parse_label_list(path, FG)
    assert f"{path}:2:" in str(info.value)
    assert problem in str(info.value)


def test_duplicate_id_names_both_lines(tmp_path):
    path = write_text(tmp_path / "cls.txt", "a 0\nb 1\na 2\n")
    with pytest.raises(ValueError, match=r"cls.txt:3: duplicate image id 'a' \(first on line 1\)"):
        parse_label_list(path, FG)


def test_non_utf8_line_is_malformed(tmp_path):
    path = tmp_path / "cls.txt"
    path.write_bytes(b"a 0\nb \xff\xfe 1\n")
    with pytest.raises(ValueError, match=r"cls.txt:2: malformed line"):
        parse_label_list(str(path), FG)


def test_missing_label_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        parse_label_list(str(tmp_path / "nope.txt"), FG)


# ------------------------------------------------------------------- npy dicts
def test_npy_dict(tmp_path):
    path = str(tmp_path / "cls_labels.npy")
    np.save(path, {"a": np.array([0, 1, 1.0]), "b": np.array([1, 0, 0], dtype=np.int64)})
    labels = load_label_file(path, FG)
    np.testing.assert_array_equal(labels["a"], [0, 1, 1])
    np.testing.assert_array_equal(labels["b"], [1, 0, 0])
    assert labels["b"].dtype == np.float32


@pytest.mark.parametrize(
    "content, problem",
    [
        ({"a": np.ones(4)}, "entry 'a' has 4 values, expected 3"),
        ({"a": np.array([0, 0.5, 1])}, "entry 'a' is not multi-hot"),
        (np.zeros((2, 3)), "expected a pickled dict"),
    ],
)
def test_bad_npy_dict(tmp_path, content, problem):
    path = str(tmp_path / "cls_labels.npy")
    np.save(path, content)
    with pytest.raises(ValueError) as info:
        load_cls_labels_npy(path, 3)
    assert path in str(info.value) and problem in str(info.value)


def test_npy_dict_written_by_numpy_1_and_python_2_loads(tmp_path):
    """Older files name ``numpy.core.multiarray`` (protocol 3, GLOBAL opcodes; byte keys)."""
    path = tmp_path / "cls_labels.npy"
    content = np.empty((), dtype=object)
    content[()] = {b"2007_000032": np.array([1, 0, 1], dtype=np.float32)}
    payload = pickle.dumps(content, protocol=3)
    core = (getattr(np, "_core", None) or np.core).multiarray.__name__.encode()
    assert b"c" + core + b"\n_reconstruct\n" in payload  # a GLOBAL opcode, rewritable
    payload = payload.replace(core + b"\n", b"numpy.core.multiarray\n")
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        f.write(payload)
    labels = load_cls_labels_npy(str(path), 3)
    assert list(labels) == ["2007_000032"]
    np.testing.assert_array_equal(labels["2007_000032"], [1, 0, 1])


def test_npy_truncated_pickle_names_the_file(tmp_path):
    path = tmp_path / "cls_labels.npy"
    np.save(path, {"a": np.ones(3)})
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match=r"cls_labels\.npy: cannot read the pickled dict"):
        load_cls_labels_npy(str(path), 3)
    path.write_bytes(b"not a numpy file at all")
    with pytest.raises(ValueError, match=r"cls_labels\.npy: cannot read as a \.npy file"):
        load_cls_labels_npy(str(path), 3)


# ------------------------------------------------------------------ from masks
def test_labels_from_palette_mask_ignore_background_and_255(tmp_path):
    mask = np.zeros((6, 5), np.uint8)
    mask[0, 0] = 255
    mask[2:4, 1:3] = 2
    path = save_palette_mask(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(read_index_mask(path), mask)
    np.testing.assert_array_equal(labels_from_mask(path, 3), [0, 1, 0])


def test_labels_from_grey_mask(tmp_path):
    mask = np.array([[0, 1], [3, 255]], np.uint8)
    path = tmp_path / "m.png"
    Image.fromarray(mask).save(path)
    np.testing.assert_array_equal(labels_from_mask(str(path), 3), [1, 0, 1])


def test_mask_value_out_of_range_names_file(tmp_path):
    path = save_palette_mask(tmp_path / "m.png", np.array([[0, 4], [7, 255]]))
    with pytest.raises(ValueError) as info:
        labels_from_mask(path, 3)
    assert path in str(info.value) and "[4, 7]" in str(info.value)


def test_colour_mask_is_rejected(tmp_path):
    path = tmp_path / "m.png"
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(path)
    with pytest.raises(ValueError, match="mode 'RGB'"):
        read_index_mask(str(path))


# ---------------------------------------------------------------------- writer
def test_writer_round_trip_indices_and_exact_text(tmp_path):
    labels = {"a": np.array([1, 0, 1], np.float32), "b": np.array([0, 1, 0], np.float32)}
    path = tmp_path / "out" / "cls.txt"
    write_label_list(str(path), labels)
    assert path.read_text() == "a 0 2\nb 1\n"
    parsed = parse_label_list(str(path), FG)
    assert list(parsed) == ["a", "b"]
    for key in labels:
        np.testing.assert_array_equal(parsed[key], labels[key])
    assert os.listdir(path.parent) == ["cls.txt"]  # no temp file left behind


def test_writer_round_trip_coco_names(tmp_path):
    fg = COCO_CLASSES[1:]
    label = np.zeros(80, np.float32)
    label[[0, 9, 79]] = 1  # person, traffic light, toothbrush
    path = tmp_path / "cls.txt"
    path.write_text("stale content\n")
    write_label_list(str(path), [("COCO_1", label)], class_names=fg)
    assert path.read_text() == "COCO_1 person traffic_light toothbrush\n"
    np.testing.assert_array_equal(parse_label_list(str(path), fg)["COCO_1"], label)


def test_writer_rejects_id_with_space():
    with pytest.raises(ValueError, match="whitespace"):
        format_label_line("a b", np.ones(3))


# ------------------------------------------------------------------ split list
def test_split_ids_plain_and_voc_aug(tmp_path):
    path = write_text(
        tmp_path / "split.txt",
        "/JPEGImages/2007_000032.jpg /SegmentationClassAug/2007_000032.png\n\n"
        "2007_000039\n# comment\nimg.v2\n",
    )
    assert read_split_ids(path) == ["2007_000032", "2007_000039", "img.v2"]


def test_split_duplicate_id(tmp_path):
    path = write_text(tmp_path / "split.txt", "a\nb\n/x/a.jpg /y/a.png\n")
    with pytest.raises(ValueError, match=r"split.txt:3: duplicate image id 'a'"):
        read_split_ids(path)


# ------------------------------------------------------------ make_cls_labels
def load_tool():
    spec = importlib.util.spec_from_file_location(
        "make_cls_labels", REPO / "tools" / "make_cls_labels.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_cls_labels_tool(tmp_path, capsys):
    mask_dir = tmp_path / "masks"
    mask_dir.mkdir()
    save_palette_mask(mask_dir / "x.png", np.array([[0, 3], [1, 255]]))
    save_palette_mask(mask_dir / "y.png", np.array([[2, 2], [0, 0]]))
    save_palette_mask(mask_dir / "z.png", np.zeros((2, 2)))
    split = write_text(tmp_path / "train.txt", "y\nx\nz\n")
    out = tmp_path / "train_cls.txt"
    tool = load_tool()
    args = ["--mask-dir", str(mask_dir), "--split-file", split, "--out", str(out)]
    assert tool.main([*args, "--num-classes", "3"]) == 0
    assert out.read_text() == "y 1\nx 0 2\nz\n"
    assert "1 images have no foreground class" in capsys.readouterr().out


def test_make_cls_labels_tool_errors_name_files(tmp_path):
    mask_dir = tmp_path / "masks"
    mask_dir.mkdir()
    save_palette_mask(mask_dir / "x.png", np.array([[0, 5]]))
    split = write_text(tmp_path / "train.txt", "x\n")
    tool = load_tool()
    out = str(tmp_path / "out.txt")
    base = ["--mask-dir", str(mask_dir), "--split-file", split, "--out", out]
    with pytest.raises(ValueError, match="x.png: mask values \\[5\\]"):
        tool.main([*base, "--num-classes", "3"])
    assert not os.path.exists(out)
    write_text(tmp_path / "train.txt", "x\nmissing\n")
    with pytest.raises(SystemExit, match="missing.png"):
        tool.main([*base, "--num-classes", "5"])

"""Palette PNGs, CAM npz files and atomic, byte-deterministic writes."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from mmseg_l2g.apis import (
    atomic_write_bytes,
    atomic_write_json,
    load_cams_npz,
    save_cams_npz,
    save_palette_png,
)


def test_palette_png_keeps_indices_and_palette(tmp_path):
    mask = np.array([[0, 1, 2], [3, 255, 1]], dtype=np.uint8)
    palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [0, 0, 128]]
    path = str(tmp_path / "m.png")
    save_palette_png(path, mask, palette)
    with Image.open(path) as image:
        assert image.mode == "P"
        assert np.array_equal(np.array(image), mask)
        colors = np.array(image.getpalette()[: 3 * 256]).reshape(-1, 3)
    assert colors[:4].tolist() == palette
    assert colors[255].tolist() == [255, 255, 255]
    first = open(path, "rb").read()
    save_palette_png(path, mask, palette)
    assert open(path, "rb").read() == first
    with pytest.raises(ValueError, match="2-D"):
        save_palette_png(path, mask[None], palette)


def test_cams_npz_round_trip_and_equal_bytes(tmp_path):
    cams = np.random.default_rng(0).random((2, 5, 7)).astype(np.float32)
    labels = np.array([1, 3])
    first, second = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    save_cams_npz(first, cams, labels)
    save_cams_npz(second, cams, labels)
    assert open(first, "rb").read() == open(second, "rb").read()
    loaded, loaded_labels = load_cams_npz(first)
    assert loaded.dtype == np.float16 and loaded_labels.tolist() == [1, 3]
    assert np.array_equal(loaded, cams.astype(np.float16))
    with np.load(first) as data:  # an ordinary npz for numpy
        assert sorted(data.files) == ["cams", "labels"]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        load_cams_npz(str(bad))
    np.savez(str(tmp_path / "wrong.npz"), cams=cams)
    with pytest.raises(ValueError, match="keys"):
        load_cams_npz(str(tmp_path / "wrong.npz"))


def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = str(tmp_path / "out.bin")
    atomic_write_bytes(path, b"complete")
    assert open(path, "rb").read() == b"complete"
    assert os.listdir(tmp_path) == ["out.bin"]

    with pytest.raises(TypeError):
        atomic_write_bytes(str(tmp_path / "never.bin"), 12345)  # not bytes: fails mid-write
    assert os.listdir(tmp_path) == ["out.bin"]
    atomic_write_json(str(tmp_path / "m.json"), {"a": float("nan"), "b": [1.5]})
    assert json.load(open(tmp_path / "m.json")) == {"a": None, "b": [1.5]}

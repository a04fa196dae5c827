"""mmseg_l2g.io: atomic writes, file modes, palette PNGs, CAM files, own temp files only."""

import json
import os
import stat

import numpy as np
import pytest
from PIL import Image

from mmseg_l2g.io import (
    atomic_output,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    load_cams_npz,
    remove_stale_temp_files,
    save_cams_npz,
    save_palette_png,
    temp_file_owner,
)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_new_file_gets_the_umask_mode_not_owner_only(tmp_path) -> None:
    path = tmp_path / "out" / "metrics.json"
    atomic_write_text(str(path), "{}\n")
    assert path.read_text() == "{}\n"
    assert _mode(path) == 0o666 & ~_umask()
    plain = tmp_path / "plain.txt"
    with open(plain, "w") as f:
        f.write("x")
    assert _mode(path) == _mode(plain)


def test_replacing_a_file_keeps_its_mode(tmp_path) -> None:
    path = tmp_path / "mask.png"
    path.write_text("old")
    os.chmod(path, 0o640)
    atomic_write_text(str(path), "new")
    assert path.read_text() == "new" and _mode(path) == 0o640


def test_failed_write_leaves_the_target_and_no_temp_file(tmp_path) -> None:
    path = tmp_path / "result.txt"
    path.write_text("kept")
    with pytest.raises(RuntimeError):
        with atomic_output(str(path)) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "kept"
    assert os.listdir(tmp_path) == ["result.txt"]


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


def test_cleanup_removes_only_dead_processes_own_temp_files(tmp_path):
    dead_pid = 2**22 + 12345  # above Linux's pid_max default: no such process
    own_stale = tmp_path / f".tmp_l2g.{dead_pid}.ab_12x.png"
    own_live = tmp_path / f".tmp_l2g.{os.getpid()}.cd34ef.png"
    users = [tmp_path / ".tmp_notes.png", tmp_path / ".tmp_l2g.x.png", tmp_path / "a.png"]
    for path in [own_stale, own_live, *users]:
        path.write_bytes(b"x")
    assert temp_file_owner(own_stale.name) == dead_pid
    assert temp_file_owner(".tmp_notes.png") is None
    assert remove_stale_temp_files(str(tmp_path)) == 1
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in [own_live, *users])
    with atomic_output(str(tmp_path / "new.png")) as tmp:
        assert temp_file_owner(os.path.basename(tmp)) == os.getpid()


@pytest.mark.parametrize("value", [np.nan, np.inf, -0.5, 1.5])
def test_cams_file_with_non_finite_or_out_of_range_values_is_refused(tmp_path, value):
    cams = np.full((1, 3, 3), 0.5, dtype=np.float32)
    cams[0, 1, 1] = value
    path = str(tmp_path / "img.npz")
    save_cams_npz(path, cams, np.array([0]))
    with pytest.raises(ValueError, match=r"img\.npz.*finite and in \[0, 1\]"):
        load_cams_npz(path)

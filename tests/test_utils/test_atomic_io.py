"""Atomic writes: complete files only, and the file mode a plain ``open`` would give."""

import os
import stat

import pytest

from mmseg_l2g.utils.atomic_io import atomic_output, atomic_write_text


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_new_file_gets_the_umask_mode_not_owner_only(tmp_path) -> None:
    path = tmp_path / "out" / "metrics.json"
    atomic_write_text("{}\n", str(path))
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
    atomic_write_text("new", str(path))
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

"""A write that fails (read-only folder, full disk) stops with an error naming the path.

Nothing partial is left where a later run would take it for done: outputs
are complete or absent, and a rerun once the fault is gone finishes the job.
Read-only folders and full disks are simulated (see reliability_helpers);
the training case uses a real kernel failure (``RLIMIT_FSIZE``: ``EFBIG``).
"""

import os
import os.path as osp
from typing import Callable, List, Tuple

import numpy as np
import pytest
import torch
from reliability_helpers import (
    gen_pseudo_args,
    last_checkpoint,
    simulate_full_disk,
    simulate_read_only,
    snapshot,
    tail,
    temp_files,
    train,
)

from mmseg_l2g.datasets.label_io import parse_label_list, write_label_list
from mmseg_l2g.datasets.synthetic import make_synthetic


def outcome(main: Callable[[List[str]], int], argv: List[str], capsys) -> Tuple[int, str]:
    """Runs a tool's ``main``: (exit status, its error text or the exception's)."""
    capsys.readouterr()
    try:
        status = main(argv)
    except OSError as exc:
        return 1, f"{type(exc).__name__}: {exc}"
    return status, capsys.readouterr().err


def test_gen_pseudo_read_only_output_folder(
    tiny_config, gen_pseudo_tool, pseudo_reference, tmp_path, capsys
):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = gen_pseudo_args(tiny_config, pseudo_reference["checkpoint"], str(out_dir))
    with simulate_read_only(str(out_dir)):
        status, message = outcome(gen_pseudo_tool.main, args, capsys)
    assert status != 0
    assert os.listdir(out_dir) == []
    assert "Permission denied" in message and str(out_dir) in message, message


def test_gen_pseudo_disk_full_mid_run_then_rerun(
    tiny_config, gen_pseudo_tool, pseudo_reference, tmp_path, capsys
):
    out_dir = tmp_path / "out"
    args = gen_pseudo_args(tiny_config, pseudo_reference["checkpoint"], str(out_dir))
    reference = pseudo_reference["files"]
    # The disk fills while the third mask is written.
    with simulate_full_disk(str(out_dir / "masks"), after_files=2):
        status, message = outcome(gen_pseudo_tool.main, args, capsys)
    assert status != 0
    masks = sorted(os.listdir(out_dir / "masks"))
    assert masks == ["train_000000.png", "train_000001.png"], masks  # no partial third
    for name in masks:
        assert (out_dir / "masks" / name).read_bytes() == reference[f"masks/{name}"]
    assert not (out_dir / "metrics.json").exists()
    # Space again: the rerun finishes the job exactly as an uninterrupted run.
    assert gen_pseudo_tool.main(args) == 0
    assert snapshot(str(out_dir)) == reference
    # The error of the failed run named the file it could not write.
    assert "No space left on device" in message and "train_000002.png" in message, message


def test_training_checkpoint_write_fails(tiny_config, tmp_path):
    work_dir = str(tmp_path / "work")
    # After iteration 5 a file may only grow to half a checkpoint: writing
    # iter_6.pth fails in the kernel (EFBIG), as a full disk fails (ENOSPC).
    proc = train(tiny_config, work_dir, env={"L2G_TEST_FSIZE_AFTER_ITER": "5:fail"})
    assert proc.returncode == 1, tail(proc)
    target = osp.join(work_dir, "iter_6.pth")
    assert f"train.py: error: [Errno 27] cannot write {target}: File too large" in proc.stderr
    assert not osp.exists(target) and temp_files(work_dir) == []
    assert last_checkpoint(work_dir) == osp.join(work_dir, "iter_4.pth")
    checkpoint = torch.load(last_checkpoint(work_dir), map_location="cpu", weights_only=True)
    assert checkpoint["meta"]["iter"] == 4


LABELS = {"img_a": np.array([1, 0, 1], np.float32), "img_b": np.array([0, 1, 0], np.float32)}
CLASSES = ("cat", "dog", "car")


@pytest.mark.parametrize("fault", ["read_only", "full_disk"])
def test_label_list_writer(tmp_path, fault):
    folder = tmp_path / "lists"
    folder.mkdir()
    target = folder / "train_cls.txt"
    write_label_list(str(target), {"old": np.array([1, 1, 1], np.float32)})
    before = target.read_bytes()
    simulate = simulate_read_only if fault == "read_only" else simulate_full_disk
    with simulate(str(folder)), pytest.raises(OSError) as error:
        write_label_list(str(target), LABELS)
    assert str(target) in str(error.value)
    assert target.read_bytes() == before and os.listdir(folder) == ["train_cls.txt"]
    write_label_list(str(target), LABELS)
    assert parse_label_list(str(target), CLASSES).keys() == LABELS.keys()


def test_synthetic_generator_disk_full(tmp_path):
    root = tmp_path / "synthetic"
    with simulate_full_disk(str(root / "JPEGImages"), after_files=2), pytest.raises(OSError) as e:
        make_synthetic(str(root), 3, 1, seed=0, size=32, num_workers=1, progress=False)
    assert "No space left on device" in str(e.value)
    assert str(root / "JPEGImages" / "train_000002.jpg") in str(e.value)
    assert sorted(os.listdir(root / "JPEGImages")) == ["train_000000.jpg", "train_000001.jpg"]
    assert not (root / "meta.json").exists()  # the dataset is not marked complete
    make_synthetic(str(root), 3, 1, seed=0, size=32, num_workers=1, progress=False)
    assert (root / "meta.json").exists() and len(os.listdir(root / "JPEGImages")) == 4

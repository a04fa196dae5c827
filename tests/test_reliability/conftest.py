"""Fixtures of the reliability tests (helpers in reliability_helpers.py)."""

import os.path as osp

import pytest
import torch
from reliability_helpers import (
    IMAGE_SIZE,
    MAX_ITERS,
    NUM_TRAIN,
    NUM_VAL,
    gen_pseudo_args,
    load_gen_pseudo,
    snapshot,
    tail,
    train,
    write_tiny_config,
)

from mmseg_l2g.apis import build_cam_model, load_config
from mmseg_l2g.datasets.synthetic import make_synthetic


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """One CPU thread, as the tool subprocesses run (OMP_NUM_THREADS=1).

    CPU convolutions may sum in another order with another thread count, so
    in-process and subprocess runs are byte-identical only at the same count.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> str:
    """A synthetic dataset: 16 train and 4 val images of 64x64, seed 0."""
    root = str(tmp_path_factory.mktemp("reliability") / "data")
    make_synthetic(root, NUM_TRAIN, NUM_VAL, seed=0, size=IMAGE_SIZE, num_workers=1, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_config(tiny_data, tmp_path_factory) -> str:
    """The tiny training config on :func:`tiny_data` (8 iterations, checkpoint every 2)."""
    return write_tiny_config(str(tmp_path_factory.mktemp("config") / "tiny_l2g.py"), tiny_data)


@pytest.fixture(scope="session")
def reference_run(tiny_config, tmp_path_factory) -> str:
    """The work_dir of an uninterrupted run of :func:`tiny_config`."""
    work_dir = str(tmp_path_factory.mktemp("reference") / "work")
    proc = train(tiny_config, work_dir)
    assert proc.returncode == 0, tail(proc)
    assert osp.isfile(osp.join(work_dir, f"iter_{MAX_ITERS}.pth"))
    return work_dir


@pytest.fixture(scope="session")
def random_checkpoint(tiny_config, tmp_path_factory) -> str:
    """Randomly initialised weights of :func:`tiny_config` (no training; read only)."""
    torch.manual_seed(0)
    model = build_cam_model(load_config(tiny_config), None)
    path = str(tmp_path_factory.mktemp("random_checkpoint") / "ckpt.pth")
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    return path


@pytest.fixture(scope="session")
def gen_pseudo_tool():
    """``tools/gen_pseudo.py`` loaded as a module."""
    return load_gen_pseudo()


@pytest.fixture(scope="session")
def pseudo_reference(reference_run, tiny_config, gen_pseudo_tool, tmp_path_factory) -> dict:
    """An uninterrupted stage-2 run on the reference checkpoint: its files and arguments."""
    checkpoint = osp.join(reference_run, f"iter_{MAX_ITERS}.pth")
    out_dir = str(tmp_path_factory.mktemp("pseudo_reference") / "out")
    assert gen_pseudo_tool.main(gen_pseudo_args(tiny_config, checkpoint, out_dir)) == 0
    files = snapshot(out_dir)
    assert len([name for name in files if name.startswith("masks/")]) == NUM_TRAIN
    return dict(files=files, checkpoint=checkpoint)

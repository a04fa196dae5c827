"""Shared helpers of the reliability tests: paths, a tiny training config, tool runs."""

from __future__ import annotations

import builtins
import contextlib
import errno
import importlib.util
import io
import json
import os
import os.path as osp
import runpy
import signal
import subprocess
import sys
from types import ModuleType
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest
import torch

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
TRAIN_TOOL = osp.join(REPO, "tools", "train.py")
TEST_TOOL = osp.join(REPO, "tools", "test.py")
GEN_TOOL = osp.join(REPO, "tools", "gen_pseudo.py")
BASE_CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")
NUM_TRAIN, NUM_VAL, IMAGE_SIZE = 16, 4, 64
MAX_ITERS, CKPT_INTERVAL = 8, 2
# A single subprocess (import ~6-10 s on a busy machine, then a few seconds of work).
TOOL_TIMEOUT = 240

TINY_CONFIG = """\
_base_ = {base!r}
custom_imports = dict(imports=["mmseg_l2g", "reliability_hooks"], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type="PlainCNN", channels=(8, 16, 16, 16)),
    head=dict(in_channels=16),
)
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root={data_root!r}),
)
{evaluation}
train_cfg = dict(max_iters={max_iters}, val_interval=100000)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={interval}, max_keep_ckpts=3),
)
custom_hooks = [dict(type="FaultInjectionHook")]
"""


NO_EVALUATION = """\
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None"""
EVALUATION = """\
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root={data_root!r})
)
test_dataloader = val_dataloader"""


def write_tiny_config(
    path: str, data_root: str, max_iters: int = MAX_ITERS, evaluation: bool = False
) -> str:
    """Writes the tiny L2G training config (PlainCNN, batch 2, checkpoints every 2 iterations).

    Without ``evaluation`` the config has no val / test loops; with it, the
    val and test loaders read the val split of ``data_root`` (for tools/test.py).
    """
    text = TINY_CONFIG.format(
        base=BASE_CONFIG,
        data_root=data_root,
        max_iters=max_iters,
        interval=CKPT_INTERVAL,
        evaluation=(EVALUATION if evaluation else NO_EVALUATION).format(data_root=data_root),
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def tool_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment of a tool subprocess: the repo and the test hooks importable, one thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("L2G_TEST_")}
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in (REPO, HERE, env.get("PYTHONPATH")) if p),
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def run_tool(
    argv: Sequence[str],
    env: Optional[Dict[str, str]] = None,
    timeout: float = TOOL_TIMEOUT,
    launcher: Optional[List[str]] = None,
) -> subprocess.CompletedProcess:
    """Runs ``python argv...`` (or ``launcher argv...``) from the repo root; never hangs."""
    command = (launcher or [sys.executable]) + [str(a) for a in argv]
    return subprocess.run(
        command,
        cwd=REPO,
        env=tool_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def train(
    config: str, work_dir: str, *extra: str, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess:
    """``tools/train.py CONFIG --work-dir WORK_DIR [extra]`` in a subprocess."""
    return run_tool([TRAIN_TOOL, config, "--work-dir", work_dir, *extra], env=env)


def load_weights(checkpoint: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of an MMEngine checkpoint."""
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint named by MMEngine's ``last_checkpoint`` file."""
    with open(osp.join(work_dir, "last_checkpoint"), encoding="utf-8") as f:
        return f.read().strip()


def tail(proc: subprocess.CompletedProcess, chars: int = 3000) -> str:
    """The end of a finished subprocess's output, for assertion messages."""
    return (proc.stdout + proc.stderr)[-chars:]


def load_gen_pseudo() -> ModuleType:
    """``tools/gen_pseudo.py`` as a module (its ``main(argv)`` runs in-process)."""
    spec = importlib.util.spec_from_file_location("gen_pseudo_tool", GEN_TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gen_pseudo_args(config: str, checkpoint: str, out_dir: str, *extra: str) -> List[str]:
    """A small stage-2 run: 2 scales, CAM files, 3 overlays, batches of 2, no workers."""
    return [
        config, checkpoint, "--out-dir", out_dir, "--scales", "1.0", "0.5", "--save-cams",
        "--num-vis", "3", "--num-workers", "0", "--batch-size", "2", *extra,
    ]  # fmt: skip


def snapshot(folder: str) -> Dict[str, bytes]:
    """Every file under ``folder`` but log files (they hold times): relative path -> bytes."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            if name.endswith(".log"):
                continue
            path = osp.join(root, name)
            with open(path, "rb") as f:
                files[osp.relpath(path, folder)] = f.read()
    return files


def temp_files(folder: str) -> List[str]:
    """Hidden or ``.tmp`` files under ``folder`` (what an atomic writer leaves when killed)."""
    return sorted(
        osp.relpath(osp.join(root, name), folder)
        for root, _, names in os.walk(folder)
        for name in names
        if name.startswith(".") or name.endswith(".tmp")
    )


def kill_at_nth_replace(folder: str, count: str, tool: str, *argv: str) -> None:
    """Runs ``tool argv`` and SIGKILLs it at its ``count``-th ``os.replace`` into ``folder``.

    The file being replaced is then fully written under its temp name but not
    renamed: the worst moment for an atomic writer. Run it in a subprocess:
    ``python -c "import reliability_helpers as h, sys; h.kill_at_nth_replace(*sys.argv[1:])"``.
    """
    real_replace, target, seen = os.replace, osp.abspath(folder), [0]

    def replace(src, dst, *args, **kwargs):
        if osp.dirname(osp.abspath(dst)) == target:
            seen[0] += 1
            if seen[0] == int(count):
                os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace
    sys.argv = [tool, *argv]
    runpy.run_path(tool, run_name="__main__")


def _inside(path: Any, folder: str) -> bool:
    """Whether ``path`` (a str / PathLike, not an fd) lies in ``folder`` or below it."""
    if isinstance(path, int):
        return False
    full = osp.abspath(os.fspath(path))
    return full == folder or full.startswith(folder + os.sep)


def _writes(mode: str) -> bool:
    """Whether an ``open`` mode writes."""
    return any(flag in mode for flag in "wax+")


@contextlib.contextmanager
def simulate_read_only(folder: str) -> Iterator[None]:
    """Makes ``folder`` behave as read-only in this process, even for root.

    ``chmod 555`` alone does not stop root, so creating a file or folder in it
    (``os.open`` with ``O_CREAT`` or write access, ``open`` for writing,
    ``os.mkdir``) raises ``PermissionError(EACCES)`` naming the path, as the
    kernel does.
    """
    folder = osp.abspath(folder)
    real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir
    write_flags = os.O_CREAT | os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND

    def denied(path):
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    def fake_open(file, mode="r", *args, **kwargs):
        if _writes(mode) and _inside(file, folder):
            raise denied(file)
        return real_open(file, mode, *args, **kwargs)

    def fake_os_open(path, flags, *args, **kwargs):
        if flags & write_flags and _inside(path, folder):
            raise denied(path)
        return real_os_open(path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):
        if _inside(path, folder):
            if osp.isdir(path):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fspath(path))
            raise denied(path)
        return real_mkdir(path, *args, **kwargs)

    mode = os.stat(folder).st_mode
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtins, "open", fake_open)
        patch.setattr(os, "open", fake_os_open)
        patch.setattr(os, "mkdir", fake_mkdir)
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, mode)


class _FullDiskFile:
    """A file whose first ``write`` stores half its bytes, then fails with ``ENOSPC``."""

    def __init__(self, file) -> None:
        self._file = file

    def write(self, data) -> int:
        self._file.write(data[: len(data) // 2])
        self._file.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # no path, as the kernel's

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def __getattr__(self, name: str):
        return getattr(self._file, name)


@contextlib.contextmanager
def simulate_full_disk(folder: str, after_files: int = 0) -> Iterator[None]:
    """Fills the disk under ``folder`` once ``after_files`` files were written there.

    Every later file opened for writing in ``folder`` (``open``, ``os.fdopen``
    of a file created there) gets half of its first write, then ``write``
    raises ``OSError(ENOSPC)`` with no path, as a full disk does.
    """
    folder = osp.abspath(folder)
    real_open, real_fdopen = builtins.open, os.fdopen
    opened = [0]

    def wrap(handle):
        opened[0] += 1
        return _FullDiskFile(handle) if opened[0] > after_files else handle

    def fake_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if _writes(mode) and _inside(file, folder):
            return wrap(handle)
        return handle

    def fake_fdopen(fd, mode="r", *args, **kwargs):
        path = os.readlink(f"/proc/self/fd/{fd}")
        handle = real_fdopen(fd, mode, *args, **kwargs)
        if _writes(mode) and _inside(path, folder):
            return wrap(handle)
        return handle

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtins, "open", fake_open)
        patch.setattr(os, "fdopen", fake_fdopen)
        yield


def run_tool_cases(cases_path: str, results_path: str) -> None:
    """Runs several tool invocations in this process, recording how each ended.

    The child side of :func:`run_cases` (one interpreter start for all the
    cases). Each case is ``dict(name, tool, argv)``; its result is
    ``dict(code, exc_type, message, stderr)``: the exit status (1 for an
    exception), the exception's type and text, and what it wrote to stderr.
    """
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    results = {}
    for case in cases:
        err, out = io.StringIO(), io.StringIO()
        code, exc_type, message = 0, None, ""
        sys.argv = [case["tool"], *case["argv"]]
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                runpy.run_path(case["tool"], run_name="__main__")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except Exception as exc:  # the case's outcome, recorded for the test
            code, exc_type, message = 1, type(exc).__name__, str(exc)
        finally:
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()
        results[case["name"]] = dict(
            code=code, exc_type=exc_type, message=message, stderr=err.getvalue()
        )
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


def run_cases(cases: List[dict], folder: str, timeout: float = TOOL_TIMEOUT) -> Dict[str, dict]:
    """Runs tool cases (``dict(name, tool, argv)``) in ONE subprocess, with a timeout.

    Returns:
        ``name -> dict(code, exc_type, message, stderr)``.
    """
    cases_path, results_path = osp.join(folder, "cases.json"), osp.join(folder, "results.json")
    with open(cases_path, "w", encoding="utf-8") as f:
        json.dump(cases, f)
    child = "import sys, reliability_helpers as h; h.run_tool_cases(*sys.argv[1:])"
    proc = run_tool(["-c", child, cases_path, results_path], timeout=timeout)
    assert proc.returncode == 0, tail(proc)
    with open(results_path, encoding="utf-8") as f:
        return json.load(f)

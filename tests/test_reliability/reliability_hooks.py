"""Test-only fault injection for training runs (imported through ``custom_imports``).

Every fault is switched on by an environment variable, so one config serves
the reference run and the faulty runs. Iterations are 1-based.

- ``L2G_TEST_KILL_AFTER_ITER=k``: SIGKILL right after iteration k, after every
  other hook of that iteration (the checkpoint hook included).
- ``L2G_TEST_FSIZE_AFTER_ITER=k:kill`` or ``k:fail``: after iteration k, files
  may grow to half the size of the newest checkpoint only (``RLIMIT_FSIZE``),
  so the next checkpoint write stops half-way, in the kernel: ``kill`` leaves
  ``SIGXFSZ`` fatal (the process dies mid-write, as on pre-emption), ``fail``
  ignores it (the write fails with ``EFBIG``, as a full disk fails with
  ``ENOSPC``; the error carries no path).
- ``L2G_TEST_POISON_AT_ITER=k``: before iteration k, the global CAM head's
  weights become NaN, so that iteration's loss is not finite.
"""

from __future__ import annotations

import glob
import os
import os.path as osp
import resource
import signal
from typing import Optional

from mmengine.hooks import Hook
from mmseg.registry import HOOKS

KILL_AFTER_ITER = "L2G_TEST_KILL_AFTER_ITER"
FSIZE_AFTER_ITER = "L2G_TEST_FSIZE_AFTER_ITER"
POISON_AT_ITER = "L2G_TEST_POISON_AT_ITER"


def _env_int(name: str) -> Optional[int]:
    value = os.environ.get(name)
    return int(value) if value else None


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    """Applies the faults named by the environment (see the module docstring)."""

    priority = "LOWEST"  # after CheckpointHook (VERY_LOW) in every stage

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Poisons the global CAM head before iteration ``L2G_TEST_POISON_AT_ITER``."""
        if runner.iter + 1 == _env_int(POISON_AT_ITER):
            model = getattr(runner.model, "module", runner.model)
            model.global_head.conv_cam.weight.data.fill_(float("nan"))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Kills the process or limits file sizes after the named iteration."""
        step = runner.iter + 1
        if step == _env_int(KILL_AFTER_ITER):
            os.kill(os.getpid(), signal.SIGKILL)
        fsize = os.environ.get(FSIZE_AFTER_ITER)
        if fsize and step == int(fsize.split(":")[0]):
            newest = max(glob.glob(osp.join(runner.work_dir, "iter_*.pth")), key=osp.getmtime)
            limit = osp.getsize(newest) // 2
            if fsize.endswith(":fail"):
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            else:  # Python ignores SIGXFSZ by default: make it fatal again
                signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

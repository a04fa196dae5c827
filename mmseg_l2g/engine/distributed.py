"""Process-group start-up, in one place, for tools/train.py, tools/test.py and gen_pseudo.py."""

from __future__ import annotations

import os
from typing import Optional

import torch
from mmengine import dist
from mmengine.config import Config

LAUNCHERS = ("none", "pytorch", "slurm", "mpi")


def configure_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Makes a Runner's distributed run work without CUDA: gloo, and DDP without device ids.

    MMEngine's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
    wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on a CPU. Here the
    backend becomes gloo and the wrapper gets ``device_ids=None``;
    :func:`init_process_group` starts the process group (the Runner then
    skips ``init_dist``).
    """
    if launcher != "pytorch":
        raise RuntimeError(
            f"--launcher {launcher} needs CUDA; on a CPU use --launcher pytorch (torchrun)"
        )
    cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    wrapper = cfg.get("model_wrapper_cfg") or dict(
        type="MMDistributedDataParallel",
        broadcast_buffers=False,
        find_unused_parameters=cfg.get("find_unused_parameters", False),
    )
    if wrapper.get("type", "MMDistributedDataParallel") == "MMDistributedDataParallel":
        wrapper["device_ids"] = None
    cfg.model_wrapper_cfg = wrapper


def check_device(device: str) -> None:
    """Refuses a ``--device`` this machine does not have, in one line.

    Raises:
        ValueError: not a device name, CUDA asked for without a CUDA GPU, or a GPU
            index beyond the ones present.
    """
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"--device {device!r}: not a device ('cpu', 'cuda' or 'cuda:K')") from exc
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"--device {device}: no CUDA GPU here (torch.cuda.is_available() is False); "
                "use --device cpu"
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPU(s)"
            )
    elif parsed.type != "cpu":
        raise ValueError(f"--device {device}: only 'cpu' and 'cuda[:K]' are supported")


def init_process_group(
    launcher: str, device: Optional[str] = None, start_cuda: bool = True
) -> torch.device:
    """Starts the process group of ``launcher``; returns this process's device.

    CUDA (when available and ``device`` does not say otherwise): NCCL through
    MMEngine's ``init_dist`` (left to the Runner when ``start_cuda`` is
    False); CPU: gloo under torchrun.

    Args:
        launcher: ``'none'``, ``'pytorch'`` (torchrun), ``'slurm'`` or ``'mpi'``.
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:K'``; ``None``: CUDA when available.
        start_cuda: start the NCCL group here (False: the Runner does).

    Returns:
        The device this process runs on.

    Raises:
        ValueError: an unknown launcher, a CPU run under a launcher other than
            torchrun, or torchrun's environment missing.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f"unknown launcher {launcher!r}; choose one of {LAUNCHERS}")
    if device is not None:
        check_device(device)
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    if launcher == "none":
        return torch.device(device or ("cuda" if use_cuda else "cpu"))
    if launcher == "pytorch" and "LOCAL_RANK" not in os.environ:
        raise ValueError("--launcher pytorch needs torchrun (no LOCAL_RANK in the environment)")
    if use_cuda:
        if start_cuda and not dist.is_distributed():
            dist.init_dist(launcher, backend="nccl")
        return torch.device("cuda", torch.cuda.current_device())
    if launcher != "pytorch":
        raise ValueError(f"--launcher {launcher} needs CUDA; on a CPU use --launcher pytorch")
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="gloo")
    return torch.device("cpu")


def destroy_process_group() -> None:
    """Ends the process group when one was started (safe to call always)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()

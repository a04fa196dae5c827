"""Distributed runs on CPU (gloo under torchrun), for tools/train.py and tools/test.py."""

import torch
from mmengine.config import Config


def configure_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Makes a distributed run work without CUDA: gloo, and DDP without device ids.

    MMEngine's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
    wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on a CPU. Here the
    backend becomes gloo and the wrapper gets ``device_ids=None``;
    :func:`start_cpu_process_group` starts the process group (the Runner then
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


def start_cpu_process_group(launcher: str) -> None:
    """Starts the gloo process group of a CPU run under torchrun (see above)."""
    if launcher == "pytorch" and not torch.cuda.is_available():
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend="gloo")

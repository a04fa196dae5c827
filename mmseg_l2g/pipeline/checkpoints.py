"""Checkpoint helpers for chaining stages."""

import os
import os.path as osp
import re
from typing import Dict

import torch

from ..apis.builders import load_state_dict
from ..utils.atomic_io import atomic_torch_save


def latest_checkpoint(work_dir: str) -> str:
    """The checkpoint MMEngine's ``last_checkpoint`` file names (or the highest iter_N.pth)."""
    marker = osp.join(work_dir, "last_checkpoint")
    if osp.isfile(marker):
        with open(marker, encoding="utf-8") as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
    found = [
        (int(m.group(1)), name)
        for name in (os.listdir(work_dir) if osp.isdir(work_dir) else [])
        if (m := re.fullmatch(r"(?:iter|epoch)_(\d+)\.pth", name))
    ]
    if not found:
        raise FileNotFoundError(f"no checkpoint in {work_dir}")
    return osp.join(work_dir, max(found)[1])


def cam_to_l2g_init(cam_checkpoint: str, out_path: str) -> str:
    """Writes an L2G initialisation: global AND local networks = the CAM network.

    The release starts both of L2G's networks from the same ImageNet classifier;
    on data without such a classifier the plain-CAM network trained on the same
    labels plays that role.

    Args:
        cam_checkpoint: checkpoint of an ``L2GClassifier(with_local=False)``.
        out_path: where to write ``{'state_dict': ...}`` (atomically).

    Returns:
        ``out_path``.
    """
    state: Dict[str, torch.Tensor] = load_state_dict(cam_checkpoint)
    glob = {k: v for k, v in state.items() if k.startswith(("global_backbone.", "global_head."))}
    if not glob:
        raise ValueError(f"{cam_checkpoint}: no global_backbone.* / global_head.* weights")
    out = dict(glob)
    out.update({"local_" + k[len("global_") :]: v.clone() for k, v in glob.items()})
    atomic_torch_save({"state_dict": out, "meta": {"init_from": cam_checkpoint}}, out_path)
    return out_path

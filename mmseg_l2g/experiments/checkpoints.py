"""Checkpoint helpers for chaining stages."""

from typing import Dict

import torch

from ..engine.checkpointing import load_state_dict, save_checkpoint


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
    save_checkpoint({"state_dict": out, "meta": {"init_from": cam_checkpoint}}, out_path)
    return out_path

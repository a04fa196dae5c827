"""Builds stage 2's inputs from a config: the trained classifier and the dataset."""

from __future__ import annotations

import copy
import os.path as osp
import pickle
from typing import Any, Dict, List, Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import BaseDataset
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

# Dataset wrappers whose inner ``dataset`` is the WSSS dataset.
_WRAPPER_KEYS = ("dataset",)
_SHOWN_KEYS = 5


def load_state_dict(checkpoint: str) -> Dict[str, torch.Tensor]:
    """Reads the model weights of an MMEngine checkpoint (or a bare state dict).

    Args:
        checkpoint: the ``.pth`` file.

    Returns:
        The state dict (a leading ``module.`` of DDP-saved keys removed).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not a readable checkpoint.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    try:
        # weights_only: the trusted MMEngine types (numpy scalars, HistoryBuffer and
        # its statistics getattr) are allow-listed by mmseg_l2g.engine.checkpoint_globals.
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
        raise ValueError(f"checkpoint {checkpoint}: cannot load ({exc})") from exc
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(
            f"checkpoint {checkpoint}: expected a dict with a 'state_dict' of tensors "
            "(as MMEngine saves)"
        )
    if state and all(key.startswith("module.") for key in state):
        state = {key[len("module.") :]: value for key, value in state.items()}
    return state


def load_weights_strict(model: torch.nn.Module, checkpoint: str, config_name: str = "") -> None:
    """Loads a checkpoint into a model; every key and shape must match.

    Args:
        model: the built model.
        checkpoint: the ``.pth`` file.
        config_name: the config the model came from, named in the error.

    Raises:
        ValueError: the checkpoint does not fit, naming it and the mismatched
            keys (missing, unexpected, wrong shape).
    """
    state = load_state_dict(checkpoint)
    own = model.state_dict()
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own]
    shapes = [
        f"{key}: checkpoint {tuple(state[key].shape)} vs model {tuple(own[key].shape)}"
        for key in own
        if key in state and state[key].shape != own[key].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
            if keys:
                shown = ", ".join(keys[:_SHOWN_KEYS]) + (" ..." if len(keys) > _SHOWN_KEYS else "")
                parts.append(f"{len(keys)} {what} keys ({shown})")
        source = f" of config {config_name}" if config_name else ""
        raise ValueError(
            f"checkpoint {checkpoint} does not fit the model{source}: " + "; ".join(parts)
        )
    model.load_state_dict(state, strict=True)


def load_config(config: str, cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Reads a config, merges ``--cfg-options`` and sets its default scope.

    Args:
        config: the config file.
        cfg_options: dotted overrides (``{'a.b': 1}``).

    Returns:
        The config.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f"config not found: {config}")
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get("default_scope", "mmseg"))
    return cfg


def build_cam_model(
    cfg: Config, checkpoint: Optional[str], device: Union[str, torch.device] = "cpu"
) -> torch.nn.Module:
    """Builds the classifier of a config, loads its checkpoint, moves it to ``device``.

    Args:
        cfg: the (L2G) training config.
        checkpoint: its trained weights; ``None`` keeps the initialisation.
        device: where the model runs.

    Returns:
        The model in eval mode.
    """
    model = MODELS.build(copy.deepcopy(cfg.model))
    for name in ("extract_cam_logits",):
        if not hasattr(model, name):
            raise TypeError(f"{type(model).__name__} of {cfg.filename} has no {name}()")
    if not hasattr(getattr(model, "data_preprocessor", None), "normalize"):
        raise TypeError(
            f"the data preprocessor of {cfg.filename} has no normalize(); stage 2 needs "
            "L2GDataPreprocessor (or one with normalize(imgs))"
        )
    if checkpoint is not None:
        load_weights_strict(model, checkpoint, cfg.filename)
    return model.to(device).eval()


def dataset_config(cfg: Config, split: str) -> ConfigDict:
    """The WSSS dataset config of ``<split>_dataloader``, unwrapped, with no pipeline.

    Args:
        cfg: the config.
        split: ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        A copy of the dataset config ready for ``DATASETS.build``.
    """
    key = f"{split}_dataloader"
    loader = cfg.get(key)
    if not loader or "dataset" not in loader:
        raise KeyError(f"config {cfg.filename} has no {key}.dataset for --split {split}")
    dataset_cfg = copy.deepcopy(loader["dataset"])
    while any(isinstance(dataset_cfg.get(k), dict) for k in _WRAPPER_KEYS):
        dataset_cfg = dataset_cfg["dataset"]
    dataset_cfg["pipeline"] = []
    dataset_cfg.pop("indices", None)
    return dataset_cfg


def build_stage2_dataset(cfg_or_dataset: Union[dict, Any]) -> Any:
    """Builds a WSSS dataset from a config dict (pipeline emptied); unwraps a built one.

    Args:
        cfg_or_dataset: a dataset config or an already built dataset.

    Returns:
        The (fully initialised) dataset.
    """
    if not isinstance(cfg_or_dataset, dict):
        dataset = cfg_or_dataset
        while not isinstance(dataset, BaseDataset) and hasattr(dataset, "dataset"):
            dataset = dataset.dataset
        return dataset
    dataset_cfg = copy.deepcopy(cfg_or_dataset)
    dataset_cfg["pipeline"] = []
    dataset = DATASETS.build(dataset_cfg)
    dataset.full_init()
    return dataset


def spread_indices_with_masks(dataset: Any, limit: int) -> List[int]:
    """Up to ``limit`` dataset indices with a ground-truth mask, evenly spread, in order."""
    with_masks = [
        i for i in range(len(dataset)) if dataset.get_data_info(i).get("seg_map_path") is not None
    ]
    if len(with_masks) <= limit:
        return with_masks
    step = len(with_masks) / limit
    return [with_masks[int(i * step)] for i in range(limit)]

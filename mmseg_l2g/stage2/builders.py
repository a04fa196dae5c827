"""Builds stage 2's inputs from a config: the trained classifier and the dataset."""

from __future__ import annotations

import copy
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import BaseDataset
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from ..engine.checkpointing import file_sha256, load_weights_strict
from ..models.classifiers import L2GClassifier

# Dataset wrappers whose inner ``dataset`` is the WSSS dataset.
_WRAPPER_KEYS = ("dataset",)


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

    Raises:
        TypeError: the config's model is not an ``L2GClassifier``.
        ValueError: the checkpoint does not fit, or holds NaN / infinite weights.
    """
    model = MODELS.build(copy.deepcopy(cfg.model))
    if not isinstance(model, L2GClassifier):
        raise TypeError(
            f"{cfg.filename}: the model is a {type(model).__name__}, not an L2GClassifier; "
            "stage 2 reads CAMs from an L2G config (configs/l2g/*)"
        )
    if checkpoint is not None:
        load_weights_strict(model, checkpoint, cfg.filename, require_finite=True)
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


def readout_settings(cfg: Config, **overrides: Any) -> Dict[str, Any]:
    """The config's ``model.test_cfg`` (the CAM readout) with the ``overrides`` not ``None``."""
    readout = dict(cfg.model.get("test_cfg") or {})
    readout.update({key: value for key, value in overrides.items() if value is not None})
    return readout


def checkpoint_identity(checkpoint: str) -> Dict[str, str]:
    """What identifies a checkpoint for resuming: its path and its content's SHA-256."""
    return dict(path=osp.abspath(checkpoint), sha256=file_sha256(checkpoint))


def cams_source_identity(cams_dir: str) -> Dict[str, Any]:
    """What made the CAM files of ``cams_dir``: its run's readout and checkpoint when known."""
    settings_path = osp.join(osp.dirname(osp.abspath(cams_dir)), "settings.json")
    if osp.isfile(settings_path):
        try:
            with open(settings_path, encoding="utf-8") as f:
                source = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError):
            source = None  # not stage 2's: the CAMs' origin is unknown
        if isinstance(source, dict) and source.get("cam") is not None:
            return dict(cam=source["cam"], checkpoint=source.get("checkpoint"))
    return dict(checkpoint=None)

"""Builds a config's WSSS dataset for reading (stage 2, the CAM hook), pipeline emptied."""

from __future__ import annotations

import copy
from typing import Any, List, Union

from mmengine.config import Config, ConfigDict
from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

# Dataset wrappers whose inner ``dataset`` is the WSSS dataset.
_WRAPPER_KEYS = ("dataset",)


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

"""Builds from a config: the config (a tool's readout flags merged) and the CAM model."""

from __future__ import annotations

import copy
import json
import os.path as osp
from typing import Any, Dict, Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from ..engine.checkpointing import file_sha256, load_weights_strict
from ..models.classifiers import L2GClassifier
from ..models.classifiers.cam_readout import CAMReadoutConfig
from ..utils.package_files import resolve_config


def load_config(config: str, cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Reads a config, merges ``--cfg-options`` and sets its default scope.

    Args:
        config: the config file, or ``mmseg_l2g::REL`` (a config shipped with the package).
        cfg_options: dotted overrides (``{'a.b': 1}``).

    Returns:
        The config.
    """
    config = resolve_config(config)
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


def merge_readout(cfg: Config, **overrides: Any) -> CAMReadoutConfig:
    """Merges readout overrides (a tool's flags) into ``cfg.model.test_cfg``, before the build.

    The model parses ``test_cfg`` into its readout; this is the one place a
    command line changes it. Overrides that are ``None`` (flags not given)
    leave the config's value.

    Args:
        cfg: the config; ``cfg.model.test_cfg`` is replaced in place.
        **overrides: :class:`CAMReadoutConfig` keys (``scales``, ``bg_thr``, ...).

    Returns:
        The merged readout, parsed (so bad values fail before anything runs);
        the readout of CAM files when no model is built.
    """
    test_cfg = dict(cfg.model.get("test_cfg") or {})
    test_cfg.update({key: value for key, value in overrides.items() if value is not None})
    cfg.model.test_cfg = test_cfg
    return CAMReadoutConfig.from_cfg(test_cfg)


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

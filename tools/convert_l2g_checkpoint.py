"""Converts the authors' trained L2G (ResNet-38) checkpoint into ours.

The release saves ``dict(epoch, global_counter, state_dict, local_dict,
optimizer)``; ``state_dict`` is the global network and ``local_dict`` the
local one, each a ``DataParallel`` state dict (keys start with ``module.``)
of ResNet-38 (``conv1a``, ``b2`` ... ``bn7``) plus the classifier ``fc8``
(1x1, C+1 outputs, background last, no bias) and the pixel correlation
module's convolutions ``f8_3``, ``f8_4`` and ``f9``.

Our ``L2GClassifier`` keys::

    module.conv1a.weight   -> {global,local}_backbone.conv1a.weight  (all ResNet-38 keys)
    module.fc8.weight      -> {global,local}_head.conv_cam.weight
    module.f8_3.weight     -> {global,local}_head.pcm.projs.0.weight
    module.f8_4.weight     -> {global,local}_head.pcm.projs.1.weight
    module.f9.weight       -> {global,local}_head.pcm.embed.weight

Any other key is an error naming it (nothing is dropped silently).

Usage::

    python tools/convert_l2g_checkpoint.py voc_epoch_9.pth work_dirs/l2g_release_voc.pth --check
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from mmseg_l2g.engine.checkpointing import compare_state_dicts, report_key_check, save_checkpoint
from mmseg_l2g.utils.cli import run_main

# The release's network dicts -> our prefixes.
NETWORKS = (("state_dict", "global"), ("local_dict", "local"))
HEAD_KEYS = {
    "fc8.weight": "conv_cam.weight",
    "f8_3.weight": "pcm.projs.0.weight",
    "f8_4.weight": "pcm.projs.1.weight",
    "f9.weight": "pcm.embed.weight",
}
PCM_KEYS = ("f8_3.weight", "f8_4.weight", "f9.weight")


def _resnet38_shapes(base_channels: int) -> Dict[str, Tuple[int, ...]]:
    """State-dict key -> shape of a ResNet38 of width ``base_channels``."""
    from mmseg_l2g.models.backbones import ResNet38

    model = ResNet38(base_channels=base_channels)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def convert_network(
    state_dict: Dict[str, torch.Tensor], prefix: str, source: str = "<checkpoint>"
) -> Dict[str, torch.Tensor]:
    """Renames one release network (global or local) to our keys.

    Args:
        state_dict: the release's state dict (with or without ``module.``).
        prefix: ``'global'`` or ``'local'``.
        source: names the file and dict in error messages.

    Returns:
        ``{prefix}_backbone.*`` and ``{prefix}_head.*`` tensors.

    Raises:
        ValueError: unknown keys (all named), no ``conv1a.weight``/``fc8.weight``,
            missing ResNet-38 keys, backbone shapes that do not fit, or a
            partial set of PCM convolutions.
    """
    stripped = {
        (k[len("module.") :] if k.startswith("module.") else k): v for k, v in state_dict.items()
    }
    for required in ("conv1a.weight", "fc8.weight"):
        if required not in stripped:
            raise ValueError(f"{source}: no {required!r}: not a ResNet-38 L2G network")
    backbone_shapes = _resnet38_shapes(int(stripped["conv1a.weight"].shape[0]))
    present_pcm = [k for k in PCM_KEYS if k in stripped]
    if present_pcm and len(present_pcm) != len(PCM_KEYS):
        missing = sorted(set(PCM_KEYS) - set(present_pcm))
        raise ValueError(f"{source}: incomplete pixel correlation module, missing {missing}")
    converted: Dict[str, torch.Tensor] = {}
    unknown: List[str] = []
    for key, value in stripped.items():
        if key in backbone_shapes:
            converted[f"{prefix}_backbone.{key}"] = value
        elif key in HEAD_KEYS:
            converted[f"{prefix}_head.{HEAD_KEYS[key]}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f"{source}: {len(unknown)} unknown key(s): " + ", ".join(sorted(unknown)))
    # Checkpoints from PyTorch < 0.4.1 have no BN batch counters: start them at 0.
    for key in backbone_shapes:
        if key.endswith(".num_batches_tracked") and key not in stripped:
            converted[f"{prefix}_backbone.{key}"] = torch.tensor(0)
    missing_backbone = sorted(
        key for key in backbone_shapes if f"{prefix}_backbone.{key}" not in converted
    )
    if missing_backbone:
        raise ValueError(
            f"{source}: {len(missing_backbone)} ResNet-38 key(s) missing: "
            + ", ".join(missing_backbone)
        )
    mismatched = [
        f"{key}: {tuple(stripped[key].shape)}, expected {shape}"
        for key, shape in backbone_shapes.items()
        if key in stripped and tuple(stripped[key].shape) != shape
    ]
    if mismatched:
        raise ValueError(f"{source}: ResNet-38 shapes do not fit: " + ", ".join(mismatched))
    return converted


def convert_checkpoint(checkpoint: dict, source: str = "<checkpoint>") -> Tuple[Dict, Dict]:
    """Converts a whole release checkpoint.

    Args:
        checkpoint: the loaded release file.
        source: the file name, for messages.

    Returns:
        Our state dict and a meta dict (classes, PCM presence, release epoch).

    Raises:
        ValueError: a network dict is missing or malformed (see
            :func:`convert_network`).
    """
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{source}: expected a dict checkpoint, got {type(checkpoint).__name__}")
    state_dict: Dict[str, torch.Tensor] = {}
    for dict_name, prefix in NETWORKS:
        network = checkpoint.get(dict_name)
        if not isinstance(network, dict):
            raise ValueError(
                f"{source}: no {dict_name!r} dict (the release saves 'state_dict' for the global "
                f"and 'local_dict' for the local network); keys present: {sorted(checkpoint)}"
            )
        state_dict.update(convert_network(network, prefix, f"{source}[{dict_name!r}]"))
    cam_weight = state_dict["global_head.conv_cam.weight"]
    meta = dict(
        converter="tools/convert_l2g_checkpoint.py",
        source=os.path.basename(source),
        num_classes=int(cam_weight.shape[0]) - 1,
        with_pcm="global_head.pcm.embed.weight" in state_dict,
        base_channels=int(state_dict["global_backbone.conv1a.weight"].shape[0]),
    )
    for key in ("epoch", "global_counter"):
        if isinstance(checkpoint.get(key), int):
            meta[f"release_{key}"] = checkpoint[key]
    dataset_meta = release_dataset_meta(meta["num_classes"])
    if dataset_meta is not None:
        meta["dataset_meta"] = dataset_meta
    return state_dict, meta


def release_dataset_meta(num_classes: int) -> Optional[Dict[str, list]]:
    """Classes and palette of the dataset a release checkpoint was trained on, by class count.

    The release trains on PASCAL VOC 2012 (20 classes) or MS COCO 2014 (80); mmseg's
    ``init_model`` reads ``meta['dataset_meta']`` (without it, it looks for a decode
    head, which an L2G classifier has not). Another count: None (the caller says so).
    """
    from mmseg_l2g.datasets import COCOWSSSDataset, VOCWSSSDataset

    for dataset in (VOCWSSSDataset, COCOWSSSDataset):
        classes = list(dataset.METAINFO["classes"])
        if len(classes) == num_classes + 1:
            palette = [list(colour) for colour in dataset.METAINFO["palette"]]
            return dict(classes=classes, palette=palette)
    return None


def _build_model(config: str) -> torch.nn.Module:
    """Builds the model of an MMEngine config (registering mmseg and the plugin)."""
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import mmseg_l2g  # noqa: F401  (registers the plugin's modules)

    register_all_modules()
    return MODELS.build(Config.fromfile(config).model)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", help="the release checkpoint (state_dict + local_dict)")
    parser.add_argument("dst", help="output checkpoint (.pth)")
    parser.add_argument(
        "--config",
        help="with --check: an L2G config whose model the weights must fit exactly",
    )
    parser.add_argument(
        "--check", action="store_true", help="fail on missing/unexpected/mismatched keys"
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="load with weights_only=False (only for a file from a source you trust)",
    )
    return parser.parse_args(argv)


def convert(args: argparse.Namespace) -> None:
    """Reads, converts, checks and writes the checkpoint; every problem raises."""
    if not os.path.isfile(args.src):
        raise FileNotFoundError(f"{args.src}: file not found")
    try:
        checkpoint = torch.load(args.src, map_location="cpu", weights_only=not args.trust_pickle)
    except Exception as exc:  # torch raises several types for unreadable files
        raise ValueError(
            f"{args.src}: cannot load ({exc}); if the file is trusted, retry with --trust-pickle"
        ) from exc
    state_dict, meta = convert_checkpoint(checkpoint, source=args.src)
    print(
        f"converted {len(state_dict)} tensors: {meta['num_classes']} classes, "
        f"PCM {'present' if meta['with_pcm'] else 'absent'}"
    )
    if "dataset_meta" not in meta:
        print(
            f"note: {meta['num_classes']} classes is neither VOC's 20 nor COCO's 80: no "
            "dataset_meta written (set model.dataset_meta before mmseg's inference_model)"
        )
    if args.check and args.config:
        own = _build_model(args.config).state_dict()
        report_key_check(compare_state_dicts(state_dict, own), "the config's model")
    elif args.check:
        print("check: key names and backbone shapes verified (pass --config to check a model)")
    save_checkpoint(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f"wrote {args.dst}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the conversion; returns the exit status (1 with a one-line error)."""
    args = parse_args(argv)
    return run_main("convert_l2g_checkpoint.py", lambda: convert(args))


if __name__ == "__main__":
    sys.exit(main())

"""Converts the MXNet ImageNet weights of ResNet-38 into a ResNet38 checkpoint.

The weights people have are ``ilsvrc-cls_rna-a1_cls1000_ep-0001.params``
(model A1 of "Wider or Deeper", trained on ImageNet in MXNet). This tool reads
that file directly (no MXNet needed), renames every parameter to
:class:`mmseg_l2g.models.backbones.ResNet38`'s names, drops the ImageNet
classifier (``linear1000``) and writes ``dict(state_dict=..., meta=...)``,
which MMEngine loads (``init_cfg=dict(type='Pretrained', checkpoint=...)``).

MXNet names -> ours::

    arg:conv1a_weight                     conv1a.weight
    arg:res{S}{U}_branch{B}_weight        b{S}[_k].conv_branch{B}.weight
    arg:bn{S}{U}_branch{B}_gamma / beta   b{S}[_k].bn_branch{B}.weight / bias
    aux:bn{S}{U}_branch{B}_moving_mean    b{S}[_k].bn_branch{B}.running_mean
    aux:bn{S}{U}_branch{B}_moving_var     b{S}[_k].bn_branch{B}.running_var
    arg:bn7_gamma / beta, aux:bn7_moving_*   bn7.*

where unit ``a`` is ``b{S}`` and unit ``b{k}`` is ``b{S}_{k}``.

Usage::

    python tools/convert_resnet38_mxnet.py \
        ilsvrc-cls_rna-a1_cls1000_ep-0001.params pretrain/resnet38_mxnet.pth --check
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmseg_l2g.engine.checkpointing import (
    compare_state_dicts,
    file_sha256,
    report_key_check,
    save_checkpoint,
)
from mmseg_l2g.utils import load_mxnet_params
from mmseg_l2g.utils.cli import run_main

_BN_SUFFIX = {
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_var": "running_var",
}
_CONV1A = re.compile(r"^(?:arg|aux):conv1a_weight$")
_UNIT = re.compile(
    r"^(?:arg|aux):(?P<kind>res|bn)(?P<stage>[2-7])(?P<unit>a|b\d+)_"
    r"(?P<branch>branch(?:1|2a|2b1|2b2))_(?P<param>weight|gamma|beta|moving_mean|moving_var)$"
)
_BN7 = re.compile(r"^(?:arg|aux):bn7_(?P<param>gamma|beta|moving_mean|moving_var)$")
_CLASSIFIER = re.compile(r"^(?:arg|aux):linear1000_(?:weight|bias)$")


def mxnet_name_to_resnet38(name: str) -> Optional[str]:
    """Maps one MXNet parameter name to the ResNet38 state-dict key.

    Args:
        name: e.g. ``'arg:res4b5_branch2a_weight'``.

    Returns:
        The ResNet38 key (``'b4_5.conv_branch2a.weight'``), or None for the
        ImageNet classifier (``linear1000``), which the backbone has not.

    Raises:
        KeyError: the name is not a ResNet-38 parameter.
    """
    if _CLASSIFIER.match(name):
        return None
    if _CONV1A.match(name):
        return "conv1a.weight"
    match = _BN7.match(name)
    if match:
        return "bn7." + _BN_SUFFIX[match["param"]]
    match = _UNIT.match(name)
    if not match:
        raise KeyError(name)
    unit = match["unit"]
    module = f"b{match['stage']}" if unit == "a" else f"b{match['stage']}_{unit[1:]}"
    if match["kind"] == "res":
        if match["param"] != "weight":
            raise KeyError(name)
        return f"{module}.conv_{match['branch']}.weight"
    if match["param"] == "weight":
        raise KeyError(name)
    return f"{module}.bn_{match['branch']}.{_BN_SUFFIX[match['param']]}"


def convert_mxnet_params(
    params: Dict[str, np.ndarray], source: str = "<params>"
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Renames MXNet ResNet-38 parameters into a ResNet38 state dict.

    Every BN layer also gets ``num_batches_tracked = 0`` (PyTorch keeps it,
    MXNet has none), so the state dict matches the module's exactly.

    Args:
        params: ``name -> array`` as :func:`load_mxnet_params` returns.
        source: the file name, for error messages.

    Returns:
        The state dict (float32 tensors) and the skipped names (classifier).

    Raises:
        ValueError: unknown names (all listed) or two names mapping to one key.
    """
    state_dict: Dict[str, torch.Tensor] = {}
    skipped: List[str] = []
    unknown: List[str] = []
    for name, array in params.items():
        try:
            key = mxnet_name_to_resnet38(name)
        except KeyError:
            unknown.append(name)
            continue
        if key is None:
            skipped.append(name)
            continue
        if key in state_dict:
            raise ValueError(f"{source}: two parameters map to {key!r} (second: {name!r})")
        state_dict[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    if unknown:
        raise ValueError(
            f"{source}: {len(unknown)} parameter(s) are not ResNet-38 (model A1) parameters: "
            + ", ".join(unknown)
        )
    for key in [k for k in state_dict if k.endswith(".running_mean")]:
        state_dict[key[: -len("running_mean")] + "num_batches_tracked"] = torch.tensor(0)
    return state_dict, skipped


def check_state_dict(
    state_dict: Dict[str, torch.Tensor],
) -> Tuple[List[str], List[str], List[str]]:
    """Compares the state dict with a ResNet38 of the matching width.

    The width (``base_channels``) is read from ``conv1a.weight``.

    Args:
        state_dict: a converted ResNet38 state dict.

    Returns:
        Missing keys, unexpected keys and shape mismatches (``key: ours vs
        theirs``); all three empty means a clean load.
    """
    from mmseg_l2g.models.backbones import ResNet38

    if "conv1a.weight" not in state_dict:
        return ["conv1a.weight"], sorted(state_dict), []
    model = ResNet38(base_channels=int(state_dict["conv1a.weight"].shape[0]))
    return compare_state_dicts(state_dict, model.state_dict())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", help="MXNet .params file (ilsvrc-cls_rna-a1_cls1000_ep-0001.params)")
    parser.add_argument("dst", help="output checkpoint (.pth)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="load the result into ResNet38 and fail on missing/unexpected/mismatched keys",
    )
    return parser.parse_args(argv)


def convert(args: argparse.Namespace) -> None:
    """Reads, converts, checks and writes the weights; every problem raises."""
    params = load_mxnet_params(args.src)  # a missing file: FileNotFoundError naming it
    state_dict, skipped = convert_mxnet_params(params, source=args.src)
    num_params = sum(v.numel() for k, v in state_dict.items() if not k.endswith("_tracked"))
    print(
        f"read {len(params)} arrays from {args.src}; {len(state_dict)} state-dict entries, "
        f"{num_params:,} values; skipped {len(skipped)} ({', '.join(skipped) or 'none'})"
    )
    if args.check:
        report_key_check(check_state_dict(state_dict), "ResNet38")
    meta = dict(
        source=os.path.basename(args.src),
        source_sha256=file_sha256(args.src),
        converter="tools/convert_resnet38_mxnet.py",
        model="ResNet38",
        base_channels=int(state_dict["conv1a.weight"].shape[0])
        if "conv1a.weight" in state_dict
        else -1,
        skipped=skipped,
    )
    save_checkpoint(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f"wrote {args.dst}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the conversion; returns the exit status (1 with a one-line error)."""
    args = parse_args(argv)
    return run_main("convert_resnet38_mxnet.py", lambda: convert(args))


if __name__ == "__main__":
    sys.exit(main())

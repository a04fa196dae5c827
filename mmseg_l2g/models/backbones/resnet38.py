"""ResNet-38: the wide ResNet of "Wider or Deeper" (Wu et al.) as used in WSSS.

This is model A1 (``resnet38d``) of PSA / SEAM / L2G: pre-activation residual
units, output stride 8 (dilation 2 in stage 5, 4 in stages 6 and 7) and a
4096-channel final map. Module and parameter names follow the common PyTorch
port (``conv1a``, ``b2``, ``b2_1``, ..., ``b7``, ``bn7``; inside a unit
``bn_branch2a``, ``conv_branch2a``, ``bn_branch2b1``, ``conv_branch2b1``,
``conv_branch1`` and, in bottleneck units, ``bn_branch2b2``,
``conv_branch2b2``), so the ImageNet weights (MXNet) and the authors' L2G
checkpoints convert by renaming only (see ``tools/convert_resnet38_mxnet.py``
and ``tools/convert_l2g_checkpoint.py``).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

# Returnable feature maps by index; ``conv4`` and ``conv5`` are reachable by name.
OUTPUT_NAMES = ("b2", "b3", "b4", "b5", "conv6")
# Every name ``forward_features`` returns (and ``out_indices`` accepts).
FEATURE_NAMES = ("b2", "b3", "b4", "b5", "conv4", "conv5", "conv6")
# Units of each stage, in order: the module names of the released port.
STAGE_UNITS = (
    ("b2", "b2_1", "b2_2"),
    ("b3", "b3_1", "b3_2"),
    ("b4", "b4_1", "b4_2", "b4_3", "b4_4", "b4_5"),
    ("b5", "b5_1", "b5_2"),
    ("b6",),
    ("b7",),
)


class PreActBlock(nn.Module):
    """Pre-activation basic unit: BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus shortcut.

    The shortcut is the identity when shapes match, else a 1x1 convolution of
    the pre-activated input (``conv_branch1``).

    Args:
        in_channels: Input channels.
        mid_channels: Channels after the first 3x3 convolution.
        out_channels: Output channels.
        stride: Stride of the first convolution and of the shortcut.
        first_dilation: Dilation (and padding) of the first convolution.
        dilation: Dilation (and padding) of the second convolution.
        norm_cfg: Normalisation layer config.
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        stride: int = 1,
        first_dilation: int = 1,
        dilation: int = 1,
        norm_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type="BN", requires_grad=True)
        self.bn_branch2a = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv_branch2a = nn.Conv2d(
            in_channels,
            mid_channels,
            3,
            stride=stride,
            padding=first_dilation,
            dilation=first_dilation,
            bias=False,
        )
        self.bn_branch2b1 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv_branch2b1 = nn.Conv2d(
            mid_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False
        )
        self.has_projection = in_channels != out_channels or stride != 1
        if self.has_projection:
            self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward_with_preact(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns the unit's output and its pre-activated input relu(bn(x))."""
        preact = F.relu(self.bn_branch2a(x))
        shortcut = self.conv_branch1(preact) if self.has_projection else x
        out = self.conv_branch2a(preact)
        out = self.conv_branch2b1(F.relu(self.bn_branch2b1(out)))
        return shortcut + out, preact

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns the unit's output."""
        return self.forward_with_preact(x)[0]


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck unit (1x1, dilated 3x3, 1x1) with dropout.

    Widths are ``out/4 -> out/2 -> out``; the shortcut is always a 1x1
    convolution of the pre-activated input, as in the released port.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        dilation: Dilation (and padding) of the 3x3 convolution.
        dropout: ``Dropout2d`` probability before the 3x3 and the last 1x1.
        norm_cfg: Normalisation layer config.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        dilation: int = 1,
        dropout: float = 0.0,
        norm_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type="BN", requires_grad=True)
        quarter, half = out_channels // 4, out_channels // 2
        self.bn_branch2a = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv_branch2a = nn.Conv2d(in_channels, quarter, 1, bias=False)
        self.bn_branch2b1 = build_norm_layer(norm_cfg, quarter)[1]
        self.dropout_2b1 = nn.Dropout2d(dropout)
        self.conv_branch2b1 = nn.Conv2d(
            quarter, half, 3, padding=dilation, dilation=dilation, bias=False
        )
        self.bn_branch2b2 = build_norm_layer(norm_cfg, half)[1]
        self.dropout_2b2 = nn.Dropout2d(dropout)
        self.conv_branch2b2 = nn.Conv2d(half, out_channels, 1, bias=False)
        self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward_with_preact(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns the unit's output and its pre-activated input relu(bn(x))."""
        preact = F.relu(self.bn_branch2a(x))
        shortcut = self.conv_branch1(preact)
        out = self.conv_branch2a(preact)
        out = self.conv_branch2b1(self.dropout_2b1(F.relu(self.bn_branch2b1(out))))
        out = self.conv_branch2b2(self.dropout_2b2(F.relu(self.bn_branch2b2(out))))
        return shortcut + out, preact

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns the unit's output."""
        return self.forward_with_preact(x)[0]


@MODELS.register_module()
class ResNet38(BaseModule):
    """Wide ResNet-38 (model A1, ``resnet38d``) with output stride 8.

    Layout (``w = base_channels``, 64 in the published network)::

        conv1a  3x3, w                                   stride 1
        b2      3 units, 2w                              stride 2
        b3      3 units, 4w                              stride 4
        b4      6 units, 8w                              stride 8
        b5      3 units, 8w -> 16w, dilation 2           stride 8
        b6      bottleneck 16w -> 32w, dilation 4, dropout 0.3
        b7      bottleneck 32w -> 64w, dilation 4, dropout 0.5
        bn7     BN + ReLU -> ``conv6`` (64w = 4096 channels)

    Feature maps (:meth:`forward_features`): ``b2``..``b5`` are the stage
    outputs (before any normalisation); ``conv4`` (8w channels) and ``conv5``
    (16w) are the pre-activated inputs of ``b5`` and ``b6``, which the
    release's pixel correlation module reads; ``conv6`` is the final map.

    Args:
        in_channels: Input image channels.
        base_channels: Width ``w``; 64 is the published network (smaller
            values keep every name and only shrink the shapes, for tests).
        out_indices: Maps returned by :meth:`forward`, as indices into
            ``OUTPUT_NAMES = (b2, b3, b4, b5, conv6)`` or as names from
            ``FEATURE_NAMES`` (which adds ``conv4`` and ``conv5``).
        dropouts: Dropout probabilities of ``b6`` and ``b7``.
        frozen_stages: -1 freezes nothing; 0 freezes ``conv1a``; k >= 1
            also freezes the first k stages (``b2``, ``b3``, ...). The L2G
            release uses 1 (``conv1a`` and ``b2``).
        norm_cfg: Normalisation layer config (``requires_grad=False`` freezes
            the affine parameters, as the release does).
        norm_eval: Keep every BN layer in eval mode (frozen statistics)
            during training, as the release does.
        with_cp: Gradient checkpointing of the units (saves memory).
        init_cfg: MMEngine initialisation config; use
            ``dict(type='Pretrained', checkpoint=...)`` with a checkpoint from
            ``tools/convert_resnet38_mxnet.py``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        out_indices: Sequence[Union[int, str]] = (4,),
        dropouts: Tuple[float, float] = (0.3, 0.5),
        frozen_stages: int = -1,
        norm_cfg: Optional[dict] = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        init_cfg: Optional[Union[dict, List[dict]]] = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ]
        super().__init__(init_cfg=init_cfg)
        if base_channels < 4 or base_channels % 4:
            raise ValueError(
                f"ResNet38: base_channels must be a multiple of 4, got {base_channels}"
            )
        if not -1 <= frozen_stages <= len(STAGE_UNITS):
            raise ValueError(
                f"ResNet38: frozen_stages must be in -1..{len(STAGE_UNITS)}, got {frozen_stages}"
            )
        self.out_names = self._resolve_out_indices(out_indices)
        self.base_channels = base_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        norm_cfg = norm_cfg or dict(type="BN", requires_grad=True)
        w = base_channels

        self.conv1a = nn.Conv2d(in_channels, w, 3, padding=1, bias=False)
        self.b2 = PreActBlock(w, 2 * w, 2 * w, stride=2, norm_cfg=norm_cfg)
        self.b2_1 = PreActBlock(2 * w, 2 * w, 2 * w, norm_cfg=norm_cfg)
        self.b2_2 = PreActBlock(2 * w, 2 * w, 2 * w, norm_cfg=norm_cfg)
        self.b3 = PreActBlock(2 * w, 4 * w, 4 * w, stride=2, norm_cfg=norm_cfg)
        self.b3_1 = PreActBlock(4 * w, 4 * w, 4 * w, norm_cfg=norm_cfg)
        self.b3_2 = PreActBlock(4 * w, 4 * w, 4 * w, norm_cfg=norm_cfg)
        self.b4 = PreActBlock(4 * w, 8 * w, 8 * w, stride=2, norm_cfg=norm_cfg)
        for name in STAGE_UNITS[2][1:]:
            self.add_module(name, PreActBlock(8 * w, 8 * w, 8 * w, norm_cfg=norm_cfg))
        self.b5 = PreActBlock(8 * w, 8 * w, 16 * w, first_dilation=1, dilation=2, norm_cfg=norm_cfg)
        self.b5_1 = PreActBlock(
            16 * w, 8 * w, 16 * w, first_dilation=2, dilation=2, norm_cfg=norm_cfg
        )
        self.b5_2 = PreActBlock(
            16 * w, 8 * w, 16 * w, first_dilation=2, dilation=2, norm_cfg=norm_cfg
        )
        self.b6 = PreActBottleneck(
            16 * w, 32 * w, dilation=4, dropout=dropouts[0], norm_cfg=norm_cfg
        )
        self.b7 = PreActBottleneck(
            32 * w, 64 * w, dilation=4, dropout=dropouts[1], norm_cfg=norm_cfg
        )
        self.bn7 = build_norm_layer(norm_cfg, 64 * w)[1]
        self.feature_channels: Dict[str, int] = dict(
            b2=2 * w, b3=4 * w, b4=8 * w, b5=16 * w, conv4=8 * w, conv5=16 * w, conv6=64 * w
        )
        self._freeze_stages()

    @staticmethod
    def _resolve_out_indices(out_indices: Sequence[Union[int, str]]) -> Tuple[str, ...]:
        """Turns ``out_indices`` (indices or names) into feature names."""
        if isinstance(out_indices, (int, str)):
            out_indices = (out_indices,)
        names = []
        for item in out_indices:
            if isinstance(item, str):
                if item not in FEATURE_NAMES:
                    raise ValueError(
                        f"ResNet38: unknown output name {item!r}; expected one of {FEATURE_NAMES}"
                    )
                names.append(item)
            elif isinstance(item, int) and -len(OUTPUT_NAMES) <= item < len(OUTPUT_NAMES):
                names.append(OUTPUT_NAMES[item])
            else:
                raise ValueError(
                    f"ResNet38: out index {item!r} out of range; expected an index into "
                    f"{OUTPUT_NAMES} or a name from {FEATURE_NAMES}"
                )
        if not names:
            raise ValueError("ResNet38: out_indices is empty")
        return tuple(names)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of each map :meth:`forward` returns."""
        return tuple(self.feature_channels[name] for name in self.out_names)

    def _run_unit(self, unit: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Runs a unit (checkpointed when asked) and returns (output, preact)."""
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(unit.forward_with_preact, x, use_reentrant=False)
        return unit.forward_with_preact(x)

    def forward_features(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Returns every named feature map (see the class docstring).

        Args:
            x: (B, 3, H, W) normalised images.

        Returns:
            ``{b2, b3, b4, b5, conv4, conv5, conv6}``; ``b2`` has stride 2,
            ``b3`` 4, all others 8.
        """
        feats: Dict[str, torch.Tensor] = {}
        x = self.conv1a(x)
        for stage in STAGE_UNITS:
            for unit_name in stage:
                x, preact = self._run_unit(getattr(self, unit_name), x)
                if unit_name == "b5":
                    feats["conv4"] = preact
                elif unit_name == "b6":
                    feats["conv5"] = preact
            if stage[0] in ("b2", "b3", "b4", "b5"):
                feats[stage[0]] = x
        feats["conv6"] = F.relu(self.bn7(x))
        return feats

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Returns the maps named by ``out_indices``, in that order."""
        feats = self.forward_features(x)
        return tuple(feats[name] for name in self.out_names)

    def _frozen_modules(self) -> List[nn.Module]:
        """Modules frozen by ``frozen_stages``."""
        if self.frozen_stages < 0:
            return []
        modules: List[nn.Module] = [self.conv1a]
        for stage in STAGE_UNITS[: self.frozen_stages]:
            modules.extend(getattr(self, name) for name in stage)
        return modules

    def _freeze_stages(self) -> None:
        """Puts the frozen modules in eval mode and stops their gradients."""
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> ResNet38:
        """Sets the mode, keeping frozen stages (and BN with ``norm_eval``) in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

"""PlainCNN: a small VGG-style stride-8 backbone for fast CPU runs (synthetic data)."""

from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS


@MODELS.register_module()
class PlainCNN(BaseModule):
    """Stacked 3x3 conv-BN-ReLU stages; the first stages stride 2, the last dilate.

    Output stride is 2 ** (number of strided stages). With the defaults: three
    strided stages (stride 8) then a dilated stage, like the dilated tails of the
    ResNets L2G uses, at a fraction of their cost on a CPU.

    Args:
        channels: Output channels of each stage.
        convs_per_stage: 3x3 convolutions in each stage.
        strides: Stride of each stage's first convolution.
        dilations: Dilation of each stage's convolutions.
        out_indices: Stages whose outputs are returned.
        norm_cfg: Normalisation layer config (None: BatchNorm).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128, 128),
        convs_per_stage: Sequence[int] = (2, 2, 2, 2),
        strides: Sequence[int] = (2, 2, 2, 1),
        dilations: Sequence[int] = (1, 1, 1, 2),
        in_channels: int = 3,
        out_indices: Sequence[int] = (3,),
        norm_cfg: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = dict(type="Kaiming", layer="Conv2d", nonlinearity="relu")
        super().__init__(init_cfg=init_cfg)
        if not len(channels) == len(convs_per_stage) == len(strides) == len(dilations):
            raise ValueError("channels, convs_per_stage, strides and dilations differ in length")
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        self.out_indices = tuple(out_indices)
        self.stages = nn.ModuleList()
        for out_ch, count, stride, dilation in zip(channels, convs_per_stage, strides, dilations):
            layers = []
            for k in range(count):
                layers.append(
                    ConvModule(
                        in_channels,
                        out_ch,
                        3,
                        stride=stride if k == 0 else 1,
                        padding=dilation,
                        dilation=dilation,
                        norm_cfg=norm_cfg,
                    )
                )
                in_channels = out_ch
            self.stages.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Returns the outputs of the stages in ``out_indices``."""
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

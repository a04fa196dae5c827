"""CAM head: a 1x1 convolution from backbone features to C+1 class maps."""

from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS


@MODELS.register_module()
class CAMHead(BaseModule):
    """Maps features to K = C+1 logits maps (foreground classes first, background last).

    Class scores are the global average pool of the first C channels; the
    background channel is trained only through the transfer losses, as in L2G.

    Args:
        in_channels: Channels of the backbone feature map used.
        num_classes: Number of foreground classes C.
        in_index: Which backbone output to use (default: the last one).
        bias: Whether the 1x1 convolution has a bias (the release's has none).
        dropout_ratio: Dropout on the features before the convolution.
        pcm: Optional config of a pixel correlation module refining the logits
            (``dict(type='PixelCorrelationModule', ...)``); off by default.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        in_index: int = -1,
        bias: bool = False,
        dropout_ratio: float = 0.0,
        pcm: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = dict(type="Xavier", layer="Conv2d", distribution="uniform")
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.in_index = in_index
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.conv_cam = nn.Conv2d(in_channels, num_classes + 1, kernel_size=1, bias=bias)
        self.pcm = MODELS.build(pcm) if pcm is not None else None

    def forward(
        self, feats: Sequence[torch.Tensor], image: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Returns the (B, C+1, h, w) logits map from a tuple of backbone features."""
        logits = self.conv_cam(self.dropout(feats[self.in_index]))
        if self.pcm is not None:
            logits = self.pcm(logits, list(feats), image)
        return logits

    @staticmethod
    def class_scores(logits: torch.Tensor, num_classes: int) -> torch.Tensor:
        """Global average pool of the first ``num_classes`` channels -> (B, C)."""
        return logits[:, :num_classes].mean(dim=(2, 3))

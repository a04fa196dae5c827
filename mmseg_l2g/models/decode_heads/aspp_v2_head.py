"""DeepLab-v2 decode head: four parallel dilated 3x3 convolutions to the classes, summed."""

from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """The ASPP classifier of DeepLab-v2 (Chen et al., TPAMI 2017), the L2G paper's segmenter.

    Each branch is one 3x3 convolution with dilation ``d`` (padding ``d``, with
    bias) from the backbone features straight to ``num_classes`` logits; the
    branch outputs are summed. There is no image pooling, no 1x1 branch, no
    BN/ReLU and no bottleneck, unlike DeepLab-v3's ASPP.

    ``BaseDecodeHead``'s ``conv_seg`` is removed (set to ``None``): every
    parameter of the head takes part in the loss, as DDP requires.

    Args:
        dilations: Dilation (and padding) of each branch; DeepLab-v2's ASPP-L
            uses (6, 12, 18, 24).
        dropout_ratio: Dropout on the features before the branches (DeepLab-v2
            has none).
        init_cfg: Initialisation; by default the branches' weights are drawn
            from N(0, 0.01^2) and their biases are 0, as DeepLab-v2's.
        **kwargs: ``BaseDecodeHead`` arguments (``in_channels``,
            ``num_classes``, ``in_index``, ``loss_decode``, ...). ``channels``
            is unused and defaults to ``in_channels``.
    """

    def __init__(
        self,
        dilations: Sequence[int] = (6, 12, 18, 24),
        dropout_ratio: float = 0.0,
        init_cfg: Optional[Union[dict, List[dict]]] = None,
        **kwargs,
    ) -> None:
        if len(dilations) == 0 or any(int(d) < 1 for d in dilations):
            raise ValueError(f"dilations must be positive integers, got {tuple(dilations)}")
        if init_cfg is None:
            init_cfg = dict(type="Normal", std=0.01, bias=0, override=dict(name="aspp"))
        if kwargs.get("channels") is None:
            in_channels = kwargs.get("in_channels")
            multiple = isinstance(in_channels, (list, tuple))
            kwargs["channels"] = sum(in_channels) if multiple else in_channels
        super().__init__(dropout_ratio=dropout_ratio, init_cfg=init_cfg, **kwargs)
        # The branches classify directly: BaseDecodeHead's 1x1 classifier would never be used.
        del self.conv_seg
        self.conv_seg = None
        self.dilations = tuple(int(d) for d in dilations)
        self.aspp = nn.ModuleList(
            nn.Conv2d(self.in_channels, self.out_channels, 3, padding=d, dilation=d, bias=True)
            for d in self.dilations
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Returns the (B, out_channels, h, w) logits: the sum of the dilated branches."""
        feats = self._transform_inputs(inputs)
        if self.dropout is not None:
            feats = self.dropout(feats)
        logits = self.aspp[0](feats)
        for branch in self.aspp[1:]:
            logits = logits + branch(feats)
        return logits

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """Not used: the ASPP branches are the classifier (see ``forward``)."""
        raise NotImplementedError("DeepLabV2Head classifies in forward(); it has no conv_seg")

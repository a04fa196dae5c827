"""L2G attention transfer loss (L_at)."""

from typing import Union

import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .transfer_target import (
    check_background_rule,
    check_transfer_inputs,
    check_weight,
    local_attention_target,
    roi_global_prediction,
)


@MODELS.register_module()
class AttentionTransferLoss(nn.Module):
    """Mean squared error between the global prediction and the local attention target.

    For each local view i: ``G_i`` = softmax of the global logits RoI-aligned
    over the view's box, ``T_i`` = the local logits' winner-take-all attention
    target (see :func:`local_attention_target`); the loss is
    ``loss_weight * mean((G - T) ** 2)`` over all views and elements. No
    gradient reaches the local logits.

    Args:
        loss_weight: lambda, the weight of the transfer loss (10 in the release).
        feat_stride: input pixels per pixel of the global logits.
        loss_name: key of this loss in the losses dict.
        background: where the local target's background comes from:
            ``'network'`` (the release), ``'complement'`` or a constant
            background score (see :func:`local_attention_target`).
    """

    def __init__(
        self,
        loss_weight: float = 10.0,
        feat_stride: int = 8,
        loss_name: str = "loss_at",
        background: Union[str, float] = "network",
    ) -> None:
        super().__init__()
        check_background_rule(background)
        check_weight("AttentionTransferLoss", "loss_weight", loss_weight)
        self.background = background
        self.loss_weight = loss_weight
        self.feat_stride = feat_stride
        self._loss_name = loss_name

    def forward(
        self, global_logits: Tensor, local_logits: Tensor, boxes: Tensor, labels: Tensor
    ) -> Tensor:
        """Compute the loss.

        Args:
            global_logits: (B, K, H, W) global logits, K = C+1, background last.
            local_logits: (B*N, K, h, w) local logits, the N views of an image
                consecutive.
            boxes: (B*N, 4) view boxes x1, y1, x2, y2 in global-view input pixels.
            labels: (B, C) multi-hot image labels.

        Returns:
            The weighted loss, a scalar in ``global_logits``' dtype.
        """
        _, num_views = check_transfer_inputs(
            global_logits, local_logits, boxes, labels, owner=type(self).__name__
        )
        target = local_attention_target(local_logits, labels, num_views, self.background)
        prediction = roi_global_prediction(
            global_logits, boxes, num_views, tuple(local_logits.shape[2:]), self.feat_stride
        )
        return self.loss_weight * F.mse_loss(prediction, target.to(prediction.dtype))

    @property
    def loss_name(self) -> str:
        """Key of this loss in the losses dict (mmseg convention: starts with ``loss_``)."""
        return self._loss_name

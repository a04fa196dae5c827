"""L2G shape transfer loss (L_st), the saliency-guided transfer loss."""

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
    resize_saliency,
    roi_global_prediction,
    shape_target,
)


@MODELS.register_module()
class ShapeTransferLoss(nn.Module):
    """Mean squared error between the global prediction and a saliency-shaped target.

    For each local view i: ``B_i = (T_i > threshold)`` with ``T_i`` the local
    attention target, ``S_i`` the view's saliency resized (nearest) to the local
    map. The target is ``B_i[c] * S_i`` on the C foreground channels and
    ``B_i[bg] * (1 - S_i)`` on the background channel (last); the loss is
    ``loss_weight * mean((G - target) ** 2)`` with ``G_i`` the softmax of the
    global logits RoI-aligned over the view's box. No gradient reaches the
    local logits.

    Args:
        loss_weight: lambda, the weight of the transfer loss (10 in the release).
        feat_stride: input pixels per pixel of the global logits.
        threshold: tau, the attention value above which a pixel belongs to a
            channel's mask (0.001 in the release).
        loss_name: key of this loss in the losses dict.
        background: where the local target's background comes from:
            ``'network'`` (the release), ``'complement'`` or a constant
            background score (see :func:`local_attention_target`).
    """

    def __init__(
        self,
        loss_weight: float = 10.0,
        feat_stride: int = 8,
        threshold: float = 0.001,
        loss_name: str = "loss_st",
        background: Union[str, float] = "network",
    ) -> None:
        super().__init__()
        check_background_rule(background)
        check_weight("ShapeTransferLoss", "loss_weight", loss_weight)
        self.background = background
        self.loss_weight = loss_weight
        self.feat_stride = feat_stride
        self.threshold = threshold
        self._loss_name = loss_name

    def forward(
        self,
        global_logits: Tensor,
        local_logits: Tensor,
        boxes: Tensor,
        labels: Tensor,
        saliency: Tensor,
    ) -> Tensor:
        """Compute the loss.

        Args:
            global_logits: (B, K, H, W) global logits, K = C+1, background last.
            local_logits: (B*N, K, h, w) local logits, the N views of an image
                consecutive.
            boxes: (B*N, 4) view boxes x1, y1, x2, y2 in global-view input pixels.
            labels: (B, C) multi-hot image labels.
            saliency: (B*N, 1, hs, ws) saliency crop of each view, in [0, 1].

        Returns:
            The weighted loss, a scalar in ``global_logits``' dtype.
        """
        _, num_views = check_transfer_inputs(
            global_logits, local_logits, boxes, labels, saliency, owner=type(self).__name__
        )
        map_size = tuple(local_logits.shape[2:])
        attention = local_attention_target(local_logits, labels, num_views, self.background)
        salient = resize_saliency(saliency.to(attention.device, attention.dtype), map_size)
        target = shape_target(attention, salient, self.threshold)
        prediction = roi_global_prediction(
            global_logits, boxes, num_views, map_size, self.feat_stride
        )
        return self.loss_weight * F.mse_loss(prediction, target.to(prediction.dtype))

    @property
    def loss_name(self) -> str:
        """Key of this loss in the losses dict (mmseg convention: starts with ``loss_``)."""
        return self._loss_name

"""What the two L2G transfer losses share: their arguments and the global side."""

from typing import Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .transfer_target import check_weight, roi_global_prediction


class TransferLoss(nn.Module):
    """Base of :class:`AttentionTransferLoss` and :class:`ShapeTransferLoss`.

    Checks and keeps the shared arguments, and computes the loss from a
    subclass's local target: ``loss_weight * mean((G - target) ** 2)`` with
    ``G`` the softmax of the global logits RoI-aligned over each view's box.

    Args:
        loss_weight: lambda, the weight of the transfer loss (10 in the release).
        feat_stride: input pixels per pixel of the global logits, where the
            RoI alignment maps the view boxes (8 when the loss is used alone).
            Inside :class:`L2GClassifier` the classifier sets its global
            network's measured stride and refuses a different one here.
        loss_name: key of this loss in the losses dict.
    """

    def __init__(
        self,
        loss_weight: float,
        feat_stride: int,
        loss_name: str,
    ) -> None:
        super().__init__()
        check_weight(type(self).__name__, "loss_weight", loss_weight)
        if isinstance(feat_stride, bool) or not isinstance(feat_stride, int) or feat_stride < 1:
            raise ValueError(
                f"{type(self).__name__}: feat_stride must be an int >= 1, got {feat_stride!r}"
            )
        self.loss_weight = loss_weight
        self.feat_stride = feat_stride
        self._loss_name = loss_name

    def weighted_mse(
        self,
        global_logits: Tensor,
        boxes: Tensor,
        num_views: int,
        map_size: Tuple[int, int],
        target: Tensor,
    ) -> Tensor:
        """``loss_weight`` x the mean squared error of the global prediction against ``target``.

        Args:
            global_logits: (B, K, H, W) global logits, K = C+1, background last.
            boxes: (B*N, 4) view boxes x1, y1, x2, y2 in global-view input pixels.
            num_views: N, the views per image.
            map_size: (h, w) of the local logits and ``target``.
            target: (B*N, K, h, w) the local target (no gradient).

        Returns:
            The weighted loss, a scalar in ``global_logits``' dtype.
        """
        prediction = roi_global_prediction(
            global_logits, boxes, num_views, map_size, self.feat_stride
        )
        return self.loss_weight * F.mse_loss(prediction, target.to(prediction.dtype))

    @property
    def loss_name(self) -> str:
        """Key of this loss in the losses dict (mmseg convention: starts with ``loss_``)."""
        return self._loss_name

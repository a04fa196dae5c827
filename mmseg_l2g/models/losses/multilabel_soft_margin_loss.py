"""The classification loss of the L2G networks: multi-label soft margin."""

import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .transfer_target import check_weight


@MODELS.register_module()
class MultiLabelSoftMarginLoss(nn.Module):
    """``loss_weight`` x ``F.multilabel_soft_margin_loss`` (the release's classification loss).

    The mean over images of the mean over classes of the binary cross-entropy
    of ``sigmoid(score)`` against the multi-hot label.

    Args:
        loss_weight: the weight of the loss.
        loss_name: key of this loss in the losses dict.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = "loss_cls") -> None:
        super().__init__()
        check_weight(type(self).__name__, "loss_weight", loss_weight)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, scores: Tensor, labels: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            scores: (B, C) class scores (logits).
            labels: (B, C) multi-hot labels.

        Returns:
            The weighted loss, a scalar in ``scores``' dtype.
        """
        return self.loss_weight * F.multilabel_soft_margin_loss(scores, labels.to(scores.dtype))

    @property
    def loss_name(self) -> str:
        """Key of this loss in the losses dict (mmseg convention: starts with ``loss_``)."""
        return self._loss_name

"""L2G shape transfer loss (L_st), the saliency-guided transfer loss."""

from mmseg.registry import MODELS
from torch import Tensor

from .transfer_loss_base import TransferLoss
from .transfer_target import (
    check_transfer_inputs,
    local_attention_target,
    resize_saliency,
    shape_target,
)


@MODELS.register_module()
class ShapeTransferLoss(TransferLoss):
    """Mean squared error between the global prediction and a saliency-shaped target.

    For each local view i: ``B_i = (T_i > threshold)`` with ``T_i`` the local
    attention target, ``S_i`` the view's saliency resized (nearest) to the local
    map. The target is ``B_i[c] * S_i`` on the C foreground channels and
    ``B_i[bg] * (1 - S_i)`` on the background channel (last); the loss is
    ``loss_weight * mean((G - target) ** 2)`` with ``G_i`` the softmax of the
    global logits RoI-aligned over the view's box. No gradient reaches the
    local logits.

    Args: those of :class:`TransferLoss` (the release's values by default), and
        threshold: tau, the attention value above which a pixel belongs to a
            channel's mask (0.001 in the release).
    """

    def __init__(
        self,
        loss_weight: float = 10.0,
        feat_stride: int = 8,
        threshold: float = 0.001,
        loss_name: str = "loss_st",
    ) -> None:
        super().__init__(loss_weight, feat_stride, loss_name)
        self.threshold = threshold

    def forward(
        self,
        global_logits: Tensor,
        local_logits: Tensor,
        boxes: Tensor,
        labels: Tensor,
        saliency: Tensor,
    ) -> Tensor:
        """Compute the loss.

        Args: those of :meth:`AttentionTransferLoss.forward`, and
            saliency: (B*N, 1, hs, ws) saliency crop of each view, in [0, 1].

        Returns:
            The weighted loss, a scalar in ``global_logits``' dtype.
        """
        _, num_views = check_transfer_inputs(
            global_logits, local_logits, boxes, labels, saliency, owner=type(self).__name__
        )
        map_size = tuple(local_logits.shape[2:])
        attention = local_attention_target(local_logits, labels, num_views)
        salient = resize_saliency(saliency.to(attention.device, attention.dtype), map_size)
        target = shape_target(attention, salient, self.threshold)
        return self.weighted_mse(global_logits, boxes, num_views, map_size, target)

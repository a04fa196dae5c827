"""L2G attention transfer loss (L_at)."""

from mmseg.registry import MODELS
from torch import Tensor

from .transfer_loss_base import TransferLoss
from .transfer_target import check_transfer_inputs, local_attention_target


@MODELS.register_module()
class AttentionTransferLoss(TransferLoss):
    """Mean squared error between the global prediction and the local attention target.

    For each local view i: ``G_i`` = softmax of the global logits RoI-aligned
    over the view's box, ``T_i`` = the local logits' winner-take-all attention
    target (see :func:`local_attention_target`); the loss is
    ``loss_weight * mean((G - T) ** 2)`` over all views and elements. No
    gradient reaches the local logits.

    Args: those of :class:`TransferLoss`, the release's values by default.
    """

    def __init__(
        self,
        loss_weight: float = 10.0,
        feat_stride: int = 8,
        loss_name: str = "loss_at",
    ) -> None:
        super().__init__(loss_weight, feat_stride, loss_name)

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
        target = local_attention_target(local_logits, labels, num_views)
        map_size = tuple(local_logits.shape[2:])
        return self.weighted_mse(global_logits, boxes, num_views, map_size, target)

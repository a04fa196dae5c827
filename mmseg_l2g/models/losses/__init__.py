"""L2G transfer losses."""

from .attention_transfer_loss import AttentionTransferLoss
from .shape_transfer_loss import ShapeTransferLoss

__all__ = ["AttentionTransferLoss", "ShapeTransferLoss"]

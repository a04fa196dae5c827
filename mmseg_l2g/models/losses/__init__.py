"""L2G transfer losses and the classification loss."""

from .attention_transfer_loss import AttentionTransferLoss
from .multilabel_soft_margin_loss import MultiLabelSoftMarginLoss
from .shape_transfer_loss import ShapeTransferLoss

__all__ = ["AttentionTransferLoss", "MultiLabelSoftMarginLoss", "ShapeTransferLoss"]

"""Decode heads for stage 3: DeepLab-v2's ASPP classifier (the paper's segmenter)."""

from .aspp_v2_head import DeepLabV2Head

__all__ = ["DeepLabV2Head"]

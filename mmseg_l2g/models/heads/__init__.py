"""Heads: the CAM head and the pixel correlation module it can use."""

from .cam_head import CAMHead
from .pcm import PixelCorrelationModule

__all__ = ["CAMHead", "PixelCorrelationModule"]

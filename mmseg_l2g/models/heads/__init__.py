"""Heads: the CAM head (and the pixel correlation module it can use)."""

from .cam_head import CAMHead

__all__ = ["CAMHead"]

"""Backbones of the plugin (any mmseg / mmpretrain backbone also plugs in)."""

from .resnet38 import ResNet38

__all__ = ["ResNet38"]

"""Backbones of the plugin (any mmseg / mmpretrain backbone also plugs in)."""

from .plain_cnn import PlainCNN
from .resnet38 import ResNet38

__all__ = ["PlainCNN", "ResNet38"]

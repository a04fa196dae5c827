"""L2G models: classifier, data preprocessor, backbones, heads, losses, decode heads."""

from . import backbones, classifiers, decode_heads, heads, losses  # noqa: F401
from .data_preprocessor import L2GDataPreprocessor

__all__ = ["L2GDataPreprocessor"]

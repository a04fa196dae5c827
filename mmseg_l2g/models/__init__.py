"""L2G models: classifier, data preprocessor, backbones, heads, losses, segmenter parts."""

from . import (  # noqa: F401
    backbones,
    classifiers,
    decode_heads,
    heads,
    losses,
    postprocess,
    segmentors,
    tta,
)
from .data_preprocessor import L2GDataPreprocessor

__all__ = ["L2GDataPreprocessor"]

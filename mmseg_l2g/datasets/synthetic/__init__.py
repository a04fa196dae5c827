"""The built-in synthetic WSSS dataset: generated, deterministic, in VOC layout.

Each object is a large striped body carrying a small saturated mark; the mark
always tells the class, the body's stripes only usually do, so a whole-image
classifier's CAM lights the mark and misses the body (the problem L2G addresses).
"""

from .classes import MAX_CLASSES, class_names, class_palette
from .design import SyntheticDesign
from .generator import GENERATOR_VERSION, make_synthetic, read_marks
from .preview import write_preview
from .scene import SyntheticSample, render_sample

__all__ = [
    "GENERATOR_VERSION",
    "MAX_CLASSES",
    "SyntheticDesign",
    "SyntheticSample",
    "class_names",
    "class_palette",
    "make_synthetic",
    "read_marks",
    "render_sample",
    "write_preview",
]

"""Utilities: MXNet parameter reading, atomic file writes, progress mapping."""

from .atomic_io import (
    atomic_copy,
    atomic_output,
    atomic_save_index_png,
    atomic_torch_save,
    atomic_write_text,
)
from .mxnet_params import load_mxnet_params, read_ndarray_list
from .progress import map_with_progress

__all__ = [
    "atomic_copy",
    "atomic_output",
    "atomic_save_index_png",
    "atomic_torch_save",
    "atomic_write_text",
    "load_mxnet_params",
    "map_with_progress",
    "read_ndarray_list",
]

"""Utilities: MXNet parameter reading, atomic file writes."""

from .atomic_io import (
    atomic_copy,
    atomic_output,
    atomic_save_index_png,
    atomic_torch_save,
    atomic_write_text,
)
from .mxnet_params import load_mxnet_params, read_ndarray_list

__all__ = [
    "atomic_copy",
    "atomic_output",
    "atomic_save_index_png",
    "atomic_torch_save",
    "atomic_write_text",
    "load_mxnet_params",
    "read_ndarray_list",
]

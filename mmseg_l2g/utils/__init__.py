"""Utilities: MXNet parameter reading, progress for terminals and log files."""

from .mxnet_params import load_mxnet_params, read_ndarray_list
from .progress import Progress, map_with_progress

__all__ = ["Progress", "load_mxnet_params", "map_with_progress", "read_ndarray_list"]

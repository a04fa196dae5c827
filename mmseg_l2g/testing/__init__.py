"""Inputs for tests and benchmarks, made by the package's own transforms (as ``mmdet.testing``)."""

from .random_batch import random_l2g_batch

__all__ = ["random_l2g_batch"]

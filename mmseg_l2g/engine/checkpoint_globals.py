"""Allow-list the trusted types MMEngine checkpoints hold, for torch >= 2.6 loading.

torch >= 2.6 loads with ``weights_only=True`` by default, and MMEngine 0.10.7's
``--resume`` then fails on the numpy scalars, arrays and message-hub buffers a
checkpoint's ``meta`` holds ("Unsupported global ..."). Rather than turning the
check off, this registers exactly those types with
``torch.serialization.add_safe_globals``.
"""

import collections
from typing import List

import numpy as np
import torch


def trusted_checkpoint_globals() -> List[object]:
    """The classes and functions MMEngine checkpoints reference."""
    from mmengine.logging.history_buffer import HistoryBuffer

    dtype_classes = [
        type(np.dtype(t))
        for t in (np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_)
    ]
    multiarray = (getattr(np, "_core", None) or np.core).multiarray
    return [
        multiarray.scalar,
        multiarray._reconstruct,
        np.ndarray,
        np.dtype,
        *dtype_classes,
        HistoryBuffer,
        collections.OrderedDict,
    ]


def register_checkpoint_globals() -> None:
    """Registers the trusted types once (idempotent)."""
    if hasattr(torch.serialization, "add_safe_globals"):
        torch.serialization.add_safe_globals(trusted_checkpoint_globals())

"""Allow-list the trusted types MMEngine checkpoints hold, for torch >= 2.6 loading.

torch >= 2.6 loads with ``weights_only=True`` by default, and MMEngine 0.10.7's
``--resume`` then fails on the numpy scalars, arrays and message-hub buffers a
checkpoint's ``meta`` holds ("Unsupported global ..."). Rather than turning the
check off, this registers exactly those types with
``torch.serialization.add_safe_globals``.

A message hub's ``HistoryBuffer`` pickles its statistics methods as
``getattr(HistoryBuffer, 'mean')``. The builtin ``getattr`` itself is not
allowed (it would open weights-only loading to any attribute chain): the
global ``builtins.getattr`` is mapped to :func:`history_buffer_getattr`, which
returns those methods and refuses everything else.
"""

import collections
import pickle
from typing import Any, List

import numpy as np
import torch


def history_buffer_getattr(owner: Any, name: str) -> Any:
    """``getattr`` for weights-only unpickling: ``HistoryBuffer`` statistics methods only.

    Args:
        owner: the object whose attribute the pickle asks for.
        name: the attribute name.

    Returns:
        ``getattr(owner, name)`` when ``owner`` is ``HistoryBuffer`` and
        ``name`` one of its statistics methods.

    Raises:
        pickle.UnpicklingError: any other attribute.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    allowed = {"min", "max", "current", "mean"} | set(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(owner, name)
    raise pickle.UnpicklingError(f"refused getattr({owner!r}, {name!r}) while loading weights")


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
        (history_buffer_getattr, "builtins.getattr"),
    ]


def register_checkpoint_globals() -> None:
    """Registers the trusted types once (idempotent)."""
    if hasattr(torch.serialization, "add_safe_globals"):
        torch.serialization.add_safe_globals(trusted_checkpoint_globals())

"""Setting the view sizes of an L2G training or test pipeline config."""

from typing import Iterable, MutableMapping


def set_view_sizes(pipeline: Iterable[MutableMapping], global_size: int, crop_size: int) -> None:
    """Makes a pipeline config's global views ``global_size`` and local views ``crop_size``.

    Changes, in place: ``ResizeWithSaliency`` (short side to ``global_size``,
    the long side capped at 8x, with ``keep_ratio``; squashed to a square
    without), ``RandomCrop`` and ``PadWithSaliency`` (a ``global_size``
    square) and ``LocalCropTransform`` (``crop_size``); other steps stay.

    Args:
        pipeline: the transform config dicts, e.g. ``cfg.train_dataloader.dataset.pipeline``.
        global_size: the global view's side.
        crop_size: the local views' side.
    """
    square = (global_size, global_size)
    for step in pipeline:
        kind = step["type"]
        if kind == "ResizeWithSaliency":
            long_side = 8 * global_size if step.get("keep_ratio", False) else global_size
            step["scale"] = (long_side, global_size)
        elif kind == "RandomCrop":
            step["crop_size"] = square
        elif kind == "PadWithSaliency":
            step["size"] = square
        elif kind == "LocalCropTransform":
            step["crop_size"] = crop_size

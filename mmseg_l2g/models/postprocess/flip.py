"""Undoing the test pipeline's flip (mmcv's ``RandomFlip`` directions) on maps and images."""

from typing import Optional

import torch

# The dimensions of a (..., H, W) tensor each direction mirrors.
FLIP_DIMS = {"horizontal": (-1,), "vertical": (-2,), "diagonal": (-2, -1)}


def undo_flip(maps: torch.Tensor, direction: Optional[str]) -> torch.Tensor:
    """(..., H, W) maps flipped back along ``direction``; ``None``: unchanged.

    Raises:
        ValueError: a direction mmcv's ``RandomFlip`` does not have.
    """
    if direction is None:
        return maps
    if direction not in FLIP_DIMS:
        raise ValueError(f"flip direction must be one of {sorted(FLIP_DIMS)}, got {direction!r}")
    return maps.flip(FLIP_DIMS[direction])


def flip_direction(metainfo: dict) -> Optional[str]:
    """The direction a sample's pipeline flipped it in (``None``: not flipped)."""
    if not metainfo.get("flip", False):
        return None
    return metainfo.get("flip_direction") or "horizontal"

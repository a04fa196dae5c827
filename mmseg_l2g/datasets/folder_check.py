"""Checks a VOC-layout folder in seconds, before any training reads it.

What the three stages will need of one's own data, listed at once rather than
met one at a time minutes into a run: split lists that exist and are not empty,
every image readable and 8-bit, every mask present, of its image's size and
holding class indices only, and the saliency maps present and sized for every
image (or no saliency folder at all).
"""

from __future__ import annotations

import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from .label_io import read_index_mask, read_split_ids

IGNORE = 255
EIGHT_BIT_MODES = ("1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "YCbCr")


def _image_size(path: str, what: str, problems: List[str]) -> Optional[Tuple[int, int]]:
    """(width, height) of a readable 8-bit image, else None with the problem recorded."""
    if not osp.isfile(path):
        problems.append(f"{path}: {what} missing")
        return None
    try:
        with Image.open(path) as image:
            image.load()
            mode, size = image.mode, image.size
    except OSError as exc:
        problems.append(f"{path}: {what} unreadable ({exc})")
        return None
    if mode not in EIGHT_BIT_MODES:
        problems.append(f"{path}: {what} has image mode {mode!r}; expected an 8-bit image")
        return None
    return size


def _check_mask(path: str, size: Tuple[int, int], num_classes: int, problems: List[str]) -> None:
    try:
        mask = read_index_mask(path)
    except (OSError, ValueError) as exc:  # FileNotFoundError is an OSError
        problems.append(str(exc) if path in str(exc) else f"{path}: {exc}")
        return
    if mask.shape != (size[1], size[0]):
        problems.append(
            f"{path}: mask of {mask.shape[1]}x{mask.shape[0]}, its image is {size[0]}x{size[1]}"
        )
        return
    values = np.unique(mask)
    bad = values[(values > num_classes) & (values != IGNORE)]
    if bad.size:
        problems.append(
            f"{path}: class indices {bad.tolist()} out of range (0 = background, 1..{num_classes} "
            f"= the classes, {IGNORE} = ignored)"
        )


def check_voc_folder(
    data_root: str,
    num_classes: int,
    saliency_dir: Optional[str] = "Saliency",
    splits: Sequence[str] = ("train", "val"),
) -> List[str]:
    """Every problem the three stages would meet in a VOC-layout folder, one line each.

    Args:
        data_root: the folder (``JPEGImages/``, ``SegmentationClass/``,
            ``ImageSets/Segmentation/<split>.txt``, optionally a saliency folder).
        num_classes: foreground classes (mask values 1..C; 0 background, 255 ignored).
        saliency_dir: the saliency folder relative to ``data_root``; its absence is not
            a problem (the caller decides what runs without it), a partial one is.
        splits: the split lists to read.

    Returns:
        The problems, in folder order (empty: the folder is fit).
    """
    problems: List[str] = []
    saliency = osp.join(data_root, saliency_dir) if saliency_dir else None
    has_saliency = saliency is not None and osp.isdir(saliency)
    for split in splits:
        list_path = osp.join(data_root, "ImageSets", "Segmentation", f"{split}.txt")
        try:
            ids = read_split_ids(list_path)
        except FileNotFoundError:
            problems.append(f"{list_path}: the {split} split list is missing")
            continue
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if not ids:
            problems.append(f"{list_path}: the {split} split is empty")
        for img_id in ids:
            size = _image_size(
                osp.join(data_root, "JPEGImages", f"{img_id}.jpg"), "image", problems
            )
            if size is None:
                continue
            mask = osp.join(data_root, "SegmentationClass", f"{img_id}.png")
            _check_mask(mask, size, num_classes, problems)
            if has_saliency:
                sal_path = osp.join(saliency, f"{img_id}.png")
                sal_size = _image_size(sal_path, "saliency map", problems)
                if sal_size is not None and sal_size != size:
                    problems.append(
                        f"{sal_path}: saliency map of {sal_size[0]}x{sal_size[1]}, its image "
                        f"is {size[0]}x{size[1]}"
                    )
    return problems

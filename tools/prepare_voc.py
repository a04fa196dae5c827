"""Prepares PASCAL VOC 2012 + SBD for L2G: masks, the train_aug split, labels, saliency.

Inputs: ``VOCdevkit/VOC2012`` (``JPEGImages``, ``SegmentationClass``,
``ImageSets/Segmentation/{train,val}.txt``) and SBD's ``benchmark_RELEASE``
(``dataset/cls/*.mat``, ``dataset/{train,val}.txt``).

Outputs, under ``--voc-root``:

- ``SegmentationClassAug/<id>.png``: palette PNGs of class indices (0
  background, 1..20, 255 ignore) for every train_aug and val image; VOC's own
  ``SegmentationClass`` masks are copied where they exist (they carry the
  255 object boundaries), SBD's ``GTcls.Segmentation`` is used elsewhere;
- ``ImageSets/Segmentation/train_aug.txt``: (SBD train + SBD val + VOC train)
  minus VOC val, 10,582 images for the full datasets;
- ``ImageSets/Segmentation/{train_aug,val}_cls.txt``: image-level labels
  derived from the masks, ``<id> <cls> ...`` with 0-based foreground indices
  (aeroplane = 0), the release's ``train_cls.txt`` format; an image whose
  mask is empty or missing is listed with no class (the dataset drops it);
- ``saliency_maps``: with ``--saliency-dir``, a symlink to that folder, and
  how many train_aug images have a saliency map.

Resumable: existing masks are kept (outputs are written atomically, so an
existing file is complete); ``--overwrite`` redoes them. Problems (missing
images or masks, empty masks, unreadable files, size mismatches) are counted,
printed and written to ``prepare_voc_problems.txt``.

Usage::

    python tools/prepare_voc.py --voc-root data/VOCdevkit/VOC2012 \
        --sbd-root data/benchmark_RELEASE [--saliency-dir data/saliency] [--workers 8]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from PIL import Image
from scipy.io import loadmat

from mmseg_l2g.datasets.label_io import (
    labels_from_mask,
    read_index_mask,
    read_split_ids,
    write_label_list,
)
from mmseg_l2g.datasets.wsss_dataset import bit_colormap
from mmseg_l2g.io import atomic_copy, atomic_write_text, save_palette_png
from mmseg_l2g.utils.problem_report import report_problems
from mmseg_l2g.utils.progress import map_with_progress

NUM_CLASSES = 20
TRAIN_AUG_SIZE = 10582
PALETTE = bit_colormap(256)


class MaskTask(NamedTuple):
    """One mask to produce: its id, sources and output."""

    img_id: str
    voc_png: Optional[str]
    sbd_mat: Optional[str]
    image: str
    out_png: str
    overwrite: bool


class MaskResult(NamedTuple):
    """What happened to one mask: source used, label, problem (or None)."""

    img_id: str
    source: str  # 'voc', 'sbd', 'kept' or 'none'
    label: Optional[np.ndarray]
    problem: Optional[str]


def read_sbd_mask(path: str) -> np.ndarray:
    """Reads SBD's class mask: ``GTcls.Segmentation`` of a ``cls/*.mat`` file.

    Args:
        path: the ``.mat`` file (MATLAB v5, struct ``GTcls``).

    Returns:
        (H, W) uint8 class indices.

    Raises:
        ValueError: the file cannot be read or has no 2-D ``GTcls.Segmentation``.
    """
    try:
        content = loadmat(path)
    except Exception as exc:  # scipy raises several types for a bad file
        raise ValueError(f"{path}: cannot read as a MATLAB file ({exc})") from exc
    struct = content.get("GTcls")
    if struct is None or struct.dtype.names is None or "Segmentation" not in struct.dtype.names:
        raise ValueError(f"{path}: no struct GTcls with a Segmentation field")
    mask = np.asarray(struct["Segmentation"].reshape(-1)[0])
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"{path}: GTcls.Segmentation is not a 2-D integer map ({mask.dtype})")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"{path}: GTcls.Segmentation values outside 0..255")
    return mask.astype(np.uint8)


def train_aug_ids(
    voc_train: Sequence[str],
    voc_val: Sequence[str],
    sbd_train: Sequence[str],
    sbd_val: Sequence[str],
) -> List[str]:
    """(SBD train + SBD val + VOC train) minus VOC val, sorted."""
    return sorted((set(sbd_train) | set(sbd_val) | set(voc_train)) - set(voc_val))


def make_mask(task: MaskTask) -> MaskResult:
    """Produces (or keeps) one mask and derives its label; never raises."""
    try:
        if not os.path.isfile(task.image):
            return MaskResult(task.img_id, "none", None, f"image missing: {task.image}")
        if os.path.isfile(task.out_png) and not task.overwrite:
            mask, source = read_index_mask(task.out_png), "kept"
        elif task.voc_png is not None:
            mask, source = read_index_mask(task.voc_png), "voc"
        elif task.sbd_mat is not None:
            mask, source = read_sbd_mask(task.sbd_mat), "sbd"
        else:
            return MaskResult(task.img_id, "none", None, "mask missing (neither VOC nor SBD)")
        label = labels_from_mask(mask, NUM_CLASSES)
        with Image.open(task.image) as image:
            size = image.size
        if size != (mask.shape[1], mask.shape[0]):
            problem = (
                f"size mismatch: image {size[0]}x{size[1]}, mask {mask.shape[1]}x{mask.shape[0]}"
            )
            return MaskResult(task.img_id, source, None, problem)
        if source == "voc":
            atomic_copy(task.voc_png, task.out_png)
        elif source == "sbd":
            save_palette_png(task.out_png, mask, PALETTE)
        problem = None if label.any() else "empty mask (no foreground class)"
        return MaskResult(task.img_id, source, label, problem)
    except (OSError, ValueError) as exc:
        return MaskResult(task.img_id, "none", None, str(exc))


def wire_saliency(
    voc_root: str, saliency_dir: Optional[str], ids: Sequence[str]
) -> Tuple[str, int]:
    """Links ``<voc_root>/saliency_maps`` to ``saliency_dir`` and counts coverage.

    Args:
        voc_root: the VOC2012 folder.
        saliency_dir: folder of ``<id>.png`` grey saliency maps, or None to
            only count what ``saliency_maps`` already holds.
        ids: the images to count.

    Returns:
        The saliency folder used ('' when there is none) and how many of
        ``ids`` have a map there.

    Raises:
        FileNotFoundError: ``saliency_dir`` does not exist.
        FileExistsError: ``saliency_maps`` exists and is another folder.
    """
    link = os.path.join(voc_root, "saliency_maps")
    if saliency_dir is not None:
        if not os.path.isdir(saliency_dir):
            raise FileNotFoundError(f"saliency folder not found: {saliency_dir}")
        if os.path.lexists(link):
            if not (os.path.exists(link) and os.path.samefile(link, saliency_dir)):
                raise FileExistsError(
                    f"{link} exists and is not {saliency_dir}; move it away or pass that folder"
                )
        else:
            os.symlink(os.path.abspath(saliency_dir), link, target_is_directory=True)
    if not os.path.isdir(link):
        return "", 0
    present = set(os.listdir(link))
    return link, sum(f"{img_id}.png" in present for img_id in ids)


def _find_sbd_dataset(sbd_root: str) -> str:
    """SBD's ``dataset`` folder, given it or ``benchmark_RELEASE`` above it."""
    for candidate in (sbd_root, os.path.join(sbd_root, "dataset")):
        if os.path.isdir(os.path.join(candidate, "cls")):
            return candidate
    raise FileNotFoundError(f"{sbd_root}: no cls/ folder (expected benchmark_RELEASE/dataset)")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voc-root", required=True, help="VOCdevkit/VOC2012")
    parser.add_argument("--sbd-root", required=True, help="benchmark_RELEASE (or its dataset/)")
    parser.add_argument("--saliency-dir", help="folder of <id>.png saliency maps to link")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--overwrite", action="store_true", help="redo existing masks")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the preparation; returns the exit status (1 on missing inputs)."""
    args = parse_args(argv)
    voc_root = args.voc_root
    sets = os.path.join(voc_root, "ImageSets", "Segmentation")
    try:
        sbd = _find_sbd_dataset(args.sbd_root)
        voc_train = read_split_ids(os.path.join(sets, "train.txt"))
        voc_val = read_split_ids(os.path.join(sets, "val.txt"))
        sbd_train = read_split_ids(os.path.join(sbd, "train.txt"))
        sbd_val = read_split_ids(os.path.join(sbd, "val.txt"))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    train_aug = train_aug_ids(voc_train, voc_val, sbd_train, sbd_val)
    print(
        f"VOC train {len(voc_train)}, val {len(voc_val)}; SBD train {len(sbd_train)}, "
        f"val {len(sbd_val)} -> train_aug {len(train_aug)}"
        + (
            ""
            if len(train_aug) == TRAIN_AUG_SIZE
            else f" (the full datasets give {TRAIN_AUG_SIZE})"
        )
    )

    out_dir = os.path.join(voc_root, "SegmentationClassAug")
    tasks = []
    for img_id in sorted(set(train_aug) | set(voc_val)):
        voc_png = os.path.join(voc_root, "SegmentationClass", img_id + ".png")
        sbd_mat = os.path.join(sbd, "cls", img_id + ".mat")
        tasks.append(
            MaskTask(
                img_id,
                voc_png if os.path.isfile(voc_png) else None,
                sbd_mat if os.path.isfile(sbd_mat) else None,
                os.path.join(voc_root, "JPEGImages", img_id + ".jpg"),
                os.path.join(out_dir, img_id + ".png"),
                args.overwrite,
            )
        )
    print(f"writing {len(tasks)} masks to {out_dir}")
    results: Dict[str, MaskResult] = {
        r.img_id: r for r in map_with_progress(make_mask, tasks, workers=args.workers)
    }

    atomic_write_text(os.path.join(sets, "train_aug.txt"), "".join(i + "\n" for i in train_aug))
    empty = np.zeros(NUM_CLASSES, dtype=np.float32)
    for name, ids in (("train_aug_cls.txt", train_aug), ("val_cls.txt", voc_val)):
        labels = [(i, results[i].label if results[i].label is not None else empty) for i in ids]
        write_label_list(os.path.join(sets, name), labels)

    sources = Counter(r.source for r in results.values())
    print(
        f"masks: {sources['voc']} from VOC, {sources['sbd']} from SBD, {sources['kept']} kept, "
        f"{sources['none']} not made"
    )
    for name, ids in (("train_aug", train_aug), ("val", voc_val)):
        labelled = sum(results[i].label is not None and results[i].label.any() for i in ids)
        print(f"{name}: {len(ids)} images, {labelled} with an image-level label")
    try:
        saliency, count = wire_saliency(voc_root, args.saliency_dir, train_aug)
    except (FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if saliency:
        print(f"saliency: {count} of {len(train_aug)} train_aug images have a map in {saliency}")
    else:
        print("saliency: none (pass --saliency-dir to link a folder of <id>.png maps)")

    problems = sorted((r.img_id, r.problem) for r in results.values() if r.problem)
    report_problems(
        problems,
        os.path.join(voc_root, "prepare_voc_problems.txt"),
        kind=lambda p: p.split(":")[0].split(" (")[0],
        shown=20,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

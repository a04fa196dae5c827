"""Prepares MS COCO 2014 for L2G: class-index masks and image-level labels.

Reads ``annotations/instances_{train2014,val2014}.json`` with ``json`` (no
pycocotools) and writes, under ``--out-dir`` (default: ``--coco-root``):

- ``SegmentationClass/<split>/<stem>.png``: palette PNGs of class indices:
  0 background, 1..80 for the 80 categories in category-id order (VOC-style
  indices, the names of ``COCOWSSSDataset``), 255 for crowd regions;
- ``ImageSets/<split>.txt``: every image of the split, in annotation order;
- ``<split>_cls.txt``: image-level labels derived from the masks
  (``<stem> <cls> ...``, 0-based foreground indices, person = 0); an image
  with no class is listed with none (the dataset drops it);
- ``JPEGImages/<split>``: a symlink to the split's image folder
  (``<coco-root>/<split>`` or ``<coco-root>/images/<split>``) when found.

Rasterisation: a polygon covers the pixels whose centre lies inside it
(even-odd rule, several polygons of one object are united); this is the
half-open convention of COCO's own tools (a box polygon from x0 to x1 covers
columns x0..x1-1). RLE masks (crowd regions; uncompressed ``counts`` lists or
compressed strings) are decoded column-major. Instances are painted largest
first, so a small object on a large one stays visible; crowd regions then
mark still-unlabelled pixels 255.

Resumable (existing masks are kept unless ``--overwrite``; writes are atomic);
problems (missing images, empty masks, unusable annotations) are counted,
printed and written to ``prepare_coco_problems_<split>.txt``.

Usage::

    python tools/prepare_coco.py --coco-root data/coco2014 [--workers 8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import Counter, defaultdict
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from mmseg_l2g.datasets.coco_wsss_dataset import COCO_CLASSES
from mmseg_l2g.datasets.label_io import labels_from_mask, read_index_mask, write_label_list
from mmseg_l2g.datasets.wsss_dataset import bit_colormap
from mmseg_l2g.io import IGNORE_INDEX, atomic_write_text, save_palette_png
from mmseg_l2g.utils.progress import map_with_progress

NUM_CLASSES = len(COCO_CLASSES) - 1  # 80
PALETTE = bit_colormap(256)
DEFAULT_SPLITS = ("train2014", "val2014")


# ----------------------------------------------------------------- decoding
def decode_rle_string(counts: Union[str, bytes]) -> List[int]:
    """Decodes COCO's compressed RLE string into run lengths.

    Each run is a little-endian sequence of 5-bit groups, one character each
    (``chr(48 + group)``, bit 0x20 = more groups follow, bit 0x10 of the last
    group = negative); from the fourth run on the value is a difference to
    the run two places before.

    Args:
        counts: the ``counts`` string.

    Returns:
        The run lengths (alternately background and foreground, background first).

    Raises:
        ValueError: a character outside the code or a negative run.
    """
    data = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    runs: List[int] = []
    pos = 0
    while pos < len(data):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(data):
                raise ValueError("compressed RLE ends inside a run")
            group = data[pos] - 48
            if not 0 <= group < 64:
                raise ValueError(f"compressed RLE has an invalid character {chr(data[pos])!r}")
            value |= (group & 0x1F) << shift
            more = bool(group & 0x20)
            pos += 1
            shift += 5
            if not more and group & 0x10:
                value -= 1 << shift  # sign-extend
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            raise ValueError(f"compressed RLE decodes to a negative run ({value})")
        runs.append(value)
    return runs


def decode_rle(segmentation: dict, height: int, width: int) -> np.ndarray:
    """Decodes an RLE segmentation (compressed or not) to an (H, W) bool mask.

    Args:
        segmentation: ``{'counts': list or str, 'size': [h, w]}``.
        height: the image height.
        width: the image width.

    Returns:
        (H, W) bool mask.

    Raises:
        ValueError: the size differs from the image's or the runs do not add
            up to h * w.
    """
    size = segmentation.get("size")
    if size is None or [int(v) for v in size] != [height, width]:
        raise ValueError(f"RLE size {size} differs from the image's [{height}, {width}]")
    counts = segmentation.get("counts")
    runs = (
        decode_rle_string(counts) if isinstance(counts, (str, bytes)) else [int(c) for c in counts]
    )
    if any(r < 0 for r in runs) or sum(runs) != height * width:
        raise ValueError(f"RLE runs sum to {sum(runs)}, expected {height * width}")
    values = np.zeros(len(runs), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape(width, height).T  # column-major


def rasterize_polygon(polygon: Sequence[float], height: int, width: int) -> np.ndarray:
    """Pixels whose centre lies inside a polygon (even-odd rule).

    Args:
        polygon: ``[x1, y1, x2, y2, ...]`` in pixel coordinates (pixel (c, r)
            spans ``[c, c+1) x [r, r+1)``).
        height: mask height.
        width: mask width.

    Returns:
        (H, W) bool mask.
    """
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    mask = np.zeros((height, width + 1), dtype=np.int32)
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    rows_list, xs_list = [], []
    for ax, ay, bx, by in zip(x0, y0, x1, y1):
        if ay == by:
            continue  # horizontal edges cross no row centre
        low, high = min(ay, by), max(ay, by)
        first = max(math.ceil(low - 0.5), 0)
        last = min(math.ceil(high - 0.5) - 1, height - 1)  # centres in [low, high)
        if first > last:
            continue
        rows = np.arange(first, last + 1)
        centres = rows + 0.5
        rows_list.append(rows)
        xs_list.append(ax + (centres - ay) * (bx - ax) / (by - ay))
    if not rows_list:
        return np.zeros((height, width), dtype=bool)
    rows = np.concatenate(rows_list)
    xs = np.concatenate(xs_list)
    order = np.lexsort((xs, rows))
    rows, xs = rows[order], xs[order]
    # Crossings come in pairs per row (even-odd): fill [enter, leave).
    starts = np.clip(np.ceil(xs[0::2] - 0.5), 0, width).astype(np.int64)
    ends = np.clip(np.ceil(xs[1::2] - 0.5), 0, width).astype(np.int64)
    pair_rows = rows[0::2]
    np.add.at(mask, (pair_rows, starts), 1)
    np.add.at(mask, (pair_rows, ends), -1)
    return np.cumsum(mask, axis=1)[:, :width] > 0


def instance_mask(segmentation: Union[list, dict], height: int, width: int) -> np.ndarray:
    """The (H, W) bool mask of one annotation's ``segmentation``.

    Raises:
        ValueError: an RLE that does not fit, or no usable polygon.
    """
    if isinstance(segmentation, dict):
        return decode_rle(segmentation, height, width)
    polygons = [p for p in segmentation if len(p) >= 6 and len(p) % 2 == 0]
    if not polygons:
        raise ValueError("no polygon with 3 or more points")
    mask = np.zeros((height, width), dtype=bool)
    for polygon in polygons:
        mask |= rasterize_polygon(polygon, height, width)
    return mask


# ------------------------------------------------------------------- masks
class ImageTask(NamedTuple):
    """One image's mask to produce."""

    stem: str
    height: int
    width: int
    annotations: List[Tuple[int, int, float, Union[list, dict]]]  # class, crowd, area, seg
    image: Optional[str]
    out_png: str
    overwrite: bool


class ImageResult(NamedTuple):
    """The outcome for one image: label (None if not made) and problems."""

    stem: str
    made: str  # 'new', 'kept' or 'none'
    label: Optional[np.ndarray]
    problems: List[str]


def class_mask(task: ImageTask) -> Tuple[np.ndarray, List[str]]:
    """Paints an image's instances (largest first) and crowd regions (255).

    Returns:
        The (H, W) uint8 mask and the problems met (unusable annotations).
    """
    mask = np.zeros((task.height, task.width), dtype=np.uint8)
    problems = []
    crowd = np.zeros_like(mask, dtype=bool)
    things = sorted((a for a in task.annotations if not a[1]), key=lambda a: -a[2])
    for class_index, _, _, segmentation in things:
        try:
            pixels = instance_mask(segmentation, task.height, task.width)
        except (ValueError, TypeError) as exc:
            problems.append(f"annotation of class {class_index} unusable: {exc}")
            continue
        if not pixels.any():
            problems.append(f"annotation of class {class_index} covers no pixel")
        mask[pixels] = class_index
    for class_index, _, _, segmentation in (a for a in task.annotations if a[1]):
        try:
            crowd |= instance_mask(segmentation, task.height, task.width)
        except (ValueError, TypeError) as exc:
            problems.append(f"crowd annotation of class {class_index} unusable: {exc}")
    mask[crowd & (mask == 0)] = IGNORE_INDEX
    return mask, problems


def make_image_mask(task: ImageTask) -> ImageResult:
    """Produces (or keeps) one mask and derives its label; never raises."""
    problems = [] if task.image else ["image missing"]
    try:
        if os.path.isfile(task.out_png) and not task.overwrite:
            mask, made = read_index_mask(task.out_png), "kept"
        else:
            mask, mask_problems = class_mask(task)
            problems += mask_problems
            save_palette_png(task.out_png, mask, PALETTE)
            made = "new"
        label = labels_from_mask(mask, NUM_CLASSES)
    except (OSError, ValueError) as exc:
        return ImageResult(task.stem, "none", None, problems + [str(exc)])
    if not task.annotations:
        problems.append("no annotations")
    elif not label.any():
        problems.append("empty mask (no class pixel)")
    return ImageResult(task.stem, made, label, problems)


def category_indices(categories: Sequence[dict], source: str) -> Dict[int, int]:
    """COCO category id -> mask value 1..C, in category-id order.

    With all 80 categories, their names must be ``COCOWSSSDataset``'s.

    Raises:
        ValueError: duplicate ids, more than 80 categories, or 80 whose names
            differ.
    """
    ordered = sorted(categories, key=lambda c: int(c["id"]))
    ids = [int(c["id"]) for c in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{source}: duplicate category ids")
    if len(ids) > NUM_CLASSES:
        raise ValueError(f"{source}: {len(ids)} categories, COCO has {NUM_CLASSES}")
    if len(ordered) == NUM_CLASSES:
        names = [c["name"] for c in ordered]
        if tuple(names) != tuple(COCO_CLASSES[1:]):
            bad = [(i + 1, n) for i, n in enumerate(names) if n != COCO_CLASSES[i + 1]]
            raise ValueError(f"{source}: category names differ from COCO's 80 classes: {bad[:5]}")
    return {cat_id: index + 1 for index, cat_id in enumerate(ids)}


def _image_folder(coco_root: str, split: str) -> Optional[str]:
    """The split's image folder, if found."""
    for candidate in (os.path.join(coco_root, split), os.path.join(coco_root, "images", split)):
        if os.path.isdir(candidate):
            return candidate
    return None


def _link_images(out_dir: str, split: str, folder: Optional[str]) -> str:
    """Links ``JPEGImages/<split>`` to the image folder; returns a status line."""
    link = os.path.join(out_dir, "JPEGImages", split)
    if folder is None:
        return "images: folder not found (expected <coco-root>/<split> or images/<split>)"
    if os.path.lexists(link):
        return f"images: {link} already exists (left as it is)"
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(os.path.abspath(folder), link, target_is_directory=True)
    return f"images: linked {link} -> {folder}"


def prepare_split(
    coco_root: str, out_dir: str, split: str, workers: int, overwrite: bool
) -> Tuple[int, List[Tuple[str, str]]]:
    """Prepares one split; returns the number of images and the problems.

    Raises:
        FileNotFoundError: no annotation file.
        ValueError: an annotation file that is not COCO instances JSON.
    """
    ann_path = os.path.join(coco_root, "annotations", f"instances_{split}.json")
    if not os.path.isfile(ann_path):
        raise FileNotFoundError(f"annotation file not found: {ann_path}")
    print(f"[{split}] reading {ann_path}")
    try:
        with open(ann_path, encoding="utf-8") as f:
            content = json.load(f)
        images, annotations = content["images"], content["annotations"]
        cat_index = category_indices(content["categories"], ann_path)
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{ann_path}: not COCO instances JSON ({exc!r})") from exc

    problems: List[Tuple[str, str]] = []
    per_image = defaultdict(list)
    for ann in annotations:
        if ann.get("category_id") not in cat_index:
            problems.append(
                (str(ann.get("image_id")), f"unknown category {ann.get('category_id')}")
            )
            continue
        per_image[ann["image_id"]].append(
            (
                cat_index[ann["category_id"]],
                int(ann.get("iscrowd", 0)),
                float(ann.get("area", 0.0)),
                ann.get("segmentation", []),
            )
        )
    folder = _image_folder(coco_root, split)
    present = set(os.listdir(folder)) if folder else set()
    tasks = []
    for info in images:
        stem = os.path.splitext(info["file_name"])[0]
        tasks.append(
            ImageTask(
                stem,
                int(info["height"]),
                int(info["width"]),
                per_image.get(info["id"], []),
                os.path.join(folder, info["file_name"]) if info["file_name"] in present else None,
                os.path.join(out_dir, "SegmentationClass", split, stem + ".png"),
                overwrite,
            )
        )
    print(
        f"[{split}] {len(tasks)} images, {len(annotations)} annotations, {len(cat_index)} classes"
    )
    results = map_with_progress(make_image_mask, tasks, workers=workers)

    stems = [r.stem for r in results]
    atomic_write_text(
        os.path.join(out_dir, "ImageSets", f"{split}.txt"), "".join(s + "\n" for s in stems)
    )
    empty = np.zeros(NUM_CLASSES, dtype=np.float32)
    write_label_list(
        os.path.join(out_dir, f"{split}_cls.txt"),
        [(r.stem, r.label if r.label is not None else empty) for r in results],
    )
    made = Counter(r.made for r in results)
    labelled = sum(r.label is not None and r.label.any() for r in results)
    print(
        f"[{split}] masks: {made['new']} written, {made['kept']} kept, {made['none']} not made; "
        f"{labelled} of {len(results)} images with an image-level label"
    )
    print(f"[{split}] " + _link_images(out_dir, split, folder))
    for result in results:
        problems.extend((result.stem, p) for p in result.problems)
    return len(results), problems


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coco-root", required=True, help="folder holding annotations/")
    parser.add_argument("--out-dir", help="output folder (default: --coco-root)")
    parser.add_argument("--splits", nargs="+", default=list(DEFAULT_SPLITS))
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--overwrite", action="store_true", help="redo existing masks")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the preparation; returns the exit status (1 on unusable inputs)."""
    args = parse_args(argv)
    out_dir = args.out_dir or args.coco_root
    for split in args.splits:
        try:
            _, problems = prepare_split(
                args.coco_root, out_dir, split, args.workers, args.overwrite
            )
        except (FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        report = os.path.join(out_dir, f"prepare_coco_problems_{split}.txt")
        atomic_write_text(report, "".join(f"{s}\t{p}\n" for s, p in problems))
        kinds = Counter(p.split(":")[0].split(" of class")[0] for _, p in problems)
        print(
            f"[{split}] problems: {len(problems)}"
            + "".join(f"; {k}: {n}" for k, n in sorted(kinds.items()))
        )
        for stem, problem in problems[:10]:
            print(f"  {stem}: {problem}")
        if problems:
            print(f"  (all listed in {report})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prepares MS COCO 2014 for L2G: class-index masks and image-level labels.

Reads ``annotations/instances_{train2014,val2014}.json`` with ``json`` and writes,
under ``--out-dir`` (default: ``--coco-root``):

- ``SegmentationClass/<split>/<stem>.png``: palette PNGs of class indices:
  0 background, 1..80 for COCO's 80 categories in COCO's category-id order
  (VOC-style indices, the names of ``COCOWSSSDataset``), 255 for crowd
  regions. A category is identified by its name (its id where it has no
  name): a file holding a subset of the 80, or numbering them otherwise,
  still gives dog the value of dog;
- ``ImageSets/<split>.txt``: every image of the split, in annotation order;
- ``<split>_cls.txt``: image-level labels derived from the masks
  (``<stem> <cls> ...``, 0-based foreground indices, person = 0); an image
  with no class is listed with none (the dataset drops it);
- ``JPEGImages/<split>``: a symlink to the split's image folder
  (``<coco-root>/<split>`` or ``<coco-root>/images/<split>``) when found.

Rasterisation: with ``pycocotools`` importable (``pip install pycocotools``)
the masks are the community's, made by ``pycocotools.mask``; without it, a
polygon covers the pixels whose centre lies inside it (even-odd rule, several
polygons of one object are united; a box polygon from x0 to x1 covers
columns x0..x1-1) and RLE masks (crowd regions; uncompressed ``counts`` lists
or compressed strings) are decoded column-major by this file's own code. Both
give the same RLE masks; on polygons pycocotools' rasteriser differs on a
fraction of the outline pixels (tests/test_tools/test_prepare_coco.py bounds
it). Instances are painted largest first, so a small object on a large one
stays visible; crowd regions then mark still-unlabelled pixels 255.

Every annotation file is checked before anything is written: an entry that
cannot be used safely (a ``file_name`` with a folder part, ``..`` or an
absolute path, which would write outside ``--out-dir``; a missing or
non-positive ``height`` / ``width``; a coordinate that is not a finite
number; a malformed RLE) stops the run with an error naming the file and the
entry, and nothing is written.

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
from mmseg_l2g.utils.problem_report import report_problems
from mmseg_l2g.utils.progress import map_with_progress

try:  # the community's rasteriser, when installed
    from pycocotools import mask as coco_mask
except ImportError:  # pragma: no cover - depends on the environment
    coco_mask = None

NUM_CLASSES = len(COCO_CLASSES) - 1  # 80
PALETTE = bit_colormap(256)
DEFAULT_SPLITS = ("train2014", "val2014")
# COCO's 80 category ids (1..90 without 10 unused ids), in the order of COCO_CLASSES[1:].
COCO_CATEGORY_IDS = tuple(
    i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)
)
MAX_PIXELS = 1 << 28  # an image larger than this (268 M pixels) is refused, not allocated
MAX_WORKERS = 256


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


def checked_rle_runs(segmentation: dict, height: int, width: int) -> List[int]:
    """The run lengths of an RLE, checked against the image.

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
    runs = checked_rle_runs(segmentation, height, width)
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


def instance_mask(
    segmentation: Union[list, dict], height: int, width: int, use_pycocotools: bool = True
) -> np.ndarray:
    """The (H, W) bool mask of one annotation's ``segmentation``.

    Args:
        segmentation: polygons ``[[x1, y1, ...], ...]`` or an RLE dict.
        height: the image height.
        width: the image width.
        use_pycocotools: rasterise with ``pycocotools.mask`` when it is
            importable (the community's masks); False uses this file's code.

    Raises:
        ValueError: an RLE that does not fit, or no usable polygon.
    """
    with_coco = use_pycocotools and coco_mask is not None
    if isinstance(segmentation, dict):
        if not with_coco:
            return decode_rle(segmentation, height, width)
        return _coco_decode_rle(segmentation, height, width)
    polygons = [p for p in segmentation if len(p) >= 6 and len(p) % 2 == 0]
    if not polygons:
        raise ValueError("no polygon with 3 or more points")
    if with_coco and all(_within_reach(p, height, width) for p in polygons):
        rles = coco_mask.frPyObjects([[float(v) for v in p] for p in polygons], height, width)
        return coco_mask.decode(coco_mask.merge(rles)).astype(bool)
    mask = np.zeros((height, width), dtype=bool)
    for polygon in polygons:
        mask |= rasterize_polygon(polygon, height, width)
    return mask


def _coco_decode_rle(segmentation: dict, height: int, width: int) -> np.ndarray:
    """Decodes an RLE with pycocotools after :func:`checked_rle_runs`'s checks."""
    runs = checked_rle_runs(segmentation, height, width)
    rle = coco_mask.frPyObjects(dict(size=[height, width], counts=runs), height, width)
    return coco_mask.decode(rle).astype(bool)


def _within_reach(polygon: Sequence[float], height: int, width: int) -> bool:
    """True if every vertex lies within one image size of the image.

    pycocotools scales coordinates into C ``int`` and allocates one point per
    pixel of outline: a far-away vertex (finite, e.g. 1e9) overflows or
    allocates gigabytes; such polygons go to this file's rasteriser.
    """
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    xs, ys = points[:, 0], points[:, 1]
    return bool(
        (xs >= -width).all() and (xs <= 2 * width).all()
        and (ys >= -height).all() and (ys <= 2 * height).all()
    )  # fmt: skip


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


def _class_key(name: str) -> str:
    """A category name compared case- and separator-insensitively."""
    return " ".join(name.replace("_", " ").lower().split())


_NAME_TO_INDEX = {_class_key(n): i for i, n in enumerate(COCO_CLASSES) if i}
_ID_TO_INDEX = {cat_id: i + 1 for i, cat_id in enumerate(COCO_CATEGORY_IDS)}


def category_indices(categories: Sequence[dict], source: str) -> Dict[int, int]:
    """The file's category id -> COCO mask value 1..80 (COCO's id order).

    A category is identified by its name (``dog`` is 17 whatever its id or
    its place in the file); a category without a name by its COCO id. So a
    file with a subset of the 80, in any order or numbering, maps each to its
    own COCO class.

    Raises:
        ValueError: an entry that is not a category, an unknown name (or, with
            no name, an id that is not COCO's), duplicate ids, or two entries
            naming one class; the file and the entry are named.
    """
    if not isinstance(categories, list):
        raise ValueError(f"{source}: 'categories' is not a list")
    mapping: Dict[int, int] = {}
    entry_of_index: Dict[int, str] = {}
    for position, category in enumerate(categories):
        cat_id = category.get("id") if isinstance(category, dict) else None
        entry = f"{source}: categories[{position}] (id {cat_id!r})"
        if not _is_int(cat_id):
            raise ValueError(f"{entry}: no integer 'id'")
        name = category.get("name")
        if isinstance(name, str):
            index = _NAME_TO_INDEX.get(_class_key(name))
            if index is None:
                raise ValueError(f"{entry}: {name!r} is not one of COCO's 80 category names")
        elif name is None and cat_id in _ID_TO_INDEX:
            index = _ID_TO_INDEX[cat_id]
        else:
            raise ValueError(f"{entry}: no category name and not a COCO category id")
        if cat_id in mapping:
            raise ValueError(f"{entry}: duplicate category id {cat_id}")
        if index in entry_of_index:
            raise ValueError(
                f"{entry}: class {COCO_CLASSES[index]!r} already given by {entry_of_index[index]}"
            )
        mapping[cat_id] = index
        entry_of_index[index] = f"categories[{position}]"
    return mapping


# -------------------------------------------------------------- validation
def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def plain_file_name(file_name: object) -> str:
    """The image's ``file_name`` if it is a plain file name, else a ValueError.

    An output path is built from it (``SegmentationClass/<split>/<stem>.png``);
    a folder part, ``..``, an absolute path or a NUL would put that file
    outside ``--out-dir``.
    """
    if not isinstance(file_name, str) or not file_name:
        raise ValueError(f"file_name {file_name!r} is not a non-empty string")
    stem = os.path.splitext(file_name)[0]
    if (
        "/" in file_name
        or "\\" in file_name
        or "\0" in file_name
        or os.path.isabs(file_name)
        or stem in ("", ".", "..")
    ):
        raise ValueError(
            f"file_name {file_name!r} is not a plain file name (a folder part, '..' or an "
            "absolute path would write outside --out-dir)"
        )
    return file_name


def check_image(info: object) -> Tuple[str, int, int]:
    """An image entry's file name, height and width, checked.

    Raises:
        ValueError: not a dict, an unsafe ``file_name``, or a missing,
            non-integer, non-positive or too large ``height`` / ``width``.
    """
    if not isinstance(info, dict):
        raise ValueError("not a JSON object")
    file_name = plain_file_name(info.get("file_name"))
    height, width = info.get("height"), info.get("width")
    for key, value in (("height", height), ("width", width)):
        if value is None:
            raise ValueError(f"no '{key}'")
        if not _is_int(value) or value < 1:
            raise ValueError(f"'{key}' is {value!r}, not a positive integer")
    if height * width > MAX_PIXELS:
        raise ValueError(f"{width}x{height} pixels, more than {MAX_PIXELS}")
    return file_name, height, width


def check_segmentation(segmentation: object) -> None:
    """Refuses a ``segmentation`` that is neither polygons of finite numbers nor an RLE.

    Degenerate but well-formed shapes (fewer than 3 points) pass: they are
    recorded as problems of their image.
    """
    if isinstance(segmentation, list):
        for k, polygon in enumerate(segmentation):
            if not isinstance(polygon, list):
                raise ValueError(f"polygon {k} is not a list of coordinates")
            bad = next((v for v in polygon if not _is_finite_number(v)), None)
            if bad is not None or any(not _is_finite_number(v) for v in polygon):
                raise ValueError(f"polygon {k} has the coordinate {bad!r}, not a finite number")
        return
    if isinstance(segmentation, dict):
        size, counts = segmentation.get("size"), segmentation.get("counts")
        if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) for v in size)):
            raise ValueError(f"RLE 'size' {size!r} is not [height, width]")
        if isinstance(counts, list):
            if not all(_is_int(c) and c >= 0 for c in counts):
                raise ValueError("RLE 'counts' holds a value that is not a non-negative integer")
        elif not isinstance(counts, str):
            raise ValueError("RLE 'counts' is neither a list nor a string")
        return
    raise ValueError(f"'segmentation' is a {type(segmentation).__name__}, not polygons or RLE")


def check_annotation(ann: object) -> None:
    """Refuses an annotation entry that cannot be used safely (see :func:`check_segmentation`)."""
    if not isinstance(ann, dict):
        raise ValueError("not a JSON object")
    if "image_id" not in ann or "category_id" not in ann:
        raise ValueError("no 'image_id' or 'category_id'")
    if ann.get("iscrowd", 0) not in (0, 1):
        raise ValueError(f"'iscrowd' is {ann.get('iscrowd')!r}, not 0 or 1")
    if not _is_finite_number(ann.get("area", 0.0)):
        raise ValueError(f"'area' is {ann.get('area')!r}, not a finite number")
    check_segmentation(ann.get("segmentation", []))


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


class SplitPlan(NamedTuple):
    """A split's checked annotations: what to write, before anything is written."""

    split: str
    ann_path: str
    folder: Optional[str]  # the split's image folder, if found
    tasks: List[ImageTask]
    num_annotations: int
    num_classes: int
    problems: List[Tuple[str, str]]


def load_split(coco_root: str, out_dir: str, split: str, overwrite: bool) -> SplitPlan:
    """Reads and checks one split's annotation file; writes nothing.

    Raises:
        FileNotFoundError: no annotation file.
        ValueError: not COCO instances JSON, or an entry that cannot be used
            safely (see :func:`check_image`, :func:`check_annotation`); the
            message names the file and the entry.
    """
    ann_path = os.path.join(coco_root, "annotations", f"instances_{split}.json")
    if not os.path.isfile(ann_path):
        raise FileNotFoundError(f"annotation file not found: {ann_path}")
    print(f"[{split}] reading {ann_path}")
    try:
        with open(ann_path, encoding="utf-8") as f:
            content = json.load(f)
        images, annotations = content["images"], content["annotations"]
        categories = content["categories"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{ann_path}: not COCO instances JSON ({exc!r})") from exc
    if not isinstance(images, list) or not isinstance(annotations, list):
        raise ValueError(
            f"{ann_path}: not COCO instances JSON ('images' or 'annotations' not a list)"
        )
    cat_index = category_indices(categories, ann_path)

    problems: List[Tuple[str, str]] = []
    per_image = defaultdict(list)
    for position, ann in enumerate(annotations):
        try:
            check_annotation(ann)
        except ValueError as exc:
            ann_id = ann.get("id") if isinstance(ann, dict) else None
            raise ValueError(f"{ann_path}: annotations[{position}] (id {ann_id!r}): {exc}") from exc
        if ann["category_id"] not in cat_index:
            problems.append((str(ann["image_id"]), f"unknown category {ann['category_id']}"))
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
    mask_dir = os.path.join(out_dir, "SegmentationClass", split)
    tasks, entry_of_stem, entry_of_id = [], {}, {}
    for position, info in enumerate(images):
        image_id = info.get("id") if isinstance(info, dict) else None
        entry = f"{ann_path}: images[{position}] (id {image_id!r})"
        try:
            file_name, height, width = check_image(info)
        except ValueError as exc:
            raise ValueError(f"{entry}: {exc}") from exc
        stem = os.path.splitext(file_name)[0]
        for key, seen, what in (
            (stem, entry_of_stem, "file name stem"),
            (image_id, entry_of_id, "id"),
        ):
            if key in seen:
                raise ValueError(
                    f"{entry}: {what} {key!r} already used by {seen[key]} "
                    "(annotations and masks would mix)"
                )
            seen[key] = f"images[{position}]"
        tasks.append(
            ImageTask(
                stem,
                height,
                width,
                per_image.get(info.get("id"), []),
                os.path.join(folder, file_name) if file_name in present else None,
                os.path.join(mask_dir, stem + ".png"),
                overwrite,
            )
        )
    return SplitPlan(split, ann_path, folder, tasks, len(annotations), len(cat_index), problems)


def write_split(plan: SplitPlan, out_dir: str, workers: int) -> Tuple[int, List[Tuple[str, str]]]:
    """Writes one checked split's masks, lists and labels; returns the count and the problems."""
    split, tasks = plan.split, plan.tasks
    print(
        f"[{split}] {len(tasks)} images, {plan.num_annotations} annotations, "
        f"{plan.num_classes} classes"
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
    print(f"[{split}] " + _link_images(out_dir, split, plan.folder))
    problems = list(plan.problems)
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
    """Runs the preparation; returns the exit status (1 on unusable inputs).

    Every split's annotation file is read and checked before anything is
    written: a bad entry leaves no output behind.
    """
    args = parse_args(argv)
    out_dir = args.out_dir or args.coco_root
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        print(f"error: --out-dir {out_dir} exists and is not a folder", file=sys.stderr)
        return 1
    if not 1 <= args.workers <= MAX_WORKERS:
        print(f"error: --workers must be in 1..{MAX_WORKERS}, got {args.workers}", file=sys.stderr)
        return 1
    try:
        plans = [load_split(args.coco_root, out_dir, s, args.overwrite) for s in args.splits]
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if coco_mask is None:
        print("masks: pycocotools not importable, using this tool's own rasteriser")
    for plan in plans:
        split = plan.split
        _, problems = write_split(plan, out_dir, args.workers)
        report_problems(
            problems,
            os.path.join(out_dir, f"prepare_coco_problems_{split}.txt"),
            kind=lambda p: p.split(":")[0].split(" of class")[0],
            title=f"[{split}] problems",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

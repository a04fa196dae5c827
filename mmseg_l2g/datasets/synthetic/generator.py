"""Writes a synthetic WSSS dataset in VOC layout, deterministically and atomically."""

import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from .classes import class_names, class_palette
from .design import SyntheticDesign
from .files import (
    atomic_write_bytes,
    atomic_write_text,
    encode_grey_png,
    encode_jpeg,
    encode_palette_png,
)
from .preview import write_preview
from .scene import render_sample

GENERATOR_VERSION = "1.3"  # 1.3: {split}_marks.json, class_offset
SPLITS: tuple[str, ...] = ("train", "val")
IMAGE_DIR = "JPEGImages"
MASK_DIR = "SegmentationClass"
SALIENCY_DIR = "Saliency"
LIST_DIR = os.path.join("ImageSets", "Segmentation")
META_FILE = "meta.json"
PREVIEW_ROWS = 4
MIN_SIZE = 32
MAX_SIZE = 4096
MAX_PER_SPLIT = 1_000_000
MAX_WORKERS = 256
_SPLIT_CODES = {"train": 0, "val": 1}
_OWN_FILE = re.compile(r"^(train|val)_\d{6}\.(jpg|png)$")
# Temp files of mmseg_l2g.io.atomic_output (a killed run's), never a user's ``.tmp_*``.
_TEMP = r"\.tmp_l2g\.\d+\.[A-Za-z0-9_]+"
_TEMP_FILE = re.compile(rf"^{_TEMP}\.(jpg|png)$")
_LIST_FILE = re.compile(rf"^((train|val)(_cls)?\.txt|(train|val)_marks\.json|{_TEMP}\.(txt|json))$")
_META_TEMP_FILE = re.compile(rf"^{_TEMP}\.json$")


def sample_id(split: str, index: int) -> str:
    """Returns the image id of a sample, e.g. ``train_000042``."""
    return f"{split}_{index:06d}"


def sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """Returns the generator of one sample, seeded from (seed, split, index) only."""
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODES[split], index]))


@dataclass(frozen=True)
class _Task:
    root: str
    split: str
    index: int
    seed: int
    size: int
    num_classes: int
    design: SyntheticDesign


def make_synthetic(
    out_dir: str,
    num_train: int,
    num_val: int,
    seed: int,
    size: int = 256,
    num_classes: int = 4,
    num_workers: Optional[int] = None,
    progress: bool = True,
    *,
    overwrite: bool = False,
    preview_path: Optional[str] = None,
    **design: Any,
) -> dict[str, Any]:
    """Generates (or reuses) a synthetic WSSS dataset in VOC layout.

    Layout under ``out_dir``: ``JPEGImages/<id>.jpg``, ``SegmentationClass/<id>.png``
    (palette PNG: 0 background, c in 1..C, 255 object borders), ``Saliency/<id>.png``
    (grey), ``ImageSets/Segmentation/{train,val}.txt`` (ids),
    ``ImageSets/Segmentation/{train,val}_cls.txt`` (``<id> <idx> ...``, 0-based
    foreground class indices), ``ImageSets/Segmentation/{train,val}_marks.json``
    (where each object's mark is: ``{id: [{"class": idx, "box": [y0, x0, y1, x1]}]}``,
    end exclusive, in drawing order; see :func:`read_marks`) and ``meta.json``,
    written last: a dataset with a ``meta.json`` is complete. The same arguments
    give byte-identical files.

    Args:
        out_dir: dataset root.
        num_train: number of training images.
        num_val: number of validation images.
        seed: non-negative seed of the whole dataset.
        size: image side in pixels (32..4096).
        num_classes: number of foreground classes C (1..12).
        num_workers: processes; None uses the available cores (at most 8).
        progress: show a progress bar.
        overwrite: regenerate when ``out_dir`` holds a dataset of other arguments.
        preview_path: if given, also write a preview grid PNG there.
        **design: overrides of ``SyntheticDesign`` parameters (e.g.
            ``mark_size_ratio=0.07, body_texture_reliability=0.6, texture_contrast=0.5``).

    Returns:
        The meta dict (the content of ``meta.json``).

    Raises:
        ValueError: bad arguments (or ones asking for unbounded work), ``out_dir``
            holds a different dataset and ``overwrite`` is False, or ``out_dir``
            holds files that are not this generator's (refused even with
            ``overwrite``: nothing of anyone else's is overwritten or deleted).
    """
    _check_arguments(num_train, num_val, seed, size, num_classes, num_workers)
    image_design = SyntheticDesign.from_kwargs(**design)
    meta = build_meta(num_train, num_val, seed, size, num_classes, image_design)
    root = os.path.abspath(out_dir)
    meta_path = os.path.join(root, META_FILE)
    if os.path.exists(meta_path):
        existing = _read_meta(meta_path)
        if existing == meta:
            if preview_path is not None:
                write_preview(root, _preview_ids(num_train, num_val), preview_path)
            return existing
        if not overwrite:
            differing = sorted(
                k for k in set(meta) | set(existing) if existing.get(k) != meta.get(k)
            )
            raise ValueError(
                f"{meta_path} describes a different dataset (differs in {differing}); "
                "choose another directory or pass overwrite=True (--overwrite) to regenerate it"
            )
        os.remove(meta_path)
    else:
        _check_only_own_files(root)
    _generate(root, meta, image_design, num_workers, progress)
    atomic_write_text(meta_path, json.dumps(meta, indent=2) + "\n")
    if preview_path is not None:  # after meta.json: a folder without one holds no preview
        write_preview(root, _preview_ids(num_train, num_val), preview_path)
    return meta


def build_meta(
    num_train: int, num_val: int, seed: int, size: int, num_classes: int, design: SyntheticDesign
) -> dict[str, Any]:
    """Returns the content of ``meta.json`` for these arguments (JSON-ready values)."""
    return {
        "classes": class_names(num_classes, design.class_offset),
        "palette": class_palette(num_classes, design.class_offset),
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "size": size,
        "num_train": num_train,
        "num_val": num_val,
        "design": design.to_dict(),
    }


def _generate(
    root: str,
    meta: dict[str, Any],
    design: SyntheticDesign,
    num_workers: Optional[int],
    progress: bool,
) -> None:
    """Writes every sample, the id and label lists, and removes stale files of earlier runs."""
    for directory in (IMAGE_DIR, MASK_DIR, SALIENCY_DIR, LIST_DIR):
        os.makedirs(os.path.join(root, directory), exist_ok=True)
    num_classes = len(meta["classes"]) - 1
    counts = {"train": meta["num_train"], "val": meta["num_val"]}
    tasks = [
        _Task(root, split, index, meta["seed"], meta["size"], num_classes, design)
        for split in SPLITS
        for index in range(counts[split])
    ]
    done = _run(tasks, num_workers, progress)
    results = {img_id: (found, marks) for img_id, found, marks in done}
    labels = {img_id: result[0] for img_id, result in results.items()}
    for split in SPLITS:
        ids = [sample_id(split, index) for index in range(counts[split])]
        list_dir = os.path.join(root, LIST_DIR)
        atomic_write_text(os.path.join(list_dir, f"{split}.txt"), "".join(f"{i}\n" for i in ids))
        cls_lines = "".join(" ".join([i, *map(str, labels[i])]) + "\n" for i in ids)
        atomic_write_text(os.path.join(list_dir, f"{split}_cls.txt"), cls_lines)
        marks = {i: results[i][1] for i in ids}
        atomic_write_text(os.path.join(list_dir, f"{split}_marks.json"), json.dumps(marks) + "\n")
    _remove_stale_files(root, set(labels))


def _run(
    tasks: list[_Task], num_workers: Optional[int], progress: bool
) -> Iterator[tuple[str, tuple[int, ...], list[dict[str, Any]]]]:
    """Runs the tasks (in a process pool when worthwhile), yielding results in task order."""
    workers = _resolve_workers(num_workers, len(tasks))
    bar = None
    if progress and tasks:
        from ...utils.progress import Progress  # a bar on a terminal, log lines in a file

        bar = Progress(len(tasks), "synthetic images")
    if workers == 1:
        yield from _tick(map(_generate_one, tasks), bar)
        return
    chunksize = max(1, min(32, len(tasks) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers) as executor:
        yield from _tick(executor.map(_generate_one, tasks, chunksize=chunksize), bar)


def _tick(results: Iterable[Any], bar: Any) -> Iterator[Any]:
    for result in results:
        if bar is not None:
            bar.update()
        yield result
    if bar is not None:
        bar.finish()


def _generate_one(task: _Task) -> tuple[str, tuple[int, ...], list[dict[str, Any]]]:
    """Renders one sample and writes its image, mask and saliency map.

    Returns:
        ``(img_id, labels, marks)``: marks as :func:`read_marks` gives them.
    """
    rng = sample_rng(task.seed, task.split, task.index)
    sample = render_sample(rng, task.size, task.num_classes, task.design)
    img_id = sample_id(task.split, task.index)
    root = task.root
    atomic_write_bytes(os.path.join(root, IMAGE_DIR, f"{img_id}.jpg"), encode_jpeg(sample.image))
    atomic_write_bytes(
        os.path.join(root, MASK_DIR, f"{img_id}.png"),
        encode_palette_png(sample.mask, class_palette(task.num_classes, task.design.class_offset)),
    )
    atomic_write_bytes(
        os.path.join(root, SALIENCY_DIR, f"{img_id}.png"), encode_grey_png(sample.saliency)
    )
    marks = [dict({"class": obj.class_index}, box=list(obj.mark_box)) for obj in sample.objects]
    return img_id, sample.labels, marks


def read_marks(root: str, split: str) -> dict[str, list[dict[str, Any]]]:
    """Where each object's mark is, per image of a split.

    Args:
        root: a dataset of this generator (version 1.3 or later).
        split: ``'train'`` or ``'val'``.

    Returns:
        ``{img_id: [{"class": 0-based class, "box": [y0, x0, y1, x1]}, ...]}``
        (end exclusive, drawing order; marks are never occluded).

    Raises:
        FileNotFoundError: the dataset records no marks (made by an older generator).
    """
    path = os.path.join(root, LIST_DIR, f"{split}_marks.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: the dataset records no mark positions (generator older "
            "than 1.3); regenerate it"
        )
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _resolve_workers(num_workers: Optional[int], num_tasks: int) -> int:
    if num_workers is None:
        available = (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        )
        num_workers = min(8, available or 1)
    return max(1, min(num_workers, num_tasks))


def _remove_stale_files(root: str, current_ids: set[str]) -> None:
    """Removes this generator's files whose ids are not in the current dataset."""
    for directory in (IMAGE_DIR, MASK_DIR, SALIENCY_DIR):
        path = os.path.join(root, directory)
        for name in os.listdir(path):
            stale = _OWN_FILE.match(name) and name.rsplit(".", 1)[0] not in current_ids
            if stale or _TEMP_FILE.match(name):
                os.remove(os.path.join(path, name))


def _preview_ids(num_train: int, num_val: int) -> list[str]:
    split, count = ("train", num_train) if num_train else ("val", num_val)
    return [sample_id(split, index) for index in range(min(PREVIEW_ROWS, count))]


def _read_meta(meta_path: str) -> dict[str, Any]:
    """Reads the ``meta.json`` of an existing dataset of this generator.

    Returns:
        The meta dict.

    Raises:
        ValueError: the file is unreadable, or not the meta file of a dataset
            this generator made (the folder is someone else's: never written into).
    """
    try:
        with open(meta_path, encoding="utf-8") as file:
            meta = json.load(file)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"{meta_path} is not a readable dataset meta file ({error}); choose another "
            "directory, or delete it if the folder is a dataset of this generator"
        ) from error
    if not isinstance(meta, dict) or not {"generator_version", "design"} <= set(meta):
        raise ValueError(
            f"{meta_path} was not written by the synthetic generator: the folder holds another "
            "dataset; choose an empty or new directory"
        )
    return meta


def _foreign_files(root: str) -> Iterator[str]:
    """Yields the paths under ``root`` this generator does not write (a killed run's do)."""
    list_parent = os.path.dirname(LIST_DIR)
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.islink(path):
            yield path
        elif name in (IMAGE_DIR, MASK_DIR, SALIENCY_DIR) and os.path.isdir(path):
            yield from _unmatched(path, _OWN_FILE, _TEMP_FILE)
        elif name == list_parent and os.path.isdir(path):
            for inner in sorted(os.listdir(path)):
                inner_path = os.path.join(path, inner)
                if os.path.join(name, inner) != LIST_DIR or not os.path.isdir(inner_path):
                    yield inner_path
                else:
                    yield from _unmatched(inner_path, _LIST_FILE)
        elif not (_META_TEMP_FILE.match(name) and os.path.isfile(path)):
            yield path


def _unmatched(folder: str, *patterns: re.Pattern) -> Iterator[str]:
    """Yields the entries of ``folder`` that are not plain files named by a pattern."""
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        named = any(pattern.match(name) for pattern in patterns)
        if not named or os.path.islink(path) or not os.path.isfile(path):
            yield path


def _check_only_own_files(root: str) -> None:
    """Refuses a folder without ``meta.json`` that holds anything but a killed run's files.

    Raises:
        ValueError: ``root`` is a file, or a folder holding files this generator
            did not write (the first is named); ``overwrite`` does not change this.
    """
    if not os.path.exists(root):
        return
    if not os.path.isdir(root):
        raise ValueError(f"{root} exists and is not a directory")
    foreign = next(_foreign_files(root), None)
    if foreign is not None:
        raise ValueError(
            f"{root} holds files this generator did not write (e.g. {foreign}) and no "
            f"{META_FILE} of a synthetic dataset; choose an empty or new directory "
            "(nothing there is overwritten or deleted)"
        )


def _check_arguments(
    num_train: int,
    num_val: int,
    seed: int,
    size: int,
    num_classes: int,
    num_workers: Optional[int],
) -> None:
    """Refuses arguments of the wrong type or asking for unbounded work, naming them."""
    for name, value in (("num_train", num_train), ("num_val", num_val)):
        if not _is_int(value) or not 0 <= value < MAX_PER_SPLIT:
            raise ValueError(f"{name} must be an integer in 0..{MAX_PER_SPLIT - 1}, got {value!r}")
    if num_train + num_val == 0:
        raise ValueError("num_train + num_val must be at least 1")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not _is_int(size) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer in {MIN_SIZE}..{MAX_SIZE}, got {size!r}")
    if not _is_int(num_classes):
        raise ValueError(f"num_classes must be an integer, got {num_classes!r}")
    if num_workers is not None and (
        not _is_int(num_workers) or not 1 <= num_workers <= MAX_WORKERS
    ):
        raise ValueError(
            f"num_workers must be None or an integer in 1..{MAX_WORKERS}, got {num_workers!r}"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

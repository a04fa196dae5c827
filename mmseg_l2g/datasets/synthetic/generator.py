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

GENERATOR_VERSION = "1.2"
SPLITS: tuple[str, ...] = ("train", "val")
IMAGE_DIR = "JPEGImages"
MASK_DIR = "SegmentationClass"
SALIENCY_DIR = "Saliency"
LIST_DIR = os.path.join("ImageSets", "Segmentation")
META_FILE = "meta.json"
PREVIEW_ROWS = 4
MIN_SIZE = 32
MAX_PER_SPLIT = 1_000_000
_SPLIT_CODES = {"train": 0, "val": 1}
_OWN_FILE = re.compile(r"^(train|val)_\d{6}\.(jpg|png)$")
_TEMP_FILE = re.compile(r"^\.tmp_.*\.(jpg|png)$")  # left by a killed run (see atomic_output)


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
    foreground class indices) and ``meta.json``, written last: a dataset with a
    ``meta.json`` is complete. The same arguments give byte-identical files.

    Args:
        out_dir: dataset root.
        num_train: number of training images.
        num_val: number of validation images.
        seed: non-negative seed of the whole dataset.
        size: image side in pixels (at least 32).
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
        ValueError: bad arguments, or ``out_dir`` holds a different dataset and
            ``overwrite`` is False.
    """
    _check_arguments(num_train, num_val, seed, size, num_workers)
    image_design = SyntheticDesign.from_kwargs(**design)
    meta = build_meta(num_train, num_val, seed, size, num_classes, image_design)
    root = os.path.abspath(out_dir)
    meta_path = os.path.join(root, META_FILE)
    if os.path.exists(meta_path):
        existing = _read_meta(meta_path, overwrite)
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
    elif not overwrite:
        _check_no_foreign_images(root)
    _generate(root, meta, image_design, num_workers, progress)
    if preview_path is not None:
        write_preview(root, _preview_ids(num_train, num_val), preview_path)
    atomic_write_text(meta_path, json.dumps(meta, indent=2) + "\n")
    return meta


def build_meta(
    num_train: int, num_val: int, seed: int, size: int, num_classes: int, design: SyntheticDesign
) -> dict[str, Any]:
    """Returns the content of ``meta.json`` for these arguments (JSON-ready values)."""
    return {
        "classes": class_names(num_classes),
        "palette": class_palette(num_classes),
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
    labels = dict(_run(tasks, num_workers, progress))
    for split in SPLITS:
        ids = [sample_id(split, index) for index in range(counts[split])]
        list_dir = os.path.join(root, LIST_DIR)
        atomic_write_text(os.path.join(list_dir, f"{split}.txt"), "".join(f"{i}\n" for i in ids))
        cls_lines = "".join(" ".join([i, *map(str, labels[i])]) + "\n" for i in ids)
        atomic_write_text(os.path.join(list_dir, f"{split}_cls.txt"), cls_lines)
    _remove_stale_files(root, set(labels))


def _run(
    tasks: list[_Task], num_workers: Optional[int], progress: bool
) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Runs the tasks (in a process pool when worthwhile), yielding results in task order."""
    workers = _resolve_workers(num_workers, len(tasks))
    bar = None
    if progress and tasks:
        from mmengine.utils import ProgressBar

        bar = ProgressBar(len(tasks))
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


def _generate_one(task: _Task) -> tuple[str, tuple[int, ...]]:
    """Renders one sample and writes its image, mask and saliency map."""
    rng = sample_rng(task.seed, task.split, task.index)
    sample = render_sample(rng, task.size, task.num_classes, task.design)
    img_id = sample_id(task.split, task.index)
    root = task.root
    atomic_write_bytes(os.path.join(root, IMAGE_DIR, f"{img_id}.jpg"), encode_jpeg(sample.image))
    atomic_write_bytes(
        os.path.join(root, MASK_DIR, f"{img_id}.png"),
        encode_palette_png(sample.mask, class_palette(task.num_classes)),
    )
    atomic_write_bytes(
        os.path.join(root, SALIENCY_DIR, f"{img_id}.png"), encode_grey_png(sample.saliency)
    )
    return img_id, sample.labels


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


def _read_meta(meta_path: str, overwrite: bool) -> dict[str, Any]:
    """Reads an existing ``meta.json``; an unreadable one is an error unless overwriting.

    Returns:
        The meta dict, or ``{}`` for an unreadable file when ``overwrite`` is True.
    """
    try:
        with open(meta_path, encoding="utf-8") as file:
            meta = json.load(file)
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
        return meta
    except (OSError, ValueError) as error:
        if overwrite:
            return {}
        raise ValueError(
            f"{meta_path} is not a readable dataset meta file ({error}); "
            "delete it or pass overwrite=True (--overwrite)"
        ) from error


def _check_no_foreign_images(root: str) -> None:
    """Refuses to write into a directory whose JPEGImages holds images of another dataset."""
    image_dir = os.path.join(root, IMAGE_DIR)
    if not os.path.isdir(image_dir):
        return
    foreign = [n for n in sorted(os.listdir(image_dir)) if not _OWN_FILE.match(n)]
    foreign = [n for n in foreign if not _TEMP_FILE.match(n)]
    if foreign:
        raise ValueError(
            f"{image_dir} holds files this generator did not write (e.g. {foreign[0]!r}); "
            "choose an empty directory or pass overwrite=True (--overwrite)"
        )


def _check_arguments(
    num_train: int, num_val: int, seed: int, size: int, num_workers: Optional[int]
) -> None:
    for name, value in (("num_train", num_train), ("num_val", num_val)):
        if not isinstance(value, int) or not 0 <= value < MAX_PER_SPLIT:
            raise ValueError(f"{name} must be an integer in 0..{MAX_PER_SPLIT - 1}, got {value!r}")
    if num_train + num_val == 0:
        raise ValueError("num_train + num_val must be at least 1")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(size, int) or size < MIN_SIZE:
        raise ValueError(f"size must be an integer >= {MIN_SIZE}, got {size!r}")
    if num_workers is not None and (not isinstance(num_workers, int) or num_workers < 1):
        raise ValueError(f"num_workers must be None or a positive integer, got {num_workers!r}")

"""The built-in synthetic WSSS dataset (made by the project's generator)."""

from __future__ import annotations

import json
import os.path as osp
from typing import Dict, Optional

from mmseg.registry import DATASETS

from .seeded_sampling import SeededItemsMixin
from .wsss_dataset import BACKGROUND_NAMES, WSSSDataset

CLASS_NAMES_FILE = "classes.txt"


def default_label_file(ann_file: str, data_root: str) -> Optional[str]:
    """``<split dir>/<split>_cls.txt`` beside a split list, when it exists.

    Args:
        ann_file: the split list (relative to ``data_root`` unless absolute).
        data_root: the dataset root.

    Returns:
        The label list path, or ``None`` when there is none.
    """
    split_path = ann_file if osp.isabs(ann_file) or not data_root else osp.join(data_root, ann_file)
    stem = osp.splitext(osp.basename(split_path))[0]
    candidate = osp.join(osp.dirname(split_path), f"{stem}_cls.txt")
    return candidate if osp.isfile(candidate) else None


def read_synthetic_meta(data_root: str) -> dict:
    """Reads ``<data_root>/meta.json`` and checks its ``classes`` and ``palette``.

    Args:
        data_root: the synthetic dataset root.

    Returns:
        The parsed meta dict.

    Raises:
        FileNotFoundError: ``meta.json`` is missing.
        ValueError: it is not JSON or lacks ``classes`` / ``palette``.
    """
    path = osp.join(data_root, "meta.json")
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"synthetic dataset meta file not found: {path} (give metainfo in the config "
            "or regenerate the dataset)"
        )
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or "classes" not in meta or "palette" not in meta:
        raise ValueError(f"{path}: expected a JSON object with 'classes' and 'palette'")
    return meta


def read_class_names(path: str) -> tuple:
    """Reads a class-name file: one foreground class name a line, in label-index order.

    Blank lines are skipped; a first line naming the background (``background``,
    ``bg``, ...) is kept as the background's name, else ``background`` is put first.

    Args:
        path: the text file.

    Returns:
        The C+1 class names, background first.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: it names no foreground class, or a name twice.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"class-name file not found: {path}")
    with open(path, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    if names and names[0].lower() not in BACKGROUND_NAMES:
        names.insert(0, "background")
    if len(names) < 2:
        raise ValueError(f"{path}: no class names (expected one foreground class name a line)")
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a class name appears twice: {names}")
    return tuple(names)


@DATASETS.register_module()
class SyntheticWSSSDataset(SeededItemsMixin, WSSSDataset):
    """The synthetic dataset written by the project's generator.

    Layout under ``data_root``::

        JPEGImages/<id>.jpg
        SegmentationClass/<id>.png           (palette PNG, class indices)
        Saliency/<id>.png                    (grey saliency)
        ImageSets/Segmentation/{train,val}.txt
        ImageSets/Segmentation/{train,val}_cls.txt   (label lists)
        meta.json   {"classes": [...], "palette": [...], "generator_version": ...}

    Classes and palette come from, in this order: the config's ``metainfo``
    ``classes``; ``class_names_file``; ``meta.json`` (``generator_version`` is
    kept in the metainfo); ``<data_root>/classes.txt``. A class-name file holds
    one foreground class name a line, in label-index order (see
    :func:`read_class_names`); the palette is then the VOC colour map. So any
    VOC-layout folder with a ``classes.txt`` loads as this dataset.
    ``class_names_file`` is relative to ``data_root`` unless absolute. Without
    ``label_file``, ``<split>_cls.txt`` beside the split list is used when it
    exists, else labels are derived from the masks.
    Items may be :class:`~.seeded_sampling.SeededIndex` (from
    ``SeededInfiniteSampler``): the pipeline then runs under that seed, so the
    batches do not depend on the loader's worker count. Arguments as
    :class:`WSSSDataset`.
    """

    DEFAULT_DATA_PREFIX: Dict[str, str] = dict(
        img_path="JPEGImages", seg_map_path="SegmentationClass", sal_path="Saliency"
    )

    def __init__(
        self,
        ann_file: str = "ImageSets/Segmentation/train.txt",
        class_names_file: Optional[str] = None,
        **kwargs,
    ) -> None:
        self.class_names_file = class_names_file
        super().__init__(ann_file=ann_file, **kwargs)

    def _resolve_metainfo(self, metainfo: Optional[dict], data_root: str) -> dict:
        """Takes the classes from the metainfo, a class-name file or ``meta.json``."""
        if metainfo and metainfo.get("classes"):
            return super()._resolve_metainfo(metainfo, data_root)
        names_file = self.class_names_file
        if names_file and data_root and not osp.isabs(names_file):
            names_file = osp.join(data_root, names_file)
        beside = osp.join(data_root, CLASS_NAMES_FILE)
        if not names_file and not osp.isfile(osp.join(data_root, "meta.json")):
            if not osp.isfile(beside):
                raise FileNotFoundError(
                    f"{data_root}: no class names: expected meta.json (the synthetic "
                    f"generator's), {CLASS_NAMES_FILE} (one foreground class name a line), "
                    "class_names_file or metainfo=dict(classes=...)"
                )
            names_file = beside
        if names_file:
            merged = dict(metainfo or {}, classes=read_class_names(names_file))
            return super()._resolve_metainfo(merged, data_root)
        meta = read_synthetic_meta(data_root)
        merged = dict(classes=tuple(meta["classes"]), palette=meta["palette"])
        if "generator_version" in meta:
            # A tuple, not a str: MMEngine would try a str metainfo value as a meta file.
            merged["generator_version"] = (str(meta["generator_version"]),)
        merged.update(metainfo or {})
        return super()._resolve_metainfo(merged, data_root)

    def _resolve_label_file(
        self, label_file: Optional[str], ann_file: str, data_root: str
    ) -> Optional[str]:
        """Uses ``<split>_cls.txt`` beside the split list when none is given."""
        if label_file:
            return super()._resolve_label_file(label_file, ann_file, data_root)
        return default_label_file(ann_file, data_root)

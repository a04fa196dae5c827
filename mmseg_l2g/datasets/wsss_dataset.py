"""The base WSSS dataset: images with image-level labels (and optional extras).

Each item is an image, its multi-hot label over the C foreground classes,
and where present a saliency map and a ground-truth mask (the mask is for
scoring pseudo masks only, never for training). The item keys follow
``docs/data_flow.md``.
"""

from __future__ import annotations

import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger
from mmengine.utils import track_iter_progress
from mmseg.registry import DATASETS

from .label_io import labels_from_mask, load_label_file, read_split_ids

BACKGROUND_NAMES = ("background", "bg", "_background_", "__background__")
PREFIX_KEYS = ("img_path", "seg_map_path", "sal_path")
# Deriving labels from more masks than this shows a progress bar.
_PROGRESS_MIN_ITEMS = 500


def bit_colormap(num_colors: int) -> List[List[int]]:
    """The PASCAL VOC colour map (bits of the index spread over R, G, B).

    Args:
        num_colors: how many colours (index 0 is black).

    Returns:
        ``num_colors`` RGB triples.
    """
    palette = []
    for index in range(num_colors):
        red = green = blue = 0
        code = index
        for bit in range(8):
            red |= ((code >> 0) & 1) << (7 - bit)
            green |= ((code >> 1) & 1) << (7 - bit)
            blue |= ((code >> 2) & 1) << (7 - bit)
            code >>= 3
        palette.append([red, green, blue])
    return palette


@DATASETS.register_module()
class WSSSDataset(BaseDataset):
    """Image-level labelled images for weakly supervised segmentation.

    Labels come from ``label_file`` (a text list or a ``cls_labels.npy`` dict,
    see :mod:`mmseg_l2g.datasets.label_io`) or, when no label file is given,
    are derived from the ground-truth masks. Saliency maps and masks are
    optional per image: an image without one gets ``None``.

    Checks at load: a missing image raises ``FileNotFoundError`` naming it;
    an unknown class raises ``ValueError``; an image with no positive label is
    dropped and counted in a logged warning (or raises when
    ``drop_unlabeled=False``); saliency coverage is logged and exposed as
    :attr:`num_with_saliency` / :meth:`has_saliency`.

    Args:
        ann_file: split list, one image a line (``img_id`` or VOC-aug style
            ``/JPEGImages/x.jpg /SegmentationClassAug/x.png``), relative to
            ``data_root`` unless absolute.
        data_root: dataset root; must exist when given.
        data_prefix: folders of ``img_path``, ``seg_map_path`` and
            ``sal_path``, relative to ``data_root``; the last two are optional
            (absent, ``''`` or ``None`` means none). ``None`` takes the
            class's ``DEFAULT_DATA_PREFIX``.
        label_file: ``.txt`` list or ``.npy`` dict, relative to ``data_root``
            unless absolute; ``None`` derives labels from the masks.
        img_suffix: image file suffix.
        seg_map_suffix: mask file suffix.
        sal_suffix: saliency file suffix.
        drop_unlabeled: drop images with no positive label (counted in a
            warning) instead of raising ``ValueError``.
        metainfo: ``classes`` (C+1 names, background first) and optionally
            ``palette`` (C+1 RGB triples; the VOC colour map by default).
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments
            (``pipeline``, ``test_mode``, ``lazy_init``, ``serialize_data``,
            ``indices``, ...).
    """

    METAINFO: dict = dict()
    DEFAULT_DATA_PREFIX: Dict[str, str] = dict(img_path="", seg_map_path="", sal_path="")

    def __init__(
        self,
        ann_file: str = "",
        data_root: str = "",
        data_prefix: Optional[Dict[str, Optional[str]]] = None,
        label_file: Optional[str] = None,
        img_suffix: str = ".jpg",
        seg_map_suffix: str = ".png",
        sal_suffix: str = ".png",
        drop_unlabeled: bool = True,
        metainfo: Optional[dict] = None,
        **kwargs,
    ) -> None:
        data_root = data_root or ""
        if data_root and not osp.isdir(data_root):
            raise FileNotFoundError(f"{type(self).__name__}: data_root not found: {data_root}")
        if not ann_file:
            raise ValueError(f"{type(self).__name__}: ann_file (the split list) is required")
        prefix = copy.deepcopy(self.DEFAULT_DATA_PREFIX if data_prefix is None else data_prefix)
        unknown = set(prefix) - set(PREFIX_KEYS)
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown data_prefix keys {sorted(unknown)}; "
                f"expected {list(PREFIX_KEYS)}"
            )
        clean_prefix = {key: value for key, value in prefix.items() if value}
        clean_prefix["img_path"] = prefix.get("img_path") or ""

        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.sal_suffix = sal_suffix
        self.drop_unlabeled = drop_unlabeled
        self.label_file = self._resolve_label_file(label_file, ann_file, data_root)
        self.num_dropped_unlabeled = 0
        self._saliency_flags = np.zeros(0, dtype=bool)
        super().__init__(
            ann_file=ann_file,
            metainfo=self._resolve_metainfo(metainfo, data_root),
            data_root=data_root,
            data_prefix=clean_prefix,
            **kwargs,
        )

    # ----------------------------------------------------------------- set-up
    def _resolve_metainfo(self, metainfo: Optional[dict], data_root: str) -> dict:
        """Merges the class metainfo with the given one and checks it."""
        merged = copy.deepcopy(self.METAINFO)
        merged.update(copy.deepcopy(metainfo or {}))
        classes = merged.get("classes")
        name = type(self).__name__
        if not classes or len(classes) < 2:
            raise ValueError(
                f"{name}: metainfo needs 'classes': C+1 names, background first (got {classes!r})"
            )
        if str(classes[0]).lower() not in BACKGROUND_NAMES:
            raise ValueError(
                f"{name}: metainfo classes must start with the background "
                f"(one of {BACKGROUND_NAMES}), got {classes[0]!r} first"
            )
        if len(set(classes)) != len(classes):
            raise ValueError(f"{name}: metainfo classes hold duplicate names: {classes!r}")
        merged["classes"] = tuple(classes)
        palette = merged.get("palette") or bit_colormap(len(classes))
        if len(palette) != len(classes) or any(len(color) != 3 for color in palette):
            raise ValueError(
                f"{name}: metainfo palette must hold {len(classes)} RGB triples "
                f"(one per class), got {len(palette)} entries"
            )
        merged["palette"] = [list(map(int, color)) for color in palette]
        return merged

    def _resolve_label_file(
        self, label_file: Optional[str], ann_file: str, data_root: str
    ) -> Optional[str]:
        """Returns the label file path, joined with ``data_root`` if relative."""
        if not label_file:
            return None
        if data_root and not osp.isabs(label_file):
            return osp.join(data_root, label_file)
        return label_file

    # ---------------------------------------------------------------- loading
    @property
    def foreground_classes(self) -> Sequence[str]:
        """The C foreground class names (background excluded), in label order."""
        return self._metainfo["classes"][1:]

    @property
    def num_classes(self) -> int:
        """C, the number of foreground classes (length of ``gt_label``)."""
        return len(self._metainfo["classes"]) - 1

    def _optional_paths(
        self, key: str, ids: Sequence[str], suffix: str, what: str
    ) -> List[Optional[str]]:
        """Paths of an optional per-image file; ``None`` where it is absent."""
        folder = self.data_prefix.get(key)
        if not folder:
            return [None] * len(ids)
        if not osp.isdir(folder):
            MMLogger.get_current_instance().warning(
                f"{type(self).__name__}: {what} folder {folder} not found: "
                f"no image of {self.ann_file} has a {what}"
            )
            return [None] * len(ids)
        paths = [osp.join(folder, img_id + suffix) for img_id in ids]
        return [path if osp.isfile(path) else None for path in paths]

    def _load_labels(
        self, ids: Sequence[str], seg_paths: Sequence[Optional[str]]
    ) -> List[np.ndarray]:
        """Image-level labels of ``ids``, from the label file or the masks."""
        name = type(self).__name__
        if self.label_file:
            table = load_label_file(self.label_file, self.foreground_classes)
            absent = [img_id for img_id in ids if img_id not in table]
            if absent:
                raise ValueError(
                    f"{name}: label file {self.label_file} has no label for {len(absent)} "
                    f"of {len(ids)} images of {self.ann_file} (first: {absent[:3]})"
                )
            return [table[img_id] for img_id in ids]
        if not self.data_prefix.get("seg_map_path"):
            raise ValueError(
                f"{name}: no labels for {self.ann_file}: give a label_file or a "
                "data_prefix seg_map_path to derive labels from the masks"
            )
        missing = [
            osp.join(self.data_prefix["seg_map_path"], img_id + self.seg_map_suffix)
            for img_id, path in zip(ids, seg_paths)
            if path is None
        ]
        if missing:
            raise FileNotFoundError(
                f"{name}: labels are derived from masks, but {len(missing)} of {len(ids)} "
                f"masks are missing (first: {missing[0]})"
            )
        MMLogger.get_current_instance().info(
            f"{name}: deriving image-level labels from {len(ids)} masks "
            "(tools/make_cls_labels.py writes a label list that skips this)"
        )
        paths = list(seg_paths)
        if len(paths) >= _PROGRESS_MIN_ITEMS:
            paths = track_iter_progress(paths)
        return [labels_from_mask(path, self.num_classes) for path in paths]

    def load_data_list(self) -> List[dict]:
        """Reads the split, checks the files and builds the items.

        Returns:
            One dict per image with the keys of ``docs/data_flow.md``.
        """
        name = type(self).__name__
        logger = MMLogger.get_current_instance()
        ids = read_split_ids(self.ann_file)
        if not ids:
            raise ValueError(f"{name}: split list {self.ann_file} holds no image ids")

        img_dir = self.data_prefix["img_path"]
        img_paths = [osp.join(img_dir, img_id + self.img_suffix) for img_id in ids]
        missing = [path for path in img_paths if not osp.isfile(path)]
        if missing:
            raise FileNotFoundError(
                f"{name}: {len(missing)} of {len(ids)} images of {self.ann_file} not found "
                f"(first: {missing[0]})"
            )
        seg_paths = self._optional_paths("seg_map_path", ids, self.seg_map_suffix, "mask")
        sal_paths = self._optional_paths("sal_path", ids, self.sal_suffix, "saliency map")
        labels = self._load_labels(ids, seg_paths)

        unlabeled = [img_id for img_id, label in zip(ids, labels) if not label.any()]
        if unlabeled and not self.drop_unlabeled:
            raise ValueError(
                f"{name}: {len(unlabeled)} images of {self.ann_file} have no positive label "
                f"(first: {unlabeled[:3]}; labels from "
                f"{self.label_file or self.data_prefix.get('seg_map_path')})"
            )
        if unlabeled and len(unlabeled) == len(ids):
            raise ValueError(
                f"{name}: none of the {len(ids)} images of {self.ann_file} has a positive "
                f"label (labels from {self.label_file or self.data_prefix.get('seg_map_path')}); "
                "nothing left to use: check the label file or the masks' class indices"
            )
        if unlabeled:
            logger.warning(
                f"{name}: dropped {len(unlabeled)} of {len(ids)} images of {self.ann_file} "
                f"with no positive label (first: {unlabeled[:3]})"
            )
        self.num_dropped_unlabeled = len(unlabeled)

        data_list = []
        for img_id, img_path, label, seg_path, sal_path in zip(
            ids, img_paths, labels, seg_paths, sal_paths
        ):
            if not label.any():
                continue
            data_list.append(
                dict(
                    img_path=img_path,
                    img_id=img_id,
                    gt_label=label.astype(np.float32),
                    sal_path=sal_path,
                    seg_map_path=seg_path,
                    reduce_zero_label=False,
                    seg_fields=[],
                )
            )
        for key, what in (("sal_path", "saliency maps"), ("seg_map_path", "masks")):
            if self.data_prefix.get(key):
                found = sum(item[key] is not None for item in data_list)
                log = logger.info if found == len(data_list) else logger.warning
                log(f"{name}: {what} found for {found} of {len(data_list)} images")
        return data_list

    def full_init(self) -> None:
        """Loads the data (as BaseDataset does) and records saliency coverage."""
        if self._fully_initialized:
            return
        super().full_init()
        self._saliency_flags = np.array(
            [self.get_data_info(i)["sal_path"] is not None for i in range(len(self))],
            dtype=bool,
        )

    # ------------------------------------------------------------ information
    @property
    def num_with_saliency(self) -> int:
        """How many items have a saliency map."""
        self.full_init()
        return int(self._saliency_flags.sum())

    def has_saliency(self, idx: int) -> bool:
        """Whether item ``idx`` has a saliency map."""
        self.full_init()
        return bool(self._saliency_flags[idx])

    def get_cat_ids(self, idx: int) -> List[int]:
        """0-based foreground class indices present in item ``idx``."""
        return np.flatnonzero(self.get_data_info(idx)["gt_label"]).tolist()

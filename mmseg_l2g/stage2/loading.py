"""Loading what each image's record needs: image, CAM file, ground truth, saliency.

A load error is kept in the record (``error``), not raised, so one bad image
is recorded as failed and the run goes on.
"""

from __future__ import annotations

import os.path as osp
from typing import List, Tuple

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from ..datasets.label_io import read_index_mask
from ..datasets.transforms.loading import read_bgr_image, read_saliency
from ..io import IGNORE_INDEX, load_cams_npz
from .planning import ImageRecord
from .settings import SALIENCY_FROM_DATASET, PseudoMaskSettings


def image_size(path: str) -> Tuple[int, int]:
    """(H, W) of an image file from its header (nothing decoded)."""
    with Image.open(path) as image:
        return image.height, image.width


class RecordLoader(Dataset):
    """Fills each record with what its work needs (a ``torch`` dataset of records).

    Args:
        records: this rank's records.
        settings: the run's settings.
        num_classes: K = C+1 (ground-truth values are checked against it).
    """

    def __init__(
        self, records: List[ImageRecord], settings: PseudoMaskSettings, num_classes: int
    ) -> None:
        self.records = records
        self.settings = settings
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> ImageRecord:
        record = self.records[index]
        try:
            self._load(record)
        except (OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
            record.img = record.cams = record.gt = record.sal = None
            record.error = f"{type(exc).__name__}: {exc}"
        return record

    def _load(self, record: ImageRecord) -> None:
        info = record.info
        if record.cams_path is not None:
            if not osp.isfile(record.cams_path):
                raise FileNotFoundError(f"CAM file not found: {record.cams_path}")
            record.cams, labels = load_cams_npz(record.cams_path)
            record.classes = labels
        if record.needs_image:
            try:
                height, width = image_size(info["img_path"])
            except OSError:  # unreadable: the reader below says why, naming the file
                height, width = 0, 0
            if height * width > self.settings.max_pixels:
                raise MemoryError(
                    f"image {info['img_path']} is {height}x{width}, more than max_pixels "
                    f"{self.settings.max_pixels}; not processed"
                )
            record.img = read_bgr_image(info["img_path"])
        shape = record.img.shape[:2] if record.img is not None else record.cams.shape[1:]
        shape = tuple(shape)
        if record.cams is not None and tuple(record.cams.shape[1:]) != shape:
            raise ValueError(
                f"CAM file {record.cams_path} is {record.cams.shape[1:]} but the image "
                f"{info['img_path']} is {shape} (HxW)"
            )
        seg_path = info.get("seg_map_path")
        if seg_path is not None and (record.evaluate or record.vis_out is not None):
            record.gt = self._ground_truth(seg_path, shape, info["img_path"])
        if self.settings.saliency is not None:
            record.sal = self._saliency(info, shape)

    def _ground_truth(self, path: str, shape: Tuple[int, ...], img_path: str) -> np.ndarray:
        gt = read_index_mask(path)
        if gt.shape != shape:
            raise ValueError(
                f"ground-truth mask {path} is {gt.shape} but the image {img_path} is {shape} (HxW)"
            )
        valid = (gt < self.num_classes) | (gt == IGNORE_INDEX)
        if not valid.all():
            bad = np.unique(gt[~valid]).tolist()[:5]
            raise ValueError(
                f"ground-truth mask {path} holds values {bad} outside "
                f"0..{self.num_classes - 1} and {IGNORE_INDEX}"
            )
        return gt

    def _saliency(self, info: dict, shape: Tuple[int, ...]) -> np.ndarray:
        if self.settings.saliency == SALIENCY_FROM_DATASET:
            path = info.get("sal_path")
            if path is None:
                raise FileNotFoundError(
                    f"image {info['img_id']} has no saliency map in the dataset "
                    "(saliency-fused mode needs one per image)"
                )
        else:
            path = osp.join(self.settings.saliency, info["img_id"] + ".png")
        saliency = read_saliency(path)
        if saliency.shape != shape:
            resized = Image.fromarray(saliency).resize(shape[::-1], Image.BILINEAR)
            saliency = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        return saliency


def collate_records(batch: List[ImageRecord]) -> List[ImageRecord]:
    """Keeps a loaded batch as a list (images differ in size)."""
    return batch

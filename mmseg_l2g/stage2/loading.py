"""Loading what each image's plan needs: image, CAM file, ground truth, saliency.

A load error is kept in the :class:`LoadedImage` (``error``), not raised, so one
bad image is recorded as failed and the run goes on.
"""

from __future__ import annotations

import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..datasets.label_io import read_index_mask
from ..datasets.transforms.loading import read_bgr_image, read_saliency
from ..io import IGNORE_INDEX, load_cams_npz
from .planning import ImagePlan
from .settings import SALIENCY_FROM_DATASET, PseudoMaskSettings


def image_size(path: str) -> Tuple[int, int]:
    """(H, W) of an image file from its header (nothing decoded)."""
    with Image.open(path) as image:
        return image.height, image.width


@dataclass
class LoadedImage:
    """What was read for one image's plan (or why it could not be).

    Attributes:
        plan: the image's plan.
        img: uint8 (H, W, 3) BGR, when the plan needs the image.
        cams: float16 (n, H, W) CAMs from the plan's CAM file (``None``: the network's).
        classes: int64 (n,) classes of ``cams``.
        gt: uint8 (H, W) ground truth, when scored or drawn.
        sal: float32 (H, W) saliency in [0, 1], in saliency-fused mode.
        error: why loading failed (then nothing else is set).
    """

    plan: ImagePlan
    img: Optional[np.ndarray] = None
    cams: Optional[torch.Tensor] = None
    classes: Optional[torch.Tensor] = None
    gt: Optional[np.ndarray] = None
    sal: Optional[np.ndarray] = None
    error: Optional[str] = None


class ImageLoader(Dataset):
    """Reads what each plan needs (a ``torch`` dataset of :class:`LoadedImage`).

    Args:
        plans: this rank's image plans.
        settings: the run's settings.
        num_classes: K = C+1 (ground-truth values are checked against it).
    """

    def __init__(
        self, plans: List[ImagePlan], settings: PseudoMaskSettings, num_classes: int
    ) -> None:
        self.plans = plans
        self.settings = settings
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.plans)

    def __getitem__(self, index: int) -> LoadedImage:
        plan = self.plans[index]
        try:
            return self._load(plan)
        except (OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
            return LoadedImage(plan, error=f"{type(exc).__name__}: {exc}")

    def _load(self, plan: ImagePlan) -> LoadedImage:
        info = plan.info
        loaded = LoadedImage(plan)
        if plan.cams_path is not None:
            if not osp.isfile(plan.cams_path):
                raise FileNotFoundError(f"CAM file not found: {plan.cams_path}")
            cams, labels = load_cams_npz(plan.cams_path)
            loaded.cams, loaded.classes = torch.from_numpy(cams), torch.from_numpy(labels)
        if plan.needs_image:
            try:
                height, width = image_size(info["img_path"])
            except OSError:  # unreadable: the reader below says why, naming the file
                height, width = 0, 0
            if height * width > self.settings.max_pixels:
                raise MemoryError(
                    f"image {info['img_path']} is {height}x{width}, more than max_pixels "
                    f"{self.settings.max_pixels}; not processed"
                )
            loaded.img = read_bgr_image(info["img_path"])
        shape = loaded.img.shape[:2] if loaded.img is not None else loaded.cams.shape[1:]
        shape = tuple(shape)
        if loaded.cams is not None and tuple(loaded.cams.shape[1:]) != shape:
            raise ValueError(
                f"CAM file {plan.cams_path} is {tuple(loaded.cams.shape[1:])} but the image "
                f"{info['img_path']} is {shape} (HxW)"
            )
        seg_path = info.get("seg_map_path")
        if seg_path is not None and (plan.evaluate or plan.vis_out is not None):
            loaded.gt = self._ground_truth(seg_path, shape, info["img_path"])
        if self.settings.saliency is not None:
            loaded.sal = self._saliency(info, shape)
        return loaded

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


def collate_images(batch: List[LoadedImage]) -> List[LoadedImage]:
    """Keeps a loaded batch as a list (images differ in size)."""
    return batch

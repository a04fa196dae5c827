"""The premise's own metrics: object recall near and far from the mark, background precision.

L2G's premise on the synthetic data: a whole-image classifier lights the
class's mark and misses the rest of the body; a local view without the mark
makes the local network learn the body, and the transfer widens the global
map. These counts say where a method's pseudo masks find the object: within
``radius`` pixels of its mark's centre (near) or beyond (far), from the
dataset's recorded marks (``{split}_marks.json`` of the generator).
"""

import os.path as osp
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from ..datasets.synthetic import read_marks
from ..datasets.transforms.loading import read_saliency
from ..io import IGNORE_INDEX, load_cams_npz
from ..models.postprocess.pseudo_mask import cam_peaks, saliency_fused_mask, threshold_mask
from .statistics import mean_std

NEAR_RADIUS = 15.0  # px: about 2.4 mark sides on the 128 px images (mark side 6 px)


@dataclass
class PremiseCounts:
    """Pixel counts of one method on one split (object pixels exclude the 255 band).

    Attributes:
        near: object pixels within the radius of a mark of their class.
        near_hit: of those, pixels the mask gives their class.
        far: object pixels beyond the radius.
        far_hit: of those, pixels the mask gives their class.
        called_bg: pixels the mask calls background.
        called_bg_right: of those, true background pixels.
    """

    near: int = 0
    near_hit: int = 0
    far: int = 0
    far_hit: int = 0
    called_bg: int = 0
    called_bg_right: int = 0

    def add(self, other: "PremiseCounts") -> None:
        """Adds another image's counts."""
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)

    def summary(self) -> Dict[str, float]:
        """Near / far recall and background precision in %, with the pixel counts."""
        return dict(
            near_recall=_percent(self.near_hit, self.near),
            far_recall=_percent(self.far_hit, self.far),
            bg_precision=_percent(self.called_bg_right, self.called_bg),
            near_pixels=self.near,
            far_pixels=self.far,
        )


def read_gt_mask(data_root: str, img_id: str) -> np.ndarray:
    """An image's ground-truth class mask (``SegmentationClass/<id>.png``) as (H, W) values."""
    from PIL import Image

    with Image.open(osp.join(data_root, "SegmentationClass", img_id + ".png")) as image:
        return np.asarray(image)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else float("nan")


def near_mark(gt: np.ndarray, marks: Sequence[dict], radius: float) -> np.ndarray:
    """Object pixels within ``radius`` of the centre of a mark of their own class.

    Args:
        gt: (H, W) mask, c = class c - 1's object, 0 background, 255 ignored.
        marks: the image's marks, ``{"class": c - 1, "box": [y0, x0, y1, x1]}``.
        radius: distance in pixels (inclusive).

    Returns:
        bool (H, W); False off objects.
    """
    ys, xs = np.mgrid[0 : gt.shape[0], 0 : gt.shape[1]]
    near = np.zeros(gt.shape, dtype=bool)
    for mark in marks:
        y0, x0, y1, x1 = mark["box"]
        centre_y, centre_x = (y0 + y1 - 1) / 2.0, (x0 + x1 - 1) / 2.0
        close = (ys - centre_y) ** 2 + (xs - centre_x) ** 2 <= radius**2
        near |= close & (gt == mark["class"] + 1)
    return near


def count_image(
    pred: np.ndarray, gt: np.ndarray, marks: Sequence[dict], radius: float
) -> PremiseCounts:
    """One image's :class:`PremiseCounts` (``pred`` and ``gt`` in the same VOC convention)."""
    if pred.shape != gt.shape:
        raise ValueError(f"mask shape {pred.shape} differs from the ground truth's {gt.shape}")
    objects = (gt > 0) & (gt != IGNORE_INDEX)
    hit = objects & (pred == gt)
    near = near_mark(gt, marks, radius)
    far = objects & ~near
    called_bg = pred == 0
    return PremiseCounts(
        near=int(near.sum()),
        near_hit=int((hit & near).sum()),
        far=int(far.sum()),
        far_hit=int((hit & far).sum()),
        called_bg=int((called_bg & (gt != IGNORE_INDEX)).sum()),
        called_bg_right=int((called_bg & (gt == 0)).sum()),
    )


def premise_metrics(
    data_root: str,
    split: str,
    cams_dir: str,
    threshold: float,
    saliency_dir: Optional[str] = None,
    sal_thr: float = 0.5,
    radius: float = NEAR_RADIUS,
) -> Dict[str, float]:
    """Near / far recall and background precision of a method's masks on a split.

    The masks are stage 2's rule applied to the saved CAMs (``make_mask``'s
    threshold or saliency-fused rule at ``threshold``).

    Args:
        data_root: a synthetic dataset (its masks and recorded marks).
        split: ``'train'`` or ``'val'``.
        cams_dir: the method's ``cams/`` folder from ``gen_pseudo.py --save-cams``.
        threshold: the background threshold (fused: the CAM support a salient pixel needs).
        saliency_dir: given, the saliency-fused rule with these maps (``<id>.png``).
        sal_thr: saliency threshold of the fused rule.
        radius: near / far boundary in pixels.

    Returns:
        :meth:`PremiseCounts.summary` plus ``radius`` and ``threshold``.
    """
    marks = read_marks(data_root, split)
    total = PremiseCounts()
    for img_id in sorted(marks):
        gt = read_gt_mask(data_root, img_id)
        cams, labels = load_cams_npz(osp.join(cams_dir, img_id + ".npz"))
        score, value = cam_peaks(torch.from_numpy(cams).float(), torch.from_numpy(labels))
        if saliency_dir is None:
            pred = threshold_mask(score, value, threshold)
        else:
            saliency = torch.from_numpy(read_saliency(osp.join(saliency_dir, img_id + ".png")))
            pred = saliency_fused_mask(score, value, saliency, sal_thr, threshold)
        total.add(count_image(pred.numpy(), gt, marks[img_id], radius))
    return dict(total.summary(), radius=radius, threshold=threshold)


def premise_table(rows: List[dict], columns: Sequence[str], names: Dict[str, str]) -> str:
    """Markdown: each column's near / far recall and background precision, mean over seeds."""
    lines = [
        f"| method | recall near (<= {NEAR_RADIUS:.0f} px) | recall far | background precision |",
        "| --- | ---: | ---: | ---: |",
    ]
    for column in columns:
        values = [r["premise"][column] for r in rows if column in r.get("premise", {})]
        if not values:
            continue
        cells = []
        for key in ("near_recall", "far_recall", "bg_precision"):
            mean, std = mean_std([v[key] for v in values])
            cells.append(f"{mean:.1f} +- {std:.1f}")
        lines.append(f"| {names[column]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

"""What stage 2 makes and how: one settings record, built from one dict.

The readout (scales, flip, interpolation, fp16, ``bg_thr``, CRF) is not a
setting: it is the model's ``test_cfg``
(:class:`~mmseg_l2g.models.classifiers.cam_readout.CAMReadoutConfig`, parsed
once by the model), which :meth:`PseudoMaskSettings.with_readout` records in
the run's settings (for the masks, the sweep and ``settings.json``).
"""

from __future__ import annotations

import dataclasses
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

from ..evaluation.threshold_sweep import threshold_range
from ..models.classifiers.cam_readout import CAMReadoutConfig

DEFAULT_SWEEP = tuple(threshold_range(0.05, 0.50, 0.05))
SALIENCY_FROM_DATASET = "dataset"
# Beside a GPU, loading and writing overlap the forward passes; on CPU they would
# compete with the network for the cores (measured: slower on 2 cores).
CUDA_PREFETCH_BATCHES = 2
CUDA_WRITER_THREADS = 2
# An image above this many pixels is recorded as failed instead of exhausting memory.
DEFAULT_MAX_PIXELS = 4096 * 4096


@dataclass
class PseudoMaskSettings:
    """What stage 2 makes and how.

    Args:
        sweep: thresholds scored against the ground truth (``bg_thr`` is added).
        saliency: ``None`` for the threshold mode; for the saliency-fused mode a
            folder of ``<img_id>.png`` grey maps, or ``'dataset'`` (each item's ``sal_path``).
        sal_thr: saliency below this is background (fused mode).
        save_masks: write ``masks/<img_id>.png``.
        save_cams: write ``cams/<img_id>.npz``.
        num_vis: overlays written for the first this many images.
        batch_size: images loaded together; those of equal size are read together, in
            forward passes sized by the readout's ``forward_pixels``.
        num_workers: image-loading worker processes.
        prefetch_batches: batches loaded ahead on a thread; ``None``: 2 on CUDA, else 0.
        writer_threads: threads writing the files (0: the main thread); ``None``:
            2 on CUDA, else 0.
        cams_dir: read every image's CAMs from ``<cams_dir>/<img_id>.npz``.
        overwrite: rebuild every output even where it exists.
        max_pixels: an image with more pixels is recorded as failed.

    Attributes:
        readout: the run's readout, the model's ``test_cfg`` (set by
            :meth:`with_readout`, not a field of the settings dict).
    """

    sweep: Sequence[float] = DEFAULT_SWEEP
    saliency: Optional[str] = None
    sal_thr: float = 0.5
    save_masks: bool = True
    save_cams: bool = False
    num_vis: int = 8
    batch_size: int = 4
    num_workers: int = 0
    prefetch_batches: Optional[int] = None
    writer_threads: Optional[int] = None
    cams_dir: Optional[str] = None
    overwrite: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    readout: Optional[CAMReadoutConfig] = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sal_thr) and 0.0 <= self.sal_thr <= 1.0):
            raise ValueError(f"sal_thr must be in [0, 1], got {self.sal_thr}")
        bad = [t for t in self.sweep if not (math.isfinite(t) and 0.0 <= t <= 1.0)]
        if bad or not self.sweep:
            raise ValueError(f"sweep thresholds must be in [0, 1] (at least one), got {bad}")
        counts = (self.num_vis, self.num_workers, self.prefetch_batches, self.writer_threads)
        if (
            self.batch_size < 1
            or self.max_pixels < 1
            or any(c is not None and c < 0 for c in counts)
        ):
            raise ValueError(
                "batch_size and max_pixels must be >= 1, num_vis, num_workers, "
                f"prefetch_batches and writer_threads >= 0, got {self.batch_size}, "
                f"{self.max_pixels}, {counts}"
            )
        if self.saliency not in (None, SALIENCY_FROM_DATASET) and not osp.isdir(self.saliency):
            raise FileNotFoundError(f"saliency folder not found: {self.saliency}")
        if self.cams_dir is not None and not osp.isdir(self.cams_dir):
            raise FileNotFoundError(f"CAM folder not found: {self.cams_dir}")

    @classmethod
    def build(cls, settings: Union[None, dict, PseudoMaskSettings]) -> PseudoMaskSettings:
        """Settings from a dict of the fields above (unknown keys raise), or as given."""
        if isinstance(settings, cls):
            return settings
        values = dict(settings or {})
        if "readout" in values:
            raise ValueError(
                "stage 2 reads the model's test_cfg, not a 'readout' setting: set "
                "model.test_cfg in the config (or tools/gen_pseudo.py's --scales, --bg-thr, ...)"
            )
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown stage-2 settings {unknown}; known: {sorted(known)}")
        return cls(**values)

    def with_readout(self, readout: CAMReadoutConfig) -> PseudoMaskSettings:
        """A copy that records the run's readout (the model's ``test_cfg``)."""
        if not isinstance(readout, CAMReadoutConfig):
            raise TypeError(f"the readout must be a CAMReadoutConfig, got {type(readout).__name__}")
        resolved = dataclasses.replace(self)
        resolved.readout = readout
        return resolved

    def prefetch_for(self, device: torch.device) -> int:
        """``prefetch_batches``, or its default for a model on ``device``."""
        if self.prefetch_batches is not None:
            return self.prefetch_batches
        return CUDA_PREFETCH_BATCHES if device.type == "cuda" else 0

    def writer_threads_for(self, device: torch.device) -> int:
        """``writer_threads``, or its default for a model on ``device``."""
        if self.writer_threads is not None:
            return self.writer_threads
        return CUDA_WRITER_THREADS if device.type == "cuda" else 0

    @property
    def thresholds(self) -> List[float]:
        """The scored thresholds: the sweep and ``bg_thr``, sorted."""
        bg_thr = self.readout.bg_thr if self.readout is not None else CAMReadoutConfig.bg_thr
        return sorted({round(float(t), 6) for t in list(self.sweep) + [bg_thr]})

    def signature(self) -> Dict[str, Any]:
        """The settings that decide the written files' content (checked when resuming).

        With ``cams_dir`` the CAM settings are those of the CAM files
        (``'from <dir>'``; a caller that knows more adds it to the signature).
        The readout's ``score`` is recorded when it is not the default ``'logits'``.
        """
        readout = (self.readout or CAMReadoutConfig()).to_dict()
        cam: Any = {key: readout[key] for key in ("scales", "flip", "interp", "fp16")}
        if readout["score"] != CAMReadoutConfig.score:  # only when set: older folders resume
            cam["score"] = readout["score"]
        if self.cams_dir is not None:
            cam = f"from {osp.abspath(self.cams_dir)}"
        saliency = self.saliency
        if saliency not in (None, SALIENCY_FROM_DATASET):
            saliency = osp.abspath(saliency)
        return dict(
            cam=cam,
            bg_thr=round(float(readout["bg_thr"]), 6),
            saliency=saliency,
            sal_thr=round(float(self.sal_thr), 6) if self.saliency else None,
            crf=readout["crf"],
        )

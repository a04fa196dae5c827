"""Per-batch work of stage 2: the model's CAM readout, masks, file writes and scores.

Per batch the device work of every image is queued first, then one
asynchronous copy to the host, then the file writes go to the writer (its
threads wait for the copy), and last the scores (which read the device).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..evaluation import ThresholdSweepMetric, confusion_matrix
from ..models.classifiers.cam_readout import present_classes
from ..models.postprocess.dense_crf import crf_image
from ..models.postprocess.pseudo_mask import cam_peaks, make_mask, sweep_masks
from .async_writer import AsyncWriter
from .outputs import Palette, submit_writes, to_host
from .planning import ImageRecord
from .settings import PseudoMaskSettings


def model_device(model: Optional[torch.nn.Module]) -> torch.device:
    """The device of the model's first parameter (CPU without a model or parameters)."""
    for param in model.parameters() if model is not None else ():
        return param.device
    return torch.device("cpu")


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or (
        isinstance(exc, RuntimeError) and "memory" in str(exc).lower()
    )


def group_by_size(records: Sequence[ImageRecord]) -> List[List[ImageRecord]]:
    """Records grouped by equal image (H, W), in first-seen order."""
    groups: Dict[Tuple[int, ...], List[ImageRecord]] = {}
    for record in records:
        groups.setdefault(tuple(record.img.shape[:2]), []).append(record)
    return list(groups.values())


class BatchProcessor:
    """Processes loaded records: CAMs, masks, files and confusion matrices.

    Args:
        model: an ``L2GClassifier`` (its data preprocessor and ``inference``:
            the readout of its ``test_cfg``), in eval mode; ``None`` when every
            CAM comes from a file.
        settings: the run's settings (``readout``: the model's ``test_cfg``).
        metric: the threshold sweep the scored images are added to.
        palette: the class colours of the masks.
        writer: the file writer.
    """

    def __init__(
        self,
        model: Optional[torch.nn.Module],
        settings: PseudoMaskSettings,
        metric: ThresholdSweepMetric,
        palette: Palette,
        writer: AsyncWriter,
    ) -> None:
        self.model = model
        self.settings = settings
        self.readout = settings.readout
        self.metric = metric
        self.palette = palette
        self.writer = writer
        self.device = model_device(model)
        self.failures: List[Tuple[int, str, str]] = []
        self.num_processed = 0
        self.num_written = 0

    def process(self, batch: List[ImageRecord]) -> None:
        """Reads, masks, writes and scores one loaded batch."""
        for record in batch:
            if record.error is not None:
                self._fail(record, record.error)
        network = [r for r in batch if r.error is None and r.cams is None]
        for group in group_by_size(network):
            self._infer(group)
        prepared = [r for r in batch if r.error is None and self._prepare(r)]
        # What the files need, copied to the host in one go: the mask (unless a
        # CRF made it there already) and the CAMs when a file holds them.
        needed: List[Optional[torch.Tensor]] = []
        for record in prepared:
            files_cams = record.cams_out is not None or record.vis_out is not None
            needed.append(record.mask if isinstance(record.mask, torch.Tensor) else None)
            needed.append(record.cams16 if files_cams else None)
        host, wait = to_host(needed)
        for index, record in enumerate(prepared):
            mask = host[2 * index] if host[2 * index] is not None else record.mask
            cams = host[2 * index + 1]
            names = self.metric.class_names
            submit_writes(self.writer, record, mask, cams, wait, self.palette, names)
        for record in prepared:
            if record.evaluate:
                self._score(record)
        self.num_processed += len(prepared)
        self.num_written += sum(record.writes for record in prepared)
        for record in batch:
            record.release()

    def _infer(self, group: List[ImageRecord]) -> None:
        """The model's CAM readout of same-size images; an image that does not fit fails."""
        if self.model is None:
            raise RuntimeError("CAMs must be computed but no model was given")
        classes = [present_classes(r.info["gt_label"]) for r in group]
        batch = torch.from_numpy(np.stack([r.img for r in group])).permute(0, 3, 1, 2)
        try:
            inputs = self.model.data_preprocessor(dict(inputs=batch), False)["inputs"]
            cams = self.model.inference(inputs, classes)
        except (RuntimeError, MemoryError) as exc:
            if not _is_out_of_memory(exc):
                raise
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(group) > 1:  # one at a time: only the images that do not fit fail
                for record in group:
                    self._infer([record])
                return
            self._fail(group[0], f"out of memory reading its CAMs ({type(exc).__name__}: {exc})")
            return
        for record, cam, label in zip(group, cams, classes):
            record.cams, record.classes = cam.half(), label

    def _fail(self, record: ImageRecord, reason: str) -> None:
        record.error = reason
        self.failures.append((record.position, record.img_id, reason))

    def _prepare(self, record: ImageRecord) -> bool:
        """Queues an image's device work (peaks, mask); ``False`` when it failed."""
        classes = torch.as_tensor(record.classes, dtype=torch.long).cpu()
        expected = present_classes(record.info["gt_label"])
        if not torch.equal(classes, expected):
            self._fail(
                record,
                f"CAM file {record.cams_path} holds classes {classes.tolist()} but the dataset "
                f"labels the image with {expected.tolist()}",
            )
            return False
        record.classes = classes
        # float16 CAMs are the reference: masks from a CAM file equal fresh ones.
        record.cams16 = torch.as_tensor(record.cams).to(self.device, non_blocking=True)
        sal = None
        if record.sal is not None:
            sal = torch.from_numpy(record.sal).to(self.device, non_blocking=True)
        if record.mask_out is not None or record.vis_out is not None:
            image_rgb = None
            if self.readout.crf is not None:
                image = torch.from_numpy(np.ascontiguousarray(record.img)).permute(2, 0, 1)
                image_rgb = crf_image(image, record.img.shape[:2], bgr=True)
            record.mask, record.score, record.value = make_mask(
                record.cams16,
                classes,
                self.readout.bg_thr,
                sal,
                self.settings.sal_thr,
                self.readout.crf,
                image_rgb,
                self.metric.num_classes,
            )
        else:
            record.score, record.value = cam_peaks(
                record.cams16.float(), classes.to(self.device, non_blocking=True)
            )
        record.sal = sal
        return True

    def _score(self, record: ImageRecord) -> None:
        """Adds the confusion matrices of the swept thresholds (reads the device)."""
        preds = sweep_masks(
            record.score, record.value, self.metric.thresholds, record.sal, self.settings.sal_thr
        )
        gt = torch.from_numpy(record.gt).to(self.device, non_blocking=True)
        confusion = confusion_matrix(preds, gt, self.metric.num_classes)
        self.metric.process(None, [dict(confusion=confusion)])

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
from .image_result import ImageResult
from .loading import LoadedImage
from .outputs import Palette, submit_writes, to_host
from .planning import ImagePlan
from .settings import PseudoMaskSettings

# Per image position: its CAMs (float16, on the device) and their classes.
ComputedCAMs = Dict[int, Tuple[torch.Tensor, torch.Tensor]]


def model_device(model: Optional[torch.nn.Module]) -> torch.device:
    """The device of the model's first parameter (CPU without a model or parameters)."""
    for param in model.parameters() if model is not None else ():
        return param.device
    return torch.device("cpu")


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or (
        isinstance(exc, RuntimeError) and "memory" in str(exc).lower()
    )


def group_by_size(images: Sequence[LoadedImage]) -> List[List[LoadedImage]]:
    """Images grouped by equal (H, W), in first-seen order."""
    groups: Dict[Tuple[int, ...], List[LoadedImage]] = {}
    for loaded in images:
        groups.setdefault(tuple(loaded.img.shape[:2]), []).append(loaded)
    return list(groups.values())


class BatchProcessor:
    """Processes loaded images: CAMs, masks, files and confusion matrices.

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

    def process(self, batch: List[LoadedImage]) -> None:
        """Reads, masks, writes and scores one loaded batch."""
        for loaded in batch:
            if loaded.error is not None:
                self._fail(loaded.plan, loaded.error)
        readable = [loaded for loaded in batch if loaded.error is None]
        computed: ComputedCAMs = {}
        for group in group_by_size([loaded for loaded in readable if loaded.cams is None]):
            computed.update(self._infer(group))
        results: List[ImageResult] = []
        for loaded in readable:
            cams, classes = computed.get(loaded.plan.position, (loaded.cams, loaded.classes))
            if cams is None:  # its readout failed (recorded)
                continue
            result = self._prepare(loaded, cams, classes)
            if result is not None:
                results.append(result)
        # What the files need, copied to the host in one go: the mask (unless a
        # CRF made it there already) and the CAMs when a file holds them.
        needed: List[Optional[torch.Tensor]] = []
        for result in results:
            files_cams = result.plan.cams_out is not None or result.plan.vis_out is not None
            needed.append(result.mask if isinstance(result.mask, torch.Tensor) else None)
            needed.append(result.cams16 if files_cams else None)
        host, wait = to_host(needed)
        for index, result in enumerate(results):
            mask = host[2 * index] if host[2 * index] is not None else result.mask
            cams = host[2 * index + 1]
            names = self.metric.class_names
            submit_writes(self.writer, result, mask, cams, wait, self.palette, names)
        for result in results:
            if result.plan.evaluate:
                self._score(result)
        self.num_processed += len(results)
        self.num_written += sum(result.plan.writes for result in results)

    def _infer(self, group: List[LoadedImage]) -> ComputedCAMs:
        """The model's CAM readout of same-size images; an image that does not fit fails."""
        if self.model is None:
            raise RuntimeError("CAMs must be computed but no model was given")
        classes = [present_classes(loaded.plan.info["gt_label"]) for loaded in group]
        batch = torch.from_numpy(np.stack([loaded.img for loaded in group])).permute(0, 3, 1, 2)
        try:
            inputs = self.model.data_preprocessor(dict(inputs=batch), False)["inputs"]
            cams = self.model.inference(inputs, classes)
        except (RuntimeError, MemoryError) as exc:
            if not _is_out_of_memory(exc):
                raise
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(group) > 1:  # one at a time: only the images that do not fit fail
                computed: ComputedCAMs = {}
                for loaded in group:
                    computed.update(self._infer([loaded]))
                return computed
            reason = f"out of memory reading its CAMs ({type(exc).__name__}: {exc})"
            self._fail(group[0].plan, reason)
            return {}
        return {
            loaded.plan.position: (cam.half(), label)
            for loaded, cam, label in zip(group, cams, classes)
        }

    def _fail(self, plan: ImagePlan, reason: str) -> None:
        self.failures.append((plan.position, plan.img_id, reason))

    def _prepare(
        self, loaded: LoadedImage, cams: torch.Tensor, classes: torch.Tensor
    ) -> Optional[ImageResult]:
        """Queues an image's device work (peaks, mask); ``None`` when it failed."""
        plan = loaded.plan
        classes = torch.as_tensor(classes, dtype=torch.long).cpu()
        expected = present_classes(plan.info["gt_label"])
        if not torch.equal(classes, expected):
            self._fail(
                plan,
                f"CAM file {plan.cams_path} holds classes {classes.tolist()} but the dataset "
                f"labels the image with {expected.tolist()}",
            )
            return None
        # float16 CAMs are the reference: masks from a CAM file equal fresh ones.
        cams16 = cams.to(self.device, non_blocking=True)
        sal = None
        if loaded.sal is not None:
            sal = torch.from_numpy(loaded.sal).to(self.device, non_blocking=True)
        mask = None
        if plan.mask_out is not None or plan.vis_out is not None:
            image_rgb = None
            if self.readout.crf is not None:
                image = torch.from_numpy(np.ascontiguousarray(loaded.img)).permute(2, 0, 1)
                image_rgb = crf_image(image, loaded.img.shape[:2], bgr=True)
            mask, score, value = make_mask(
                cams16,
                classes,
                self.readout.bg_thr,
                sal,
                self.settings.sal_thr,
                self.readout.crf,
                image_rgb,
                self.metric.num_classes,
            )
        else:
            score, value = cam_peaks(cams16.float(), classes.to(self.device, non_blocking=True))
        return ImageResult(plan, classes, cams16, score, value, mask, sal, loaded.img, loaded.gt)

    def _score(self, result: ImageResult) -> None:
        """Adds the confusion matrices of the swept thresholds (reads the device)."""
        preds = sweep_masks(
            result.score, result.value, self.metric.thresholds, result.sal, self.settings.sal_thr
        )
        gt = torch.from_numpy(result.gt).to(self.device, non_blocking=True)
        confusion = confusion_matrix(preds, gt, self.metric.num_classes)
        self.metric.process(None, [dict(confusion=confusion)])

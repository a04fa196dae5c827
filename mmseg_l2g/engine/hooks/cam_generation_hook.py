"""CAMGenerationHook: stage 2 inside an L2G training run.

After training (default), or every ``interval`` epochs / iterations, it reads
the global network's CAMs on a subset of images with ground-truth masks,
scores the pseudo masks over background thresholds and logs
``pseudo_miou`` (at the best threshold) and ``pseudo_best_thr`` through the
message hub and the visualizer's backends. With ``save_masks`` it writes the
full pseudo-mask set into ``work_dir/pseudo_masks`` after training, scored
on every image with a mask. It calls the same code as ``tools/gen_pseudo.py``
(:func:`mmseg_l2g.apis.generate_pseudo_masks`).
"""

from __future__ import annotations

import dataclasses
import os.path as osp
from typing import Any, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...apis.builders import build_stage2_dataset, spread_indices_with_masks
from ...apis.cam_inference import DEFAULT_SCALES, CAMInferenceConfig
from ...apis.generation import DEFAULT_SWEEP, PseudoMaskSettings, generate_pseudo_masks


@HOOKS.register_module()
class CAMGenerationHook(Hook):
    """Scores (and optionally writes) pseudo masks during / after training.

    Args:
        interval: run every this many epochs (``by_epoch``) or iterations;
            ``None`` runs only after training.
        by_epoch: count ``interval`` in epochs, else in iterations.
        dataset: dataset config to run on; ``None`` takes the train
            dataloader's dataset.
        num_images: size of the scored subset (images with masks, spread
            evenly over the dataset).
        scales: CAM scales.
        flip: add horizontally flipped passes.
        interp: upsampling of the maps, ``'bicubic'`` or ``'bilinear'``.
        fp16: float16 autocast on CUDA.
        bg_thr: background score of written masks.
        bg_thrs: thresholds of the sweep.
        saliency: ``None`` (threshold mode), ``'dataset'`` or a folder, for
            the saliency-fused mode.
        sal_thr: saliency threshold of the fused mode.
        save_masks: after training, write the full set into
            ``work_dir/<out_dir_name>`` (all images, scored where masks exist).
        save_cams: with ``save_masks``, also write the CAM files.
        batch_size: images loaded together.
        num_workers: image-loading workers.
        out_dir_name: folder under ``work_dir`` for ``save_masks``.
    """

    priority = "LOW"

    def __init__(
        self,
        interval: Optional[int] = None,
        by_epoch: bool = True,
        dataset: Optional[dict] = None,
        num_images: int = 64,
        scales: Sequence[float] = DEFAULT_SCALES,
        flip: bool = True,
        interp: str = "bicubic",
        fp16: bool = False,
        bg_thr: float = 0.25,
        bg_thrs: Sequence[float] = DEFAULT_SWEEP,
        saliency: Optional[str] = None,
        sal_thr: float = 0.5,
        save_masks: bool = False,
        save_cams: bool = False,
        batch_size: int = 4,
        num_workers: int = 0,
        out_dir_name: str = "pseudo_masks",
    ) -> None:
        if interval is not None and interval < 1:
            raise ValueError(f"interval must be a positive int or None, got {interval}")
        if num_images < 1:
            raise ValueError(f"num_images must be positive, got {num_images}")
        self.interval = interval
        self.by_epoch = by_epoch
        self.dataset_cfg = dataset
        self.num_images = num_images
        self.save_masks = save_masks
        self.out_dir_name = out_dir_name
        self.settings = PseudoMaskSettings(
            cam=CAMInferenceConfig(tuple(scales), flip, interp, fp16),
            bg_thr=bg_thr,
            sweep=tuple(bg_thrs),
            saliency=saliency,
            sal_thr=sal_thr,
            save_cams=save_cams,
            num_vis=0,
            batch_size=batch_size,
            num_workers=num_workers,
        )
        self._dataset: Any = None
        self._last_run_iter: Optional[int] = None

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None
    ) -> None:
        """Runs every ``interval`` iterations when ``by_epoch`` is False."""
        if self.interval and not self.by_epoch and self.every_n_train_iters(runner, self.interval):
            self._score_subset(runner, runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        """Runs every ``interval`` epochs when ``by_epoch`` is True."""
        if self.interval and self.by_epoch and self.every_n_epochs(runner, self.interval):
            self._score_subset(runner, runner.iter)

    def after_train(self, runner) -> None:
        """Runs after training (full generation with ``save_masks``)."""
        if self.save_masks:
            self._generate_all(runner)
        elif self._last_run_iter != runner.iter:
            self._score_subset(runner, runner.iter)

    # ------------------------------------------------------------------ work
    def _model(self, runner) -> Any:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _get_dataset(self, runner) -> Any:
        if self._dataset is None:
            source = self.dataset_cfg
            if source is None:
                source = runner.train_dataloader.dataset
            self._dataset = build_stage2_dataset(source)
        return self._dataset

    def _score_subset(self, runner, step: int) -> None:
        dataset = self._get_dataset(runner)
        indices = spread_indices_with_masks(dataset, self.num_images)
        self._last_run_iter = step
        if not indices:
            runner.logger.warning(
                "CAMGenerationHook: no image of the dataset has a ground-truth mask; "
                "pseudo-mask mIoU not logged"
            )
            return
        result = generate_pseudo_masks(
            self._model(runner), dataset, None, self.settings, indices, progress=False
        )
        self._log(runner, result.metrics, step)

    def _generate_all(self, runner) -> None:
        out_dir = osp.join(runner.work_dir, self.out_dir_name)
        settings = dataclasses.replace(self.settings, overwrite=True, num_vis=8)
        runner.logger.info(f"CAMGenerationHook: writing pseudo masks to {out_dir}")
        result = generate_pseudo_masks(
            self._model(runner), self._get_dataset(runner), out_dir, settings
        )
        if result.failures:
            runner.logger.warning(
                f"CAMGenerationHook: {len(result.failures)} images failed "
                f"(see {osp.join(out_dir, 'failed.json')})"
            )
        self._log(runner, result.metrics, runner.iter)

    def _log(self, runner, metrics: Optional[dict], step: int) -> None:
        if metrics is None or metrics["best_thr"] is None:
            runner.logger.warning(
                "CAMGenerationHook: no scored pixels; pseudo-mask mIoU not logged"
            )
            return
        scalars = dict(
            pseudo_miou=metrics["best_miou"],
            pseudo_best_thr=metrics["best_thr"],
            pseudo_miou_at_bg_thr=metrics["chosen"]["miou"],
        )
        scalars = {key: float(value) for key, value in scalars.items() if value is not None}
        for key, value in scalars.items():
            runner.message_hub.update_scalar(key, value)
        runner.visualizer.add_scalars(scalars, step=step)
        runner.logger.info(
            f"CAMGenerationHook (iter {step}): pseudo-mask mIoU {100 * scalars['pseudo_miou']:.2f} "
            f"at bg_thr {scalars['pseudo_best_thr']:.3f} over {metrics['num_images']} images"
        )

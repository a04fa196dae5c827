"""CAMGenerationHook: stage 2 inside an L2G training run.

After training (default), or every ``interval`` epochs / iterations, it runs
stage 2 (:func:`mmseg_l2g.stage2.generate_pseudo_masks`, the code of
``tools/gen_pseudo.py``) on a subset of images with ground-truth masks and
logs ``pseudo_miou`` (%, at the best threshold), ``pseudo_best_thr`` and
``pseudo_miou_at_bg_thr``. The readout is the model's ``test_cfg`` and
nothing else (stage 2's: its scales and flips; validation reads the same
``test_cfg`` in one pass). With ``save_masks`` it
writes the full pseudo-mask set into ``work_dir/<out_dir_name>`` after training.
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Any, Optional

import cv2
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...datasets.builders import build_stage2_dataset, spread_indices_with_masks
from ...stage2 import PseudoMaskSettings, generate_pseudo_masks


@HOOKS.register_module()
class CAMGenerationHook(Hook):
    """Scores (and optionally writes) pseudo masks during / after training.

    Args:
        interval: run every this many epochs (``by_epoch``) or iterations;
            ``None`` runs only after training.
        by_epoch: count ``interval`` in epochs, else in iterations.
        dataset: dataset config to run on; ``None`` takes the train dataloader's.
        num_images: size of the scored subset (images with masks, evenly spread).
        save_masks: after training, write the full set into ``work_dir/<out_dir_name>``.
        out_dir_name: folder under ``work_dir`` for ``save_masks``.
        settings: stage-2 settings (:class:`~mmseg_l2g.stage2.PseudoMaskSettings`
            fields, e.g. ``dict(sweep=(0.1, 0.2), batch_size=8)``); the readout
            is ``model.test_cfg``.
    """

    priority = "LOW"

    def __init__(
        self,
        interval: Optional[int] = None,
        by_epoch: bool = True,
        dataset: Optional[dict] = None,
        num_images: int = 64,
        save_masks: bool = False,
        out_dir_name: str = "pseudo_masks",
        settings: Optional[dict] = None,
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
        self.settings = dict(settings or {})
        PseudoMaskSettings.build(self.settings)  # bad settings fail at build time
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

    def _model(self, runner) -> Any:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _get_dataset(self, runner) -> Any:
        if self._dataset is None:
            source = self.dataset_cfg or runner.train_dataloader.dataset
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
        settings = dict(self.settings, num_vis=0)
        model = self._model(runner)
        result = generate_pseudo_masks(model, dataset, None, settings, indices, progress=False)
        self._log(runner, result.metrics, step)

    def _generate_all(self, runner) -> None:
        out_dir = osp.join(runner.work_dir, self.out_dir_name)
        settings = {**dict(num_vis=8), **self.settings, "overwrite": True}
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
        self._send_overlays(runner, osp.join(out_dir, "vis"))

    @staticmethod
    def _send_overlays(runner, vis_dir: str) -> None:
        """Sends the written CAM overlays to the visualizer (its vis backends).

        With a ``TensorboardVisBackend`` or ``WandbVisBackend`` configured they
        appear there as ``cam_overlay_<img_id>``; the local backend keeps a copy
        under the run's ``vis_data``.
        """
        if not osp.isdir(vis_dir):
            return
        for name in sorted(os.listdir(vis_dir)):
            if name.endswith(".jpg"):
                bgr = cv2.imread(osp.join(vis_dir, name), cv2.IMREAD_COLOR)
                if bgr is not None:
                    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    runner.visualizer.add_image(f"cam_overlay_{name[:-4]}", image, runner.iter)

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
            f"CAMGenerationHook (iter {step}): pseudo-mask mIoU {scalars['pseudo_miou']:.2f} "
            f"at bg_thr {scalars['pseudo_best_thr']:.3f} over {metrics['num_images']} images"
        )

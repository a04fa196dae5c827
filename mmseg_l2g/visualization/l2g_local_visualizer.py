"""L2GLocalVisualizer: mmseg's SegLocalVisualizer that also draws L2G's local views and CAMs."""

from typing import List, Optional

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.visualization import Visualizer
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

L2G_FIELDS = ("local_boxes", "local_saliency", "pred_cam")
BOX_COLOR = (255, 255, 0)


@VISUALIZERS.register_module()
class L2GLocalVisualizer(SegLocalVisualizer):
    """``SegLocalVisualizer`` plus the L2G fields of a data sample, as extra panels.

    For a sample without L2G fields it draws exactly what ``SegLocalVisualizer``
    draws. Otherwise the panels, left to right: the image with its local views
    (``local_boxes``, yellow) and the ground-truth mask when drawn; the saliency
    seen by the local views (``local_saliency`` crops pasted back at their
    boxes, the maximum where they overlap, black where no view looks); the
    predicted mask; the CAM (``pred_cam``, the maximum over classes, a colour
    map over the image). So mmseg's ``browse_dataset.py`` shows a training
    sample's local views and saliency, and ``tools/test.py --show-dir`` its CAM.

    One instance per run: built with a ``save_dir`` other than that of the
    instance already holding its name (a second Runner in the same process),
    it replaces that instance as the current one, instead of sending the new
    run's images and scalars to the first run's folder.

    Args:
        name: the instance name (mmseg's configs: ``'visualizer'``).
        save_dir: the folder of the vis backends.
        **kwargs: ``SegLocalVisualizer`` arguments.
    """

    def __init__(self, name: str = "visualizer", save_dir: Optional[str] = None, **kwargs) -> None:
        super().__init__(name=name, save_dir=save_dir, **kwargs)
        self.requested_save_dir = save_dir

    @classmethod
    def get_instance(cls, name: str, **kwargs) -> "L2GLocalVisualizer":
        """The instance named ``name``; a new one when ``save_dir`` differs (see the class).

        The instance is also the current one of every visualizer class above
        this one: mmseg 1.2.1's ``SegVisualizationHook`` asks
        ``SegLocalVisualizer.get_current_instance()``, 1.2.2's
        ``Visualizer.get_current_instance()``.
        """
        registries = [
            klass._instance_dict
            for klass in cls.__mro__
            if issubclass(klass, Visualizer) and "_instance_dict" in vars(klass)
        ]
        existing = cls._instance_dict.get(name)
        save_dir = kwargs.get("save_dir")
        if (
            existing is not None
            and save_dir is not None
            and existing.requested_save_dir != save_dir
        ):
            for registry in registries:
                registry.pop(name, None)
        instance = super().get_instance(name, **kwargs)
        for registry in registries:
            if registry.get(name) is not instance:
                registry.pop(name, None)
                registry[name] = instance
        return instance

    def add_datasample(
        self,
        name: str,
        image: np.ndarray,
        data_sample: Optional[SegDataSample] = None,
        draw_gt: bool = True,
        draw_pred: bool = True,
        show: bool = False,
        wait_time: float = 0,
        out_file: Optional[str] = None,
        step: int = 0,
        with_labels: Optional[bool] = True,
    ) -> None:
        """Draws the panels (see the class) and saves them to the backends or ``out_file``.

        Args:
            name: the image's identifier.
            image: RGB (H, W, 3) uint8 image the sample's fields refer to.
            data_sample: the sample; None draws the image alone.
            draw_gt: draw ``gt_sem_seg``.
            draw_pred: draw ``pred_sem_seg`` and ``pred_cam``.
            show: show in a window instead of saving to the backends.
            wait_time: seconds a shown image stays.
            out_file: write the drawing here instead of the backends.
            step: the backends' step.
            with_labels: write class names on the masks.
        """
        if data_sample is not None and not any(key in data_sample for key in L2G_FIELDS):
            if (draw_gt and "gt_sem_seg" in data_sample) or (
                draw_pred and "pred_sem_seg" in data_sample
            ):
                super().add_datasample(
                    name, image, data_sample, draw_gt, draw_pred, show, wait_time,
                    out_file, step, with_labels,
                )  # fmt: skip
                return
        panels = self.draw_panels(image, data_sample, draw_gt, draw_pred, with_labels)
        drawn = np.concatenate(panels, axis=1)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)

    def draw_panels(
        self,
        image: np.ndarray,
        data_sample: Optional[SegDataSample],
        draw_gt: bool = True,
        draw_pred: bool = True,
        with_labels: Optional[bool] = True,
    ) -> List[np.ndarray]:
        """The RGB (H, W, 3) panels of a sample, left to right (see the class)."""
        image = np.ascontiguousarray(image)
        if data_sample is None:
            return [image]
        classes = self.dataset_meta.get("classes")
        palette = self.dataset_meta.get("palette")
        first = image
        if "local_boxes" in data_sample:
            first = self.draw_local_boxes(image, data_sample.local_boxes)
        if draw_gt and "gt_sem_seg" in data_sample:
            first = self._draw_sem_seg(first, data_sample.gt_sem_seg, classes, palette, with_labels)
        panels = [first]
        if "local_saliency" in data_sample and "local_boxes" in data_sample:
            panels.append(
                saliency_panel(data_sample.local_saliency, data_sample.local_boxes, image.shape)
            )
        if draw_pred and "pred_sem_seg" in data_sample:
            panels.append(
                self._draw_sem_seg(image, data_sample.pred_sem_seg, classes, palette, with_labels)
            )
        if draw_pred and "pred_cam" in data_sample:
            cam = data_sample.pred_cam.data.float().amax(dim=0, keepdim=True)
            panels.append(self.draw_featmap(cam.cpu(), image, channel_reduction="squeeze_mean"))
        return panels

    def draw_local_boxes(self, image: np.ndarray, boxes: torch.Tensor) -> np.ndarray:
        """The image with the local views' boxes (x1, y1, x2, y2) drawn on it."""
        height, width = image.shape[:2]
        boxes = torch.as_tensor(boxes).float().cpu().clone()
        # x2 = width is the last pixel's far edge; clip into the image so it shows.
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width - 1)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height - 1)
        self.set_image(image)
        self.draw_bboxes(boxes, edge_colors=BOX_COLOR, line_widths=1)
        return self.get_image()


def saliency_panel(crops: torch.Tensor, boxes: torch.Tensor, image_shape: tuple) -> np.ndarray:
    """Local saliency crops pasted back at their boxes, as an RGB uint8 image.

    Args:
        crops: (N, 1, S, S) or (N, S, S) saliency in [0, 1].
        boxes: (N, 4) x1, y1, x2, y2 in image pixels.
        image_shape: (H, W, ...) of the image.

    Returns:
        (H, W, 3) uint8 grey image: the maximum of the crops covering each
        pixel, 0 where none does.
    """
    height, width = image_shape[:2]
    crops = torch.as_tensor(crops).float().cpu()
    crops = crops[:, None] if crops.ndim == 3 else crops
    canvas = torch.zeros((height, width))
    for crop, box in zip(crops, torch.as_tensor(boxes).cpu().round().long()):
        x1, y1 = max(int(box[0]), 0), max(int(box[1]), 0)
        x2, y2 = min(int(box[2]), width), min(int(box[3]), height)
        if x2 <= x1 or y2 <= y1:
            continue
        full = F.interpolate(
            crop[None],
            size=(int(box[3] - box[1]), int(box[2] - box[0])),
            mode="bilinear",
            align_corners=False,
        )[0, 0]
        full = full[y1 - int(box[1]) : y2 - int(box[1]), x1 - int(box[0]) : x2 - int(box[0])]
        canvas[y1:y2, x1:x2] = torch.maximum(canvas[y1:y2, x1:x2], full)
    grey = (canvas.clamp(0, 1) * 255).round().byte().numpy()
    return np.repeat(grey[..., None], 3, axis=2)

"""L2GLocalVisualizer: mmseg's SegLocalVisualizer drawing THE one layout of every L2G picture."""

from typing import List, Optional, Sequence

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import master_only
from mmengine.visualization import Visualizer
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from .cam_overlay import heat_overlay
from .panel_text import every_rank, stack_panels
from .panels import Panel, fit_maps, fit_mask, mask_panel

BOX_COLOR = (255, 255, 0)
HEAT_ALPHA = 0.5
DEFAULT_ALPHA = 0.5
TITLES = dict(image="image", saliency="saliency", cam="CAM", pred="mask", gt="ground truth")


@VISUALIZERS.register_module()
class L2GLocalVisualizer(SegLocalVisualizer):
    """``SegLocalVisualizer`` drawing the one L2G layout, whoever asks.

    The panels, left to right, each under a title: ``image`` (with the local
    views' boxes, ``local_boxes``, in yellow); ``saliency`` (the
    ``local_saliency`` crops pasted back at their boxes, the maximum where they
    overlap, black where no view looks); ``CAM`` (``pred_cam``: the JET heat
    map of the largest class map, absolute [0, 1] scale, over the image);
    ``mask`` (``pred_sem_seg``: predicted or pseudo mask, palette colours at
    opacity ``alpha``); ``ground truth`` (``gt_sem_seg``). A panel is drawn
    only when its field is there (and ``draw_pred`` / ``draw_gt`` allow).
    Under the panels, with labels, a legend band: under each mask the classes
    present in it (palette swatch and name). gen_pseudo's ``vis/``,
    ``MMSegInferencer``, ``demo/image_demo.py``, ``tools/test.py --show-dir``
    and ``browse_dataset.py`` all draw through :meth:`draw_layout`.

    One instance per run: built with a ``save_dir`` other than that of the
    instance already holding its name (a second Runner in the same process),
    it replaces that instance as the current one, instead of sending the new
    run's images and scalars to the first run's folder.

    Args:
        name: the instance name (mmseg's configs: ``'visualizer'``).
        save_dir: the folder of the vis backends.
        alpha: opacity of the mask colours (default 0.5, stage 2's; mmseg's is 0.8).
        **kwargs: ``SegLocalVisualizer`` arguments.
    """

    def __init__(
        self,
        name: str = "visualizer",
        save_dir: Optional[str] = None,
        alpha: float = DEFAULT_ALPHA,
        **kwargs,
    ) -> None:
        super().__init__(name=name, save_dir=save_dir, alpha=alpha, **kwargs)
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

    @master_only
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
        """Draws the layout (:meth:`draw_layout`) and saves it to the backends or ``out_file``.

        Afterwards ``get_image()`` gives the drawing (``MMSegInferencer``'s ``return_vis``).

        Args:
            name: the image's identifier.
            image: RGB (H, W, 3) uint8 image the sample's fields refer to.
            data_sample: the sample; None draws the image alone.
            draw_gt: draw ``gt_sem_seg``.
            draw_pred: draw ``pred_cam`` and ``pred_sem_seg``.
            show: show in a window instead of saving to the backends.
            wait_time: seconds a shown image stays.
            out_file: write the drawing here instead of the backends.
            step: the backends' step.
            with_labels: the class legend under the masks.
        """
        drawn = self.draw_layout(image, data_sample, draw_gt, draw_pred, bool(with_labels))
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)

    def draw_layout(
        self,
        image: np.ndarray,
        data_sample: Optional[SegDataSample] = None,
        draw_gt: bool = True,
        draw_pred: bool = True,
        with_labels: bool = True,
        classes: Optional[Sequence[str]] = None,
        palette: Optional[Sequence[Sequence[int]]] = None,
    ) -> np.ndarray:
        """THE drawing of a sample: its panels side by side, titled, masks with a class legend.

        Works on every rank (stage 2 draws there); see the class for the panels.

        Args:
            image: RGB (H, W, 3) uint8 image the sample's fields refer to.
            data_sample: the sample; None draws the image alone.
            draw_gt: draw ``gt_sem_seg``.
            draw_pred: draw ``pred_cam`` and ``pred_sem_seg``.
            with_labels: the legend band under the panels.
            classes: class names (default: ``dataset_meta``'s).
            palette: RGB class colours (default: ``dataset_meta``'s).

        Returns:
            RGB (T + H + L, n * W, 3) uint8: title band T, legend band L
            (one row per class of the mask showing most classes; 0 without).
        """
        meta = self._dataset_meta or {}
        classes = list(classes if classes is not None else meta.get("classes") or ())
        palette = list(palette if palette is not None else meta.get("palette") or ())
        panels = self.draw_panels(image, data_sample, draw_gt, draw_pred, classes, palette)
        rows = max(len(legend) for _, _, legend in panels) if with_labels else 0
        return stack_panels(self, panels, rows)

    def draw_panels(
        self,
        image: np.ndarray,
        data_sample: Optional[SegDataSample],
        draw_gt: bool,
        draw_pred: bool,
        classes: Sequence[str],
        palette: Sequence[Sequence[int]],
    ) -> List[Panel]:
        """The (title, RGB (H, W, 3) picture, legend entries) panels, left to right."""
        image = np.ascontiguousarray(image, dtype=np.uint8)
        shape = image.shape[:2]
        first = image
        if data_sample is not None and "local_boxes" in data_sample:
            first = self.draw_local_boxes(image, data_sample.local_boxes)
        panels: List[Panel] = [(TITLES["image"], first, [])]
        if data_sample is None:
            return panels
        if "local_saliency" in data_sample and "local_boxes" in data_sample:
            saliency = saliency_panel(data_sample.local_saliency, data_sample.local_boxes, shape)
            panels.append((TITLES["saliency"], saliency, []))
        if draw_pred and "pred_cam" in data_sample:
            cams = fit_maps(data_sample.pred_cam.data, shape)
            panels.append((TITLES["cam"], heat_overlay(image, cams, HEAT_ALPHA), []))
        layers = [("pred", "pred_sem_seg", draw_pred), ("gt", "gt_sem_seg", draw_gt)]
        for title, key, wanted in layers:
            if wanted and key in data_sample:
                mask = fit_mask(data_sample.get(key).data, shape)
                picture, legend = mask_panel(image, mask, classes, palette, self.alpha)
                panels.append((TITLES[title], picture, legend))
        return panels

    def draw_local_boxes(self, image: np.ndarray, boxes: torch.Tensor) -> np.ndarray:
        """The image with the local views' boxes (x1, y1, x2, y2) drawn on it."""
        height, width = image.shape[:2]
        boxes = torch.as_tensor(boxes).float().cpu().clone()
        # x2 = width is the last pixel's far edge; clip into the image so it shows.
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width - 1)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height - 1)
        every_rank(Visualizer.set_image)(self, image)
        every_rank(Visualizer.draw_bboxes)(self, boxes, edge_colors=BOX_COLOR, line_widths=1)
        return every_rank(Visualizer.get_image)(self)


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

"""L2GLocalVisualizer: the panels of the L2G fields and of plain samples, one instance per run."""

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmengine.visualization import Visualizer
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from mmseg_l2g.visualization import L2GLocalVisualizer, saliency_panel
from mmseg_l2g.visualization.panel_text import BandSizes

META = dict(classes=("background", "a", "b"), palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]])
H, W = 16, 20


def _visualizer(name: str, save_dir=None) -> L2GLocalVisualizer:
    vis = VISUALIZERS.build(
        dict(type="L2GLocalVisualizer", name=name, save_dir=save_dir, vis_backends=[])
    )
    vis.dataset_meta = META
    return vis


def _image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)


def _mask(value: int) -> PixelData:
    mask = torch.zeros((1, H, W), dtype=torch.long)
    mask[:, 4:8, 5:15] = value
    return PixelData(data=mask)


def test_saliency_panel_by_hand() -> None:
    crops = torch.tensor([[[0.2, 0.4], [0.6, 0.8]], [[1.0, 1.0], [1.0, 0.0]]])
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
    panel = saliency_panel(crops, boxes, (4, 5, 3))
    expected = np.array(
        [[0.2, 0.4, 0, 0, 0], [0.6, 1.0, 1.0, 0, 0], [0, 1.0, 0.0, 0, 0], [0, 0, 0, 0, 0]]
    )
    assert panel.shape == (4, 5, 3) and panel.dtype == np.uint8
    assert (panel[..., 0] == np.round(expected * 255)).all()
    assert (panel[..., 0] == panel[..., 2]).all()


def test_training_sample_panels(tmp_path) -> None:
    vis = _visualizer("l2g_vis_train")
    sample = SegDataSample()
    sample.local_boxes = torch.tensor([[2.0, 2.0, 12.0, 12.0]])
    sample.local_saliency = torch.ones((1, 1, 10, 10))
    out = tmp_path / "train.png"
    vis.add_datasample("s", _image(), sample, draw_pred=False, out_file=str(out))
    drawn = cv2.imread(str(out))[..., ::-1]
    top = BandSizes.for_image(H, W).title
    assert drawn.shape == (top + H, 2 * W, 3)  # image with boxes | saliency, no legend
    red, green, blue = (int(v) for v in drawn[top + 2, 7])  # the box's top edge: yellow
    assert red > 200 and green > 200 and blue < 60
    saliency = drawn[top:, W:, 0]
    assert (saliency[2:12, 2:12] == 255).all() and saliency[13:, :].max() == 0


def test_plain_mmseg_sample_gets_the_same_layout() -> None:
    vis = _visualizer("l2g_vis_plain")
    sample = SegDataSample(gt_sem_seg=_mask(1), pred_sem_seg=_mask(2))
    panels = vis.draw_panels(_image(), sample, True, True, META["classes"], META["palette"])
    assert [title for title, _, _ in panels] == ["image", "mask", "ground truth"]
    sample.pred_cam = PixelData(data=torch.rand(2, H, W))
    drawn = vis.draw_layout(_image(), sample)
    plain = vis.draw_layout(_image(), SegDataSample(gt_sem_seg=_mask(1), pred_sem_seg=_mask(2)))
    assert drawn.shape[1] == 4 * W and plain.shape[1] == 3 * W  # the CAM panel only with a CAM
    assert (plain[:, :W] == drawn[:, :W]).all() and (plain[:, W:] == drawn[:, 2 * W :]).all()


def test_masks_of_another_size_are_fitted_to_the_image() -> None:
    vis = _visualizer("l2g_vis_sizes")
    small = torch.zeros((1, H // 2, W // 2), dtype=torch.long)
    small[:, 2:4, 3:7] = 2
    sample = SegDataSample(pred_sem_seg=PixelData(data=small))
    sample.pred_cam = PixelData(data=torch.ones(1, H // 2, W // 2))
    drawn = vis.draw_layout(_image(), sample)
    assert drawn.shape[1] == 3 * W
    top = BandSizes.for_image(H, W).title
    mask_panel = drawn[top : top + H, 2 * W :]
    green = np.zeros((H, W), bool)
    green[4:8, 6:14] = True  # the small mask's region, twice as large
    assert (mask_panel[green][:, 1] >= 127).all() and (mask_panel[~green][:, 1] < 128).all()


def test_one_instance_per_run(tmp_path) -> None:
    first = _visualizer("l2g_vis_runs", save_dir=str(tmp_path / "run1"))
    assert _visualizer("l2g_vis_runs", save_dir=str(tmp_path / "run1")) is first
    second = _visualizer("l2g_vis_runs", save_dir=str(tmp_path / "run2"))
    assert second is not first
    assert Visualizer.get_current_instance() is second
    assert SegLocalVisualizer.get_current_instance() is second  # mmseg 1.2.1's hook asks this
    assert L2GLocalVisualizer.get_instance("l2g_vis_runs") is second
    with pytest.warns(UserWarning):  # a build without save_dir (browse_dataset) reuses it
        assert _visualizer("l2g_vis_runs") is second

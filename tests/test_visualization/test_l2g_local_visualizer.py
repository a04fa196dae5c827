"""L2GLocalVisualizer: panels of the L2G fields, mmseg's drawing otherwise, one instance per run."""

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
    assert drawn.shape == (H, 2 * W, 3)  # image with boxes | saliency
    red, green, blue = (int(v) for v in drawn[2, 7])  # the box's top edge: yellow
    assert red > 200 and green > 200 and blue < 60
    saliency = drawn[:, W:, 0]
    assert (saliency[2:12, 2:12] == 255).all() and saliency[13:, :].max() == 0


def test_test_sample_panels_and_cam(tmp_path) -> None:
    vis = _visualizer("l2g_vis_test")
    sample = SegDataSample(gt_sem_seg=_mask(1), pred_sem_seg=_mask(2))
    sample.pred_cam = PixelData(data=torch.rand(2, H, W))
    panels = vis.draw_panels(_image(), sample, with_labels=False)
    assert [p.shape for p in panels] == [(H, W, 3)] * 3  # gt | prediction | CAM
    gt, pred = panels[0][5, 10].astype(int), panels[1][5, 10].astype(int)
    assert gt[0] > pred[0] and pred[1] > gt[1]  # class a red, class b green


def test_plain_mmseg_sample_is_drawn_as_mmseg_draws_it(tmp_path) -> None:
    sample = SegDataSample(gt_sem_seg=_mask(1), pred_sem_seg=_mask(2))
    ours, theirs = tmp_path / "ours.png", tmp_path / "theirs.png"
    _visualizer("l2g_vis_plain").add_datasample("s", _image(), sample, out_file=str(ours))
    seg = SegLocalVisualizer(name="seg_vis_plain", vis_backends=[])
    seg.dataset_meta = META
    seg.add_datasample("s", _image(), sample, out_file=str(theirs))
    assert (cv2.imread(str(ours)) == cv2.imread(str(theirs))).all()


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

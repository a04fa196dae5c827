"""The one layout: image | CAM | mask | ground truth, titled, the masks' classes in a legend.

Checked on pixels: a known image, a CAM peaked in one known region and known
masks; each panel's columns hold exactly what it should.
"""

import threading

import cv2
import mmengine.dist.utils as dist_utils
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample

from mmseg_l2g.visualization import L2GLocalVisualizer, draw_cam_layout
from mmseg_l2g.visualization.panel_text import BAND_COLOUR, BandSizes

CLASSES = ("background", "a", "b")
PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]
H, W = 40, 50
PEAK = (slice(5, 15), slice(30, 45))  # the CAM is 1 there, 0 elsewhere
PRED = (slice(20, 35), slice(5, 20))  # class b (2) in the predicted mask
GT = (slice(22, 38), slice(8, 25))  # class a (1) in the ground truth
SIZES = BandSizes.for_image(H, W)
T = SIZES.title


def _visualizer(name: str, alpha: float = 0.5) -> L2GLocalVisualizer:
    vis = VISUALIZERS.build(
        dict(type="L2GLocalVisualizer", name=name, vis_backends=[], alpha=alpha)
    )
    vis.dataset_meta = dict(classes=CLASSES, palette=PALETTE)
    return vis


def _image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _sample(with_gt: bool = True) -> SegDataSample:
    cams = torch.zeros((2, H, W))
    cams[1][PEAK] = 1.0
    pred = torch.zeros((1, H, W), dtype=torch.long)
    pred[0][PRED] = 2
    sample = SegDataSample(pred_sem_seg=PixelData(data=pred))
    sample.pred_cam = PixelData(data=cams)
    if with_gt:
        gt = torch.zeros((1, H, W), dtype=torch.long)
        gt[0][GT] = 1
        sample.gt_sem_seg = PixelData(data=gt)
    return sample


def _panel(drawn: np.ndarray, index: int) -> np.ndarray:
    """The picture of panel ``index`` (below its title band)."""
    return drawn[T : T + H, index * W : (index + 1) * W].astype(int)


def _jet(level: int) -> np.ndarray:
    """RGB of OpenCV's JET colour map at ``level``."""
    return cv2.applyColorMap(np.full((1, 1), level, np.uint8), cv2.COLORMAP_JET)[0, 0, ::-1]


def _blend(image: np.ndarray, colour, alpha: float) -> np.ndarray:
    return np.round(image * (1 - alpha) + np.asarray(colour) * alpha).astype(int)


def test_panels_in_order_pixel_by_pixel() -> None:
    image, alpha = _image(), 0.5
    drawn = _visualizer("layout_pixels", alpha).draw_layout(image, _sample())
    rows = 2  # background + b under the mask, background + a under the ground truth
    assert drawn.shape == (T + H + rows * SIZES.row, 4 * W, 3)
    # 1: the image itself (no text is drawn on the pictures).
    assert (_panel(drawn, 0) == image).all()
    # 2: the CAM, red (JET 255) where it peaks, dark blue (JET 0) elsewhere.
    cam = _panel(drawn, 1)
    outside = np.ones((H, W), bool)
    outside[PEAK] = False
    assert (cam[PEAK] == _blend(image[PEAK], _jet(255), 0.5)).all()
    assert (cam[outside] == _blend(image[outside], _jet(0), 0.5)).all()
    # 3: the predicted mask in its palette colours; 4: the ground truth.
    for index, region, colour in ((2, PRED, PALETTE[2]), (3, GT, PALETTE[1])):
        panel = _panel(drawn, index)
        rest = np.ones((H, W), bool)
        rest[region] = False
        assert (panel[region] == _blend(image[region], colour, alpha)).all()
        assert (panel[rest] == _blend(image[rest], PALETTE[0], alpha)).all()


def test_full_opacity_mask_is_the_palette_colour() -> None:
    drawn = _visualizer("layout_opaque", alpha=1.0).draw_layout(_image(), _sample())
    assert (_panel(drawn, 2)[PRED] == PALETTE[2]).all()
    assert (_panel(drawn, 3)[GT] == PALETTE[1]).all()


def test_every_panel_has_its_own_title() -> None:
    drawn = _visualizer("layout_titles").draw_layout(_image(), _sample())
    bands = [drawn[:T, i * W : (i + 1) * W] for i in range(4)]
    for band in bands:
        assert (band != BAND_COLOUR).any(axis=2).sum() > 10  # text was written
    for i in range(4):
        for j in range(i + 1, 4):
            assert (bands[i] != bands[j]).any()  # four different titles


def test_legend_swatches_have_the_palette_colours() -> None:
    vis = _visualizer("layout_legend")
    drawn = vis.draw_layout(_image(), _sample())
    legends = [drawn[T + H :, i * W : (i + 1) * W] for i in range(4)]
    assert (legends[0] == BAND_COLOUR).all() and (legends[1] == BAND_COLOUR).all()

    def has_swatch(band: np.ndarray, colour) -> bool:
        return bool((band == colour).all(axis=2).sum() >= 4)

    assert has_swatch(legends[2], PALETTE[0]) and has_swatch(legends[2], PALETTE[2])
    assert not has_swatch(legends[2], PALETTE[1])
    assert has_swatch(legends[3], PALETTE[1]) and not has_swatch(legends[3], PALETTE[2])
    panels = vis.draw_panels(_image(), _sample(), True, True, CLASSES, PALETTE)
    assert [(title, legend) for title, _, legend in panels] == [
        ("image", []),
        ("CAM", []),
        ("mask", [("background", (0, 0, 0)), ("b", (0, 255, 0))]),
        ("ground truth", [("background", (0, 0, 0)), ("a", (255, 0, 0))]),
    ]


def test_ground_truth_panel_only_with_ground_truth() -> None:
    vis = _visualizer("layout_no_gt")
    with_gt = vis.draw_layout(_image(), _sample())
    without = vis.draw_layout(_image(), _sample(with_gt=False))
    assert without.shape == (with_gt.shape[0], 3 * W, 3)
    assert (without == with_gt[:, : 3 * W]).all()
    not_drawn = vis.draw_layout(_image(), _sample(), draw_gt=False)
    assert (not_drawn == without).all()
    no_labels = vis.draw_layout(_image(), _sample(), with_labels=False)
    assert no_labels.shape == (T + H, 4 * W, 3)
    assert (no_labels == with_gt[: T + H]).all()


def test_add_datasample_writes_the_layout(tmp_path) -> None:
    vis = _visualizer("layout_add")
    expected = vis.draw_layout(_image(), _sample())
    out = tmp_path / "drawn.png"
    vis.add_datasample("s", _image(), _sample(), out_file=str(out))
    assert (cv2.imread(str(out))[..., ::-1] == expected).all()
    assert (vis.get_image() == expected).all()  # MMSegInferencer's return_vis reads this


def test_stage2_drawing_is_the_layout_on_every_rank(monkeypatch) -> None:
    image, sample = _image(), _sample()
    expected = _visualizer("layout_stage2").draw_layout(image, sample)
    cams = sample.pred_cam.data.numpy()
    mask = sample.pred_sem_seg.data[0].numpy().astype(np.uint8)
    gt = sample.gt_sem_seg.data[0].numpy().astype(np.uint8)

    def stage2() -> np.ndarray:
        return draw_cam_layout(image[..., ::-1], cams, mask, PALETTE, gt, CLASSES)

    assert (stage2() == expected).all()
    # A rank other than 0: mmengine's master_only drawing calls would do nothing there.
    monkeypatch.setattr(dist_utils, "is_main_process", lambda: False)
    assert (stage2() == expected).all()


def test_stage2_writer_threads_draw_the_same() -> None:
    image, sample = _image(), _sample()
    cams = sample.pred_cam.data.numpy()
    mask = sample.pred_sem_seg.data[0].numpy().astype(np.uint8)
    expected = draw_cam_layout(image, cams, mask, PALETTE)
    results = []

    def work() -> None:
        for _ in range(3):
            results.append(draw_cam_layout(image, cams, mask, PALETTE))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 9 and all((r == expected).all() for r in results)

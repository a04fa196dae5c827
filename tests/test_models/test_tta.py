"""L2GTTAModel: the config's tta_pipeline + the merge equal a hand-written scale/flip loop."""

import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from model_test_utils import tiny_l2g_cfg

from mmseg_l2g.models.tta import L2GTTAModel

ROOT = osp.abspath(osp.join(osp.dirname(__file__), "../.."))
SCALES = (0.5, 1.0, 1.5, 2.0)
HEIGHT, WIDTH = 40, 52


@pytest.fixture()
def classifier() -> torch.nn.Module:
    init_default_scope("mmseg")
    model = MODELS.build(tiny_l2g_cfg(num_classes=3))  # bg_thr 0.25, the default
    return model.eval()


@pytest.fixture()
def image_files(tmp_path) -> dict:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    mask = rng.integers(0, 4, (HEIGHT, WIDTH), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "img.png"), img)
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    return dict(img=img, mask=mask, dir=tmp_path)


def _hand_loop(model, img: np.ndarray, label: np.ndarray, bg_thr: float) -> tuple:
    """The release's readout written out: every scale, as is and flipped, one by one."""
    total = 0.0
    for scale in SCALES:
        size = (int(WIDTH * scale + 0.5), int(HEIGHT * scale + 0.5))
        resized = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        for flip in (False, True):
            view = resized[:, ::-1] if flip else resized
            batch = torch.from_numpy(np.ascontiguousarray(view)).permute(2, 0, 1)[None]
            with torch.no_grad():
                logits = model.extract_cam_logits(model.data_preprocessor.normalize(batch))
            up = F.interpolate(logits, (HEIGHT, WIDTH), mode="bicubic", align_corners=False)[0]
            total = total + (up.flip(-1) if flip else up)
    mean = total / (2 * len(SCALES))
    cams = torch.relu(mean[:3])
    cams = cams / (cams.amax(dim=(1, 2), keepdim=True) + 1e-5)
    cams = cams * torch.from_numpy(label)[:, None, None]
    mask = torch.cat([torch.full_like(cams[:1], bg_thr), cams]).argmax(0, keepdim=True)
    return cams, mask


def test_tta_equals_the_hand_written_loop(classifier, image_files) -> None:
    cfg = Config.fromfile(osp.join(ROOT, "configs/_base_/tta_l2g.py"))
    label = np.array([1, 0, 1], np.float32)
    views = Compose(cfg.tta_pipeline)(
        dict(
            img_path=str(image_files["dir"] / "img.png"),
            seg_map_path=str(image_files["dir"] / "mask.png"),
            gt_label=label,
        )
    )
    assert len(views["inputs"]) == 8
    tta = MODELS.build(dict(cfg.tta_model, module=classifier))
    assert isinstance(tta, L2GTTAModel) and tta.bg_thr == pytest.approx(0.25)
    (merged,) = tta.test_step(pseudo_collate([views]))

    cams, mask = _hand_loop(classifier, image_files["img"], label, 0.25)
    assert merged.pred_cam.data.shape == (3, HEIGHT, WIDTH)
    torch.testing.assert_close(merged.pred_cam.data, cams, atol=1e-5, rtol=1e-4)
    assert torch.equal(merged.pred_sem_seg.data, mask)
    assert set(mask.unique().tolist()) <= {0, 1, 3}  # class 2 is absent from the label
    assert merged.gt_sem_seg.data[0].numpy().tolist() == image_files["mask"].tolist()
    assert tuple(merged.metainfo["ori_shape"]) == (HEIGHT, WIDTH)
    # Not the scale-1 readout alone: the views matter.
    single = _single_scale_cams(classifier, image_files["img"], label)
    assert not torch.allclose(single, cams, atol=1e-3)


def _single_scale_cams(model, img: np.ndarray, label: np.ndarray) -> torch.Tensor:
    batch = torch.from_numpy(img).permute(2, 0, 1)[None]
    with torch.no_grad():
        logits = model.extract_cam_logits(model.data_preprocessor.normalize(batch))
    up = F.interpolate(logits, (HEIGHT, WIDTH), mode="bicubic", align_corners=False)[0]
    cams = torch.relu(up[:3])
    cams = cams / (cams.amax(dim=(1, 2), keepdim=True) + 1e-5)
    return cams * torch.from_numpy(label)[:, None, None]


def _view(logits: list, **fields) -> SegDataSample:
    sample = SegDataSample(metainfo=dict(ori_shape=(1, 3)))
    sample.seg_logits = PixelData(data=torch.tensor(logits, dtype=torch.float32))
    sample.set_data(fields)
    return sample


def test_merge_by_hand(classifier) -> None:
    """Two views of a 1 x 3 image, 3 classes + background, computed by hand."""
    tta = L2GTTAModel(module=classifier, bg_thr=0.5)
    view_a = [[[2.0, 0.0, -4.0]], [[0.0, 1.0, 1.0]], [[9.0, 9.0, 9.0]], [[5.0, 5.0, 5.0]]]
    view_b = [[[2.0, 2.0, 0.0]], [[0.0, 3.0, 1.0]], [[9.0, 9.0, 9.0]], [[-5.0, 0.0, 0.0]]]
    label = torch.tensor([1.0, 1.0, 0.0])
    (merged,) = tta.merge_preds([[_view(view_a, gt_label=label), _view(view_b, gt_label=label)]])
    # mean: class 0 [2, 1, -2], class 1 [0, 2, 1]; ReLU and / max (+1e-5):
    # class 0 [1, 0.5, 0], class 1 [0, 1, 0.5]; class 2 absent -> 0.
    expected = torch.tensor([[[1.0, 0.5, 0.0]], [[0.0, 1.0, 0.5]], [[0.0, 0.0, 0.0]]])
    torch.testing.assert_close(merged.pred_cam.data, expected, atol=1e-4, rtol=0)
    # 0.5 is not above bg_thr 0.5 (the first maximum wins): background at none of them here.
    assert merged.pred_sem_seg.data.tolist() == [[[1, 2, 0]]]
    torch.testing.assert_close(merged.seg_logits.data[3], torch.tensor([[0.0, 2.5, 2.5]]))


def test_merge_without_labels_uses_the_class_scores(classifier) -> None:
    tta = L2GTTAModel(module=classifier, bg_thr=0.1)
    logits = [[[3.0, 3.0, 3.0]], [[-3.0, -3.0, 1.0]], [[1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]
    (merged,) = tta.merge_preds([[_view(logits)]])
    # pooled logits 3, -5/3, 1/3 -> sigmoid > 0.5 for classes 0 and 2 only
    assert merged.pred_cam.data[1].abs().sum() == 0
    assert merged.pred_sem_seg.data.tolist() == [[[1, 1, 1]]]


def test_wrong_channel_count_is_refused(classifier) -> None:
    tta = L2GTTAModel(module=classifier, bg_thr=0.1)
    with pytest.raises(ValueError, match="expected C\\+1 = 4"):
        tta.merge_preds([[_view([[[1.0]], [[1.0]]])]])


class _NotL2G(torch.nn.Module):
    def test_step(self, data: dict) -> list:
        return []


def test_non_l2g_module_is_refused() -> None:
    with pytest.raises(TypeError, match="wraps an L2G classifier"):
        L2GTTAModel(module=_NotL2G())


def test_softmax_readout_is_refused() -> None:
    init_default_scope("mmseg")
    cfg = tiny_l2g_cfg(num_classes=3)
    cfg["test_cfg"] = dict(cfg.get("test_cfg") or {}, score="softmax")
    with pytest.raises(ValueError, match="test_cfg.score='softmax' is not supported"):
        L2GTTAModel(module=MODELS.build(cfg))

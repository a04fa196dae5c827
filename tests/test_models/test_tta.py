"""L2GTTAModel: the config's tta_pipeline + tta_model equal a hand-written scale/flip loop."""

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
from mmseg.registry import MODELS
from model_test_utils import tiny_l2g_cfg

from mmseg_l2g.models.tta import L2GTTAModel

ROOT = osp.abspath(osp.join(osp.dirname(__file__), "../.."))
HEIGHT, WIDTH = 40, 52


def _classifier(**test_cfg) -> torch.nn.Module:
    init_default_scope("mmseg")
    torch.manual_seed(0)
    cfg = tiny_l2g_cfg(num_classes=3)
    if test_cfg:
        cfg["test_cfg"] = test_cfg
    return MODELS.build(cfg).eval()


@pytest.fixture()
def image_files(tmp_path) -> dict:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    mask = rng.integers(0, 4, (HEIGHT, WIDTH), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "img.png"), img)
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    return dict(img=img, mask=mask, dir=tmp_path)


def _hand_loop(model, img: np.ndarray, label: np.ndarray, scales, interp: str) -> tuple:
    """The release's readout written out: every scale, as is and flipped, one by one."""
    batch = torch.from_numpy(img).permute(2, 0, 1)[None]
    inputs = model.data_preprocessor.normalize(batch)
    total = 0.0
    for scale in scales:
        size = (int(HEIGHT * scale + 0.5), int(WIDTH * scale + 0.5))
        resized = F.interpolate(
            inputs, size=size, mode="bilinear", align_corners=False, antialias=scale < 1
        )
        for flip in (False, True):
            view = resized.flip(-1) if flip else resized
            with torch.no_grad():
                logits = model.extract_cam_logits(view)
            up = F.interpolate(logits, (HEIGHT, WIDTH), mode=interp, align_corners=False)[0]
            total = total + (up.flip(-1) if flip else up)
    mean = total / (2 * len(scales))
    cams = torch.relu(mean[:3])
    cams = cams / (cams.amax(dim=(1, 2), keepdim=True) + 1e-5)
    cams = cams * torch.from_numpy(label)[:, None, None]
    bg_thr = model.test_cfg.bg_thr
    mask = torch.cat([torch.full_like(cams[:1], bg_thr), cams.half().float()]).argmax(0)
    return cams, mask[None]


def _tta_batch(cfg: Config, image_files: dict, label: np.ndarray) -> dict:
    item = Compose(cfg.tta_pipeline)(
        dict(
            img_path=str(image_files["dir"] / "img.png"),
            seg_map_path=str(image_files["dir"] / "mask.png"),
            gt_label=label,
        )
    )
    return pseudo_collate([item])


@pytest.mark.parametrize(
    "test_cfg",
    [dict(), dict(scales=(0.75, 1.25), interp="bilinear", bg_thr=0.4)],
)
def test_tta_equals_the_hand_written_loop(image_files, test_cfg) -> None:
    classifier = _classifier(**test_cfg)
    cfg = Config.fromfile(osp.join(ROOT, "configs/_base_/tta_l2g.py"))
    label = np.array([1, 0, 1], np.float32)
    tta = MODELS.build(dict(cfg.tta_model, module=classifier))
    assert isinstance(tta, L2GTTAModel)
    (merged,) = tta.test_step(_tta_batch(cfg, image_files, label))

    readout = classifier.test_cfg
    cams, mask = _hand_loop(classifier, image_files["img"], label, readout.scales, readout.interp)
    assert merged.pred_cam.data.shape == (3, HEIGHT, WIDTH)
    torch.testing.assert_close(merged.pred_cam.data, cams, atol=1e-5, rtol=1e-4)
    assert torch.equal(merged.pred_sem_seg.data, mask)
    assert set(mask.unique().tolist()) <= {0, 1, 3}  # class 2 is absent from the label
    assert merged.gt_sem_seg.data[0].numpy().tolist() == image_files["mask"].tolist()
    assert tuple(merged.metainfo["ori_shape"]) == (HEIGHT, WIDTH)
    # Not the plain test's one pass: the views matter.
    data = classifier.data_preprocessor(_tta_batch(cfg, image_files, label), False)
    (plain,) = classifier.predict(data["inputs"], data["data_samples"])
    assert not torch.allclose(plain.pred_cam.data, cams, atol=1e-3)


def test_tta_reads_the_classes_the_network_predicts_without_labels(image_files) -> None:
    classifier = _classifier()
    cfg = Config.fromfile(osp.join(ROOT, "configs/_base_/tta_l2g.py"))
    tta = MODELS.build(dict(cfg.tta_model, module=classifier))
    batch = _tta_batch(cfg, image_files, np.zeros(3, np.float32))
    del batch["data_samples"][0].gt_label
    (merged,) = tta.test_step(batch)
    data = classifier.data_preprocessor(batch, False)
    with torch.no_grad():
        logits = classifier.extract_cam_logits(data["inputs"])
    predicted = torch.sigmoid(logits[0, :3].mean(dim=(1, 2))) > 0.5
    assert torch.equal(merged.pred_cam.data.flatten(1).abs().sum(1) > 0, predicted)


def test_test_time_aug_views_are_refused(image_files) -> None:
    tta = L2GTTAModel(module=_classifier())
    views = dict(inputs=[[torch.zeros(3, 4, 4)], [torch.zeros(3, 4, 4)]], data_samples=[[], []])
    with pytest.raises(ValueError, match="without Resize or TestTimeAug"):
        tta.test_step(views)


class _NotL2G(torch.nn.Module):
    def test_step(self, data: dict) -> list:
        return []


def test_non_l2g_module_is_refused() -> None:
    with pytest.raises(TypeError, match="wraps an L2G classifier"):
        L2GTTAModel(module=_NotL2G())

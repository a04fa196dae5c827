"""The one-image facade: a model from a config, its CAMs and mask of one image."""

import os.path as osp

import numpy as np
import torch
from PIL import Image

from mmseg_l2g.apis import inference_l2g, init_l2g_model
from mmseg_l2g.models.classifiers.cam_readout import present_classes, read_cams

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")


def test_init_and_infer_one_image_path_or_array(tmp_path):
    torch.manual_seed(0)
    model = init_l2g_model(CONFIG)
    checkpoint = str(tmp_path / "ckpt.pth")
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    model = init_l2g_model(CONFIG, checkpoint)
    rgb = np.random.default_rng(0).integers(0, 256, (40, 52, 3), dtype=np.uint8)
    path = str(tmp_path / "img.png")
    Image.fromarray(rgb).save(path)
    from_path = inference_l2g(model, path, classes=[1, 3])
    from_array = inference_l2g(model, rgb[:, :, ::-1], classes=[1, 3])
    cams, mask = from_path.pred_cam.data, from_path.pred_sem_seg.data
    assert tuple(cams.shape) == (4, 40, 52) and tuple(mask.shape) == (1, 40, 52)
    assert torch.equal(cams, from_array.pred_cam.data)
    assert cams[[0, 2]].abs().sum() == 0  # classes not asked for stay zero
    assert set(mask.unique().tolist()) <= {0, 2, 4}
    # The plain test's one pass (predict) by default; with tta=True the model's
    # test_cfg readout (scales x flips), stage 2's.
    batch = torch.from_numpy(np.ascontiguousarray(rgb[:, :, ::-1])).permute(2, 0, 1)[None]
    inputs = model.data_preprocessor(dict(inputs=batch), False)["inputs"]
    classes = [present_classes(np.array([0, 1, 0, 1]))]
    (direct,) = read_cams(model.extract_cam_logits, inputs, classes, model.test_cfg.one_pass())
    assert torch.allclose(cams[[1, 3]], direct)
    full = inference_l2g(model, path, classes=[1, 3], tta=True).pred_cam.data
    (readout,) = model.inference(inputs, classes)
    assert model.test_cfg.num_maps == 8 and torch.allclose(full[[1, 3]], readout)
    assert not torch.allclose(full, cams, atol=1e-3)

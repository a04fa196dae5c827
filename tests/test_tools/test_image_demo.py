"""demo/image_demo.py: the CAM overlay and mask of one image, as mmseg's inference_model gives."""

import os.path as osp

import cv2
import numpy as np
import pytest
from mmseg.apis import inference_model, init_model
from PIL import Image
from tool_test_utils import L2G_CONFIG, load_script

demo = load_script("demo/image_demo.py")


def _run(image: str, checkpoint: str, out_dir: str, labels=None) -> list:
    argv = [image, L2G_CONFIG, checkpoint, "--out-dir", out_dir, "--device", "cpu"]
    return demo.run(demo.parse_args(argv + (["--labels", *labels] if labels else [])))


def test_mask_and_overlay_match_inference_model(synthetic_root, l2g_checkpoint, tmp_path) -> None:
    image = osp.join(synthetic_root, "JPEGImages", "val_000000.jpg")
    overlay, mask_file = _run(image, l2g_checkpoint, str(tmp_path))
    assert [osp.basename(p) for p in (overlay, mask_file)] == [
        "val_000000_cam.jpg",
        "val_000000_mask.png",
    ]
    expected = inference_model(init_model(L2G_CONFIG, l2g_checkpoint, device="cpu"), image)
    mask = np.asarray(Image.open(mask_file))
    assert Image.open(mask_file).mode == "P"
    assert np.array_equal(mask, expected.pred_sem_seg.data[0].numpy())
    height, width = cv2.imread(image).shape[:2]
    assert cv2.imread(overlay).shape == (height, 3 * width, 3)  # image | CAM | mask


def test_labels_restrict_the_classes(synthetic_root, l2g_checkpoint, tmp_path) -> None:
    image = osp.join(synthetic_root, "JPEGImages", "val_000000.jpg")
    _, mask_file = _run(image, l2g_checkpoint, str(tmp_path), labels=["green"])
    mask = np.asarray(Image.open(mask_file))
    assert set(np.unique(mask).tolist()) <= {0, 2}  # background and green (class 2)
    assert (mask == 2).any()  # a random network's map exceeds 0.25 somewhere after max-norm


def test_label_vector_by_hand() -> None:
    classes = ("background", "red", "green", "blue")
    assert demo.label_vector(["blue", "red"], classes).tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match=r"unknown class\(es\) \['cat'\]; the classes are"):
        demo.label_vector(["cat"], classes)


def test_missing_image_is_named(l2g_checkpoint, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="image not found: .*nope.jpg"):
        _run(str(tmp_path / "nope.jpg"), l2g_checkpoint, str(tmp_path))


def test_mmseg_inferencer_gives_what_inference_model_gives(
    synthetic_root, l2g_checkpoint, tmp_path
) -> None:
    from mmseg.apis import MMSegInferencer

    image = osp.join(synthetic_root, "JPEGImages", "val_000001.jpg")
    inferencer = MMSegInferencer(model=L2G_CONFIG, weights=l2g_checkpoint, device="cpu")
    result = inferencer(image, out_dir=str(tmp_path), return_datasamples=True)
    expected = inference_model(init_model(L2G_CONFIG, l2g_checkpoint, device="cpu"), image)
    assert np.array_equal(result.pred_sem_seg.data.numpy(), expected.pred_sem_seg.data.numpy())
    assert np.allclose(result.pred_cam.data.numpy(), expected.pred_cam.data.numpy(), atol=1e-6)
    drawn = cv2.imread(str(tmp_path / "vis" / "val_000001.jpg"))
    assert drawn.shape == (64, 3 * 64, 3)  # image | mask | CAM, drawn by L2GLocalVisualizer

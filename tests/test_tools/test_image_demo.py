"""demo/image_demo.py: the one drawing and the mask of an image, as mmseg's inference_model."""

import os.path as osp

import cv2
import numpy as np
import pytest
from mmseg.apis import inference_model, init_model
from PIL import Image
from tool_test_utils import L2G_CONFIG, load_script

from mmseg_l2g.visualization.panel_text import BandSizes

demo = load_script("demo/image_demo.py")


def _run(image: str, checkpoint: str, out_dir: str, labels=None, extra=()) -> list:
    argv = [image, L2G_CONFIG, checkpoint, "--out-dir", out_dir, "--device", "cpu", *extra]
    return demo.run(demo.parse_args(argv + (["--labels", *labels] if labels else [])))


def layout_shape(mask: np.ndarray, panels: int) -> tuple:
    """(height, width, 3) of the one layout of ``panels`` panels over ``mask``'s image."""
    height, width = mask.shape[-2:]
    sizes = BandSizes.for_image(height, width)
    return (sizes.title + height + len(np.unique(mask)) * sizes.row, panels * width, 3)


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
    assert cv2.imread(image).shape[:2] == mask.shape
    assert cv2.imread(overlay).shape == layout_shape(mask, 3)  # image | CAM | mask


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
    # image | CAM | mask, drawn by L2GLocalVisualizer (no ground truth: mmseg's draw_gt=False)
    assert drawn.shape == layout_shape(expected.pred_sem_seg.data[0].numpy(), 3)


def _palette_colours(mask: np.ndarray, checkpoint: str) -> np.ndarray:
    palette = np.asarray(init_model(L2G_CONFIG, checkpoint, device="cpu").dataset_meta["palette"])
    return palette[mask].astype(int)


def test_out_file_and_opacity(synthetic_root, l2g_checkpoint, tmp_path) -> None:
    image = osp.join(synthetic_root, "JPEGImages", "val_000000.jpg")
    out_dir = str(tmp_path / "dir")
    _, mask_file = _run(image, l2g_checkpoint, out_dir)
    mask = np.asarray(Image.open(mask_file))
    rgb = cv2.imread(image)[..., ::-1].astype(int)
    colours = _palette_colours(mask, l2g_checkpoint)
    top = BandSizes.for_image(*mask.shape).title
    height, width = mask.shape
    for opacity in (1.0, 0.3):
        out_file = str(tmp_path / f"drawn_{opacity}.png")
        argv = [image, L2G_CONFIG, l2g_checkpoint, "--out-file", out_file, "--device", "cpu"]
        written = demo.run(demo.parse_args(argv + ["--opacity", str(opacity)]))
        assert written == [out_file]  # the drawing only: no mask file without --out-dir
        drawn = cv2.imread(out_file)[..., ::-1].astype(int)
        assert drawn.shape == layout_shape(mask, 3)
        assert (drawn[top : top + height, :width] == rgb).all()  # panel 1: the image
        blend = np.round(rgb * (1 - opacity) + colours * opacity)
        assert (drawn[top : top + height, 2 * width :] == blend).all()  # panel 3: the mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "drawn_0.3.png", "drawn_1.0.png"]


def test_mmseg_flags_labels_and_title(synthetic_root, l2g_checkpoint, tmp_path, monkeypatch):
    image = osp.join(synthetic_root, "JPEGImages", "val_000000.jpg")
    mmseg_argv = [image, L2G_CONFIG, l2g_checkpoint, "--device", "cpu", "--opacity", "0.5"]
    with_labels = str(tmp_path / "labels.png")
    demo.run(demo.parse_args(mmseg_argv + ["--with-labels", "--out-file", with_labels]))
    without = str(tmp_path / "plain.png")
    demo.run(demo.parse_args(mmseg_argv + ["--no-with-labels", "--out-file", without]))
    labelled, plain = cv2.imread(with_labels), cv2.imread(without)
    top = BandSizes.for_image(64, 64).title
    assert plain.shape == (top + 64, 3 * 64, 3) and labelled.shape[0] > plain.shape[0]
    assert (labelled[: plain.shape[0]] == plain).all()  # the same panels, legend below
    shown = []

    def show(self, drawn: np.ndarray, win_name: str) -> None:
        shown.append((win_name, drawn))

    monkeypatch.setattr(demo.L2GLocalVisualizer, "show", show)
    assert demo.run(demo.parse_args(mmseg_argv + ["--with-labels", "--title", "a cat"])) == []
    ((name, drawn),) = shown  # no output flag: shown in a window named --title, as mmseg's
    assert name == "a cat" and (drawn[..., ::-1] == labelled).all()

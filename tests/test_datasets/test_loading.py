"""Tests of the WSSS loading transforms (image, saliency map, mask)."""

import io

import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmengine.fileio import BaseStorageBackend, register_backend
from mmseg.registry import TRANSFORMS
from PIL import Image

import mmseg_l2g  # noqa: F401  (registers the transforms)
from mmseg_l2g.datasets.transforms.loading import (
    LoadSaliencyMap,
    LoadWSSSAnnotations,
    LoadWSSSImage,
)

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)


def save(array, path):
    Image.fromarray(array).save(path)
    return str(path)


def save_palette(mask, path):
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    image = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
    image.putpalette([v for i in range(256) for v in (255 - i, i, 33)])
    image.save(path)
    return str(path)


def load_image(path):
    return LoadWSSSImage()(dict(img_path=str(path)))


# ----------------------------------------------------------------------- image
def test_rgb_png_becomes_bgr_with_shapes(tmp_path):
    results = TRANSFORMS.build(dict(type="LoadWSSSImage"))(
        dict(img_path=save(RGB, tmp_path / "a.png"))
    )
    np.testing.assert_array_equal(results["img"], RGB[:, :, ::-1])
    assert results["img"].dtype == np.uint8 and results["img"].flags["C_CONTIGUOUS"]
    assert results["img_shape"] == (5, 7) and results["ori_shape"] == (5, 7)


def test_to_float32(tmp_path):
    results = LoadWSSSImage(to_float32=True)(dict(img_path=save(RGB, tmp_path / "a.png")))
    assert results["img"].dtype == np.float32
    np.testing.assert_array_equal(results["img"], RGB[:, :, ::-1].astype(np.float32))


def test_grey_image_becomes_three_channels(tmp_path):
    grey = RGB[:, :, 0]
    img = load_image(save(grey, tmp_path / "g.png"))["img"]
    assert img.shape == (5, 7, 3)
    for channel in range(3):
        np.testing.assert_array_equal(img[:, :, channel], grey)


def test_rgba_image_drops_alpha(tmp_path):
    rgba = np.concatenate([RGB, np.full((5, 7, 1), 10, np.uint8)], axis=2)
    img = load_image(save(rgba, tmp_path / "a.png"))["img"]
    np.testing.assert_array_equal(img, RGB[:, :, ::-1])


def test_palette_image_gives_its_colours(tmp_path):
    indices = np.array([[0, 1], [2, 3]])
    img = load_image(save_palette(indices, tmp_path / "p.png"))["img"]
    # palette entry i is (255 - i, i, 33) in RGB -> (33, i, 255 - i) in BGR.
    np.testing.assert_array_equal(img[1, 0], [33, 2, 253])
    np.testing.assert_array_equal(img[0, 1], [33, 1, 254])


def test_jpeg_decodes_close_to_source(tmp_path):
    smooth = np.tile(np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None], (16, 1, 3))
    path = tmp_path / "s.jpg"
    Image.fromarray(smooth).save(path, quality=100)
    img = load_image(path)["img"]
    assert img.shape == (16, 16, 3)
    assert np.abs(img.astype(int) - smooth[:, :, ::-1].astype(int)).max() <= 3


def test_missing_image_names_file(tmp_path):
    path = str(tmp_path / "none.jpg")
    with pytest.raises(FileNotFoundError, match="none.jpg"):
        load_image(path)


def test_truncated_jpeg_names_file(tmp_path):
    noise = RNG.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    full = tmp_path / "full.jpg"
    Image.fromarray(noise).save(full, quality=95)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert load_image(full)["img"].shape == (64, 64, 3)
    with pytest.raises(OSError, match=r"cut\.jpg: cannot read image, unreadable or truncated"):
        load_image(cut)


def test_unreadable_file_names_file(tmp_path):
    path = tmp_path / "text.jpg"
    path.write_text("not an image")
    with pytest.raises(OSError, match=r"text\.jpg: cannot read image"):
        load_image(path)


def test_sixteen_bit_image_rejected(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((3, 3), 40000, np.uint16)).save(path)
    with pytest.raises(ValueError, match=r"deep\.png: image mode 'I;16'"):
        load_image(path)


# -------------------------------------------------------------------- saliency
def image_results(tmp_path, sal_path, size=(4, 6)):
    results = load_image(save(np.zeros((*size, 3), np.uint8), tmp_path / "img.png"))
    results.update(sal_path=sal_path, seg_fields=[])
    return results


def test_saliency_scaled_to_unit_range(tmp_path):
    sal = np.array([[0, 51, 102, 153, 204, 255]] * 4, np.uint8)
    results = TRANSFORMS.build(dict(type="LoadSaliencyMap"))(
        image_results(tmp_path, save(sal, tmp_path / "s.png"))
    )
    assert results["gt_saliency"].dtype == np.float32
    np.testing.assert_allclose(results["gt_saliency"][0], [0, 0.2, 0.4, 0.6, 0.8, 1.0], atol=1e-6)
    assert results["seg_fields"] == ["gt_saliency"]


def test_saliency_none_does_nothing(tmp_path):
    results = LoadSaliencyMap()(image_results(tmp_path, None))
    assert "gt_saliency" not in results and results["seg_fields"] == []


def test_saliency_of_another_size_is_resized_and_logged_once(tmp_path, logs):
    sal = np.zeros((2, 3), np.uint8)
    sal[:, 2] = 255
    path = save(sal, tmp_path / "small.png")
    transform = LoadSaliencyMap()
    results = transform(image_results(tmp_path, path))
    saliency = results["gt_saliency"]
    assert saliency.shape == (4, 6) and saliency.dtype == np.float32
    assert saliency.min() >= 0 and saliency.max() <= 1
    np.testing.assert_allclose(saliency[:, 0], 0, atol=1e-6)  # left stays dark
    np.testing.assert_allclose(saliency[:, -1], 1, atol=1e-6)  # right stays bright
    assert (np.diff(saliency[0]) >= -1e-6).all() and 0 < saliency[0, 3] < 1  # bilinear ramp
    transform(image_results(tmp_path, path))
    resize_logs = [m for m in logs.messages if "resizing bilinearly" in m]
    assert len(resize_logs) == 1 and "small.png" in resize_logs[0] and "2x3" in resize_logs[0]


def test_saliency_size_mismatch_error_mode(tmp_path):
    path = save(np.zeros((2, 3), np.uint8), tmp_path / "small.png")
    with pytest.raises(ValueError, match=r"small\.png: saliency map is 2x3, image is 4x6"):
        LoadSaliencyMap(on_size_mismatch="error")(image_results(tmp_path, path))
    with pytest.raises(ValueError, match="on_size_mismatch"):
        LoadSaliencyMap(on_size_mismatch="crop")


def test_saliency_missing_or_truncated_names_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"saliency map not found: .*gone\.png"):
        LoadSaliencyMap()(image_results(tmp_path, str(tmp_path / "gone.png")))
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(OSError, match=r"bad\.png: cannot read saliency map"):
        LoadSaliencyMap()(image_results(tmp_path, str(path)))


def test_saliency_needs_image_first(tmp_path):
    path = save(np.zeros((2, 3), np.uint8), tmp_path / "s.png")
    with pytest.raises(KeyError, match="image loaded first"):
        LoadSaliencyMap()(dict(sal_path=path))


# ------------------------------------------------------------------------ mask
def test_palette_mask_gives_indices(tmp_path):
    mask = np.array([[0, 0, 3, 3, 255, 1]] * 4, np.uint8)
    results = image_results(tmp_path, None)
    results["seg_map_path"] = save_palette(mask, tmp_path / "m.png")
    results = TRANSFORMS.build(dict(type="LoadWSSSAnnotations"))(results)
    np.testing.assert_array_equal(results["gt_seg_map"], mask)
    assert results["seg_fields"] == ["gt_seg_map"]


def test_mask_none_does_nothing_and_bad_masks_fail(tmp_path):
    results = LoadWSSSAnnotations()(dict(seg_map_path=None, seg_fields=[]))
    assert "gt_seg_map" not in results and results["seg_fields"] == []
    results = image_results(tmp_path, None)
    results["seg_map_path"] = save_palette(np.zeros((3, 3)), tmp_path / "m.png")
    with pytest.raises(ValueError, match=r"m\.png: mask is 3x3, image is 4x6"):
        LoadWSSSAnnotations()(results)
    results["seg_map_path"] = save(np.zeros((4, 6, 3), np.uint8), tmp_path / "rgb.png")
    with pytest.raises(ValueError, match=r"rgb\.png: mask has image mode 'RGB'"):
        LoadWSSSAnnotations()(results)


# ------------------------------------------------ mmcv loader, backends, EXIF
class MemoryBackend(BaseStorageBackend):
    """A file backend serving bytes from a dict (``mem://<name>``)."""

    files: dict = {}

    def get(self, filepath):
        return self.files[str(filepath)]

    def get_text(self, filepath, encoding="utf-8"):
        return self.get(filepath).decode(encoding)


register_backend("l2g_test_memory", MemoryBackend, force=True)


def png_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_is_mmcv_load_image_from_file_and_reads_through_backend_args():
    MemoryBackend.files = {"mem://a.png": png_bytes(RGB), "mem://s.png": png_bytes(RGB[..., 0])}
    backend_args = dict(backend="l2g_test_memory")
    load = TRANSFORMS.build(dict(type="LoadWSSSImage", backend_args=backend_args))
    assert isinstance(load, LoadImageFromFile) and load.backend_args == backend_args
    results = load(dict(img_path="mem://a.png"))
    np.testing.assert_array_equal(results["img"], RGB[:, :, ::-1])
    results.update(sal_path="mem://s.png")
    saliency = LoadSaliencyMap(backend_args=backend_args)(results)["gt_saliency"]
    np.testing.assert_allclose(saliency, RGB[..., 0] / 255.0, atol=1e-6)


def test_ignore_empty_returns_none_as_mmcv(tmp_path):
    assert LoadWSSSImage(ignore_empty=True)(dict(img_path=str(tmp_path / "none.jpg"))) is None
    (tmp_path / "bad.jpg").write_text("not an image")
    assert LoadWSSSImage(ignore_empty=True)(dict(img_path=str(tmp_path / "bad.jpg"))) is None


def save_rotated_jpeg(path) -> None:
    """A 16 x 24 JPEG, red left half, whose EXIF orientation 6 turns it 90 degrees clockwise."""
    image = np.zeros((16, 24, 3), np.uint8)
    image[:, :12] = (200, 40, 40)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(image).save(path, quality=100, exif=exif)


@pytest.mark.parametrize("decoder", ["cv2", "pillow"])
def test_exif_orientation_as_mmcv_load_image_from_file(tmp_path, decoder):
    path = str(tmp_path / "turned.jpg")
    save_rotated_jpeg(path)
    ours = load_image(path)
    theirs = TRANSFORMS.build(dict(type="LoadImageFromFile", imdecode_backend=decoder))(
        dict(img_path=path)
    )
    # Turned clockwise: 24 x 16, the red left half on top (BGR (40, 40, 200)).
    assert ours["img"].shape == theirs["img"].shape == (24, 16, 3) and ours["ori_shape"] == (24, 16)
    top, bottom = ours["img"][:10].astype(int), ours["img"][14:].astype(int)
    assert np.abs(top - [40, 40, 200]).max() <= 10 and bottom.max() <= 10
    if decoder == "pillow":  # the test pipelines' loader: the same pixels
        np.testing.assert_array_equal(ours["img"], theirs["img"])
    else:  # stage 3's loader (cv2): another JPEG decoder, a few levels apart at most
        assert np.abs(ours["img"].astype(int) - theirs["img"].astype(int)).max() <= 10


@pytest.mark.parametrize("kind", ["rgb", "grey", "rgba", "palette"])
def test_test_pipeline_loader_decodes_the_same_pixels(tmp_path, kind):
    arrays = dict(
        rgb=RGB,
        grey=RGB[..., 0],
        rgba=np.dstack([RGB, np.full((5, 7), 9, np.uint8)]),
    )
    if kind == "palette":
        path = save_palette(RGB[..., 1] % 4, tmp_path / "p.png")
    else:
        path = save(arrays[kind], tmp_path / f"{kind}.png")
    theirs = TRANSFORMS.build(dict(type="LoadImageFromFile", imdecode_backend="pillow"))
    np.testing.assert_array_equal(load_image(path)["img"], theirs(dict(img_path=path))["img"])

"""Our image reading and saliency geometry against mmcv / mmseg's own, measured.

Where the library gives the same arrays the pipelines use it (mmseg's
``RandomFlip``); where it does not, these tests pin down the difference that
the docstring of our version states (``read_bgr_image``, ``ResizeWithSaliency``,
``PadWithSaliency``).
"""

import mmcv
import numpy as np
import pytest
from mmcv.transforms import Pad
from mmseg.datasets.transforms import RandomFlip, Resize
from PIL import Image

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.transforms import LoadSaliencyMap, PadWithSaliency, ResizeWithSaliency
from mmseg_l2g.datasets.transforms.loading import read_bgr_image

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)


def _files(root) -> dict:
    """One file per PIL mode the datasets may hold (and a JPEG turned by EXIF)."""
    rotated = Image.fromarray(RGB)
    exif = rotated.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    images = {
        "exif.jpg": (rotated, dict(exif=exif, quality=95)),
        "rgb.png": (Image.fromarray(RGB), {}),
        "grey.png": (Image.fromarray(RGB[..., 0]), {}),
        "bilevel.png": (Image.fromarray(RGB[..., 0] > 128), {}),
        "palette.png": (Image.fromarray(RGB).quantize(16), {}),
        "rgba.png": (Image.fromarray(np.dstack([RGB, RGB[..., :1]])), {}),
        "cmyk.jpg": (Image.fromarray(RGB).convert("CMYK"), {}),
        "grey_alpha.png": (Image.fromarray(RGB[..., :2].copy(), "LA"), {}),
        "grey16.png": (Image.fromarray(RGB[..., 0].astype(np.uint16) * 200), {}),
    }
    paths = {}
    for name, (image, options) in images.items():
        image.save(root / name, **options)
        paths[name] = str(root / name)
    return paths


def _mmcv_read(path: str) -> np.ndarray:
    with open(path, "rb") as f:
        return mmcv.imfrombytes(f.read(), backend="pillow")


def test_read_bgr_image_against_mmcv_pillow(tmp_path) -> None:
    paths = _files(tmp_path)
    same = ["exif.jpg", "rgb.png", "grey.png", "bilevel.png", "palette.png", "rgba.png"]
    for name in same + ["cmyk.jpg"]:
        ours, theirs = read_bgr_image(paths[name]), _mmcv_read(paths[name])
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
        assert ours.flags.c_contiguous and not theirs.flags.c_contiguous  # mmcv: a view
    assert read_bgr_image(paths["exif.jpg"]).shape == (30, 20, 3)  # both turn by EXIF
    # Grey + alpha: mmcv pastes onto a (124, 117, 104) canvas; ours drops the alpha
    # as for RGBA (the grey value in all three channels).
    ours, theirs = read_bgr_image(paths["grey_alpha.png"]), _mmcv_read(paths["grey_alpha.png"])
    np.testing.assert_array_equal(ours, np.repeat(RGB[..., :1], 3, axis=2))
    assert (ours != theirs).mean() > 0.5 and np.abs(ours.astype(int) - theirs).max() > 100
    # 16-bit grey: mmcv saturates it to 8 bits; ours refuses it, naming the file.
    assert _mmcv_read(paths["grey16.png"]).max() == 255
    with pytest.raises(ValueError, match=r"grey16\.png: image mode 'I;16' is not supported"):
        read_bgr_image(paths["grey16.png"])


def test_truncated_file_error_names_it_only_in_ours(tmp_path) -> None:
    path = tmp_path / "cut.png"
    data = open(_files(tmp_path)["rgb.png"], "rb").read()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSError, match=r"cut\.png: cannot read image"):
        read_bgr_image(str(path))
    with pytest.raises(OSError) as info:
        mmcv.imfrombytes(path.read_bytes(), backend="pillow")
    assert "cut.png" not in str(info.value)


def _with_saliency(height: int = 15, width: int = 22) -> dict:
    saliency = RNG.random((height, width)).astype(np.float32)
    img = RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return dict(img=img, img_shape=(height, width), gt_saliency=saliency, seg_fields=[])


def test_load_saliency_map_puts_it_in_seg_fields(tmp_path) -> None:
    Image.fromarray(RGB[..., 0]).save(tmp_path / "s.png")
    results = LoadSaliencyMap()(dict(img=RGB.copy(), sal_path=str(tmp_path / "s.png")))
    assert results["seg_fields"] == ["gt_saliency"]


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_mmseg_random_flip_flips_the_saliency_map(direction) -> None:
    results = _with_saliency()
    results["seg_fields"] = ["gt_saliency"]
    saliency, img = results["gt_saliency"].copy(), results["img"].copy()
    out = RandomFlip(prob=1.0, direction=direction)(results)
    axes = dict(horizontal=(1,), vertical=(0,), diagonal=(0, 1))[direction]
    np.testing.assert_array_equal(out["gt_saliency"], np.flip(saliency, axes))
    np.testing.assert_array_equal(out["img"], np.flip(img, axes))
    assert out["gt_saliency"].dtype == np.float32 and out["gt_saliency"].flags.c_contiguous


@pytest.mark.parametrize("keep_ratio", [False, True])
def test_resize_cv2_nearest_equals_mmseg_resize(keep_ratio) -> None:
    results = _with_saliency()
    results["seg_fields"] = ["gt_saliency"]
    args = dict(scale=(40, 31), keep_ratio=keep_ratio)
    ours = ResizeWithSaliency(**args)(dict(results, seg_fields=[]))
    theirs = Resize(**args)(dict(results))
    assert ours["gt_saliency"].shape == ours["img"].shape[:2]
    np.testing.assert_array_equal(ours["img"], theirs["img"])
    np.testing.assert_array_equal(ours["gt_saliency"], theirs["gt_saliency"])


def test_resize_pillow_or_bilinear_needs_ours() -> None:
    results = _with_saliency()
    args = dict(scale=(40, 31), keep_ratio=False, interpolation="bicubic", backend="pillow")
    with pytest.raises(AssertionError, match="uint8"):
        Resize(**args)(dict(results, seg_fields=["gt_saliency"]))
    out = ResizeWithSaliency(**args)(dict(results))
    assert out["gt_saliency"].shape == (31, 40) and out["gt_saliency"].dtype == np.float32
    smooth = ResizeWithSaliency(scale=(40, 31), saliency_interpolation="bilinear")(dict(results))
    assert len(np.unique(smooth["gt_saliency"])) > len(np.unique(out["gt_saliency"]))


def test_pad_needs_ours() -> None:
    results = _with_saliency()
    args = dict(size=(30, 20), pad_val=dict(img=0, seg=255))
    theirs = Pad(**args)(dict(results, seg_fields=["gt_saliency"]))
    assert theirs["img"].shape[:2] == (20, 30) and theirs["gt_saliency"].shape == (15, 22)
    ours = PadWithSaliency(**args)(dict(results))
    assert ours["gt_saliency"].shape == (20, 30)
    np.testing.assert_array_equal(ours["gt_saliency"][:15, :22], results["gt_saliency"])
    assert (ours["gt_saliency"][15:] == 0).all() and (ours["gt_saliency"][:, 22:] == 0).all()

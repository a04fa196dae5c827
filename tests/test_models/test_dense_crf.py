"""Dense CRF: refinement of noisy scores and label maps, and CRFEncoderDecoder's predict."""

import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules
from model_test_utils import TINY_BACKBONE

import mmseg_l2g  # noqa: F401
import mmseg_l2g.models.segmentors  # noqa: F401  (registers CRFEncoderDecoder)
from mmseg_l2g.models.postprocess import (
    crf_refine_labels,
    crf_settings,
    dense_crf,
    label_unary_probs,
)
from mmseg_l2g.models.postprocess.dense_crf import import_densecrf

SIZE = 48


def two_region_image(seed: int = 0) -> tuple:
    """A flat red left half and a flat blue right half (+-4 levels of noise), and its labels."""
    rng = np.random.default_rng(seed)
    image = np.zeros((SIZE, SIZE, 3), np.int64)
    image[:, : SIZE // 2] = (200, 40, 40)
    image[:, SIZE // 2 :] = (40, 60, 200)
    image = np.clip(image + rng.integers(-4, 5, image.shape), 0, 255).astype(np.uint8)
    labels = np.zeros((SIZE, SIZE), np.int64)
    labels[:, SIZE // 2 :] = 1
    return image, labels


def noisy_logits(labels: np.ndarray, noise: float, seed: int = 1) -> np.ndarray:
    """Two-class logits: one-hot of the labels plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    onehot = np.stack([labels == k for k in range(2)]).astype(np.float32)
    return onehot + rng.normal(0.0, noise, onehot.shape).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=0))
    return exp / exp.sum(axis=0)


def test_crf_corrects_noisy_probabilities_on_flat_regions():
    image, labels = two_region_image()
    probs = softmax(noisy_logits(labels, noise=1.0))
    before = (probs.argmax(0) == labels).sum()
    marginals = dense_crf(image, probs)
    after = (marginals.argmax(0) == labels).sum()
    assert before < 0.85 * labels.size  # the noise really hurts the argmax
    assert after >= 0.99 * labels.size
    assert after > before
    assert marginals.shape == probs.shape and marginals.dtype == np.float32
    np.testing.assert_allclose(marginals.sum(0), 1.0, atol=1e-4)


def test_crf_keeps_confident_correct_probabilities():
    image, labels = two_region_image()
    probs = np.stack([labels == k for k in range(2)]).astype(np.float32) * 0.98 + 0.01
    marginals = dense_crf(image, probs, iters=5)
    np.testing.assert_array_equal(marginals.argmax(0), labels)
    assert marginals.max(0).min() > 0.9


def test_no_pairwise_weight_returns_the_input_distribution():
    image, labels = two_region_image()
    probs = softmax(noisy_logits(labels, noise=1.0))
    marginals = dense_crf(image, probs, pos_w=0.0, bi_w=0.0)
    np.testing.assert_allclose(marginals, np.clip(probs, 1e-5, 1), atol=1e-4)


def test_label_unary_probs_hand_values():
    labels = np.array([[0, 2], [255, 1]], np.uint8)
    probs = label_unary_probs(labels, num_classes=3, gt_prob=0.7)
    np.testing.assert_allclose(probs[:, 0, 0], [0.7, 0.15, 0.15], atol=1e-6)
    np.testing.assert_allclose(probs[:, 0, 1], [0.15, 0.15, 0.7], atol=1e-6)
    np.testing.assert_allclose(probs[:, 1, 1], [0.15, 0.7, 0.15], atol=1e-6)
    np.testing.assert_allclose(probs[:, 1, 0], [1 / 3] * 3, atol=1e-6)


def test_crf_refines_a_noisy_pseudo_mask():
    image, labels = two_region_image()
    rng = np.random.default_rng(2)
    noisy = labels.copy()
    flipped = rng.random(labels.shape) < 0.2
    noisy[flipped] = 1 - noisy[flipped]
    noisy[:4] = 255  # an unlabelled band
    noisy = noisy.astype(np.uint8)
    refined = crf_refine_labels(image, noisy, num_classes=2)
    assert refined.dtype == np.uint8 and refined.shape == labels.shape
    assert (noisy == labels).sum() < 0.8 * labels.size
    assert (refined == labels).sum() >= 0.99 * labels.size  # the band is filled in too
    kept = crf_refine_labels(image, noisy, num_classes=2, keep_ignore=True)
    assert np.all(kept[:4] == 255)
    assert (kept[4:] == labels[4:]).mean() >= 0.99


def test_bad_inputs_are_named():
    image, labels = two_region_image()
    probs = softmax(noisy_logits(labels, noise=1.0))
    with pytest.raises(ValueError, match="uint8"):
        dense_crf(image.astype(np.float32), probs)
    with pytest.raises(ValueError, match="scores are"):
        dense_crf(image[:10], probs)
    with pytest.raises(ValueError, match="probs must be float"):
        dense_crf(image, labels)
    with pytest.raises(ValueError, match="outside 0..1"):
        crf_refine_labels(image, np.full(labels.shape, 7, np.uint8), num_classes=2)
    with pytest.raises(ValueError, match="unknown dense CRF settings"):
        crf_settings(dict(iters=3, bi_std=3))


def test_missing_pydensecrf_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydensecrf", None)
    monkeypatch.setitem(sys.modules, "pydensecrf.densecrf", None)
    with pytest.raises(ImportError, match="pip install pydensecrf2"):
        import_densecrf()
    image, labels = two_region_image()
    with pytest.raises(ImportError, match="pydensecrf2"):
        dense_crf(image, softmax(noisy_logits(labels, noise=1.0)))


# --- CRFEncoderDecoder ---------------------------------------------------------------------

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def tiny_segmentor(crf=None, num_classes: int = 2):
    test_cfg = dict(mode="whole")
    if crf is not None:
        test_cfg["crf"] = crf
    cfg = dict(
        type="CRFEncoderDecoder",
        data_preprocessor=dict(
            type="SegDataPreProcessor", mean=MEAN, std=STD, bgr_to_rgb=True, size=(SIZE, SIZE)
        ),
        backbone=dict(TINY_BACKBONE),
        decode_head=dict(
            type="DeepLabV2Head", in_channels=32, num_classes=num_classes, dilations=(1, 2)
        ),
        test_cfg=ConfigDict(test_cfg),
    )
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope("mmseg"):
        model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def packed_batch(image_rgb: np.ndarray, img_path: str = None) -> dict:
    """A batch of one as mmseg's PackSegInputs would give (BGR uint8 input)."""
    inputs = torch.from_numpy(image_rgb[..., ::-1].copy()).permute(2, 0, 1)
    meta = dict(ori_shape=image_rgb.shape[:2], img_shape=image_rgb.shape[:2])
    if img_path is not None:
        meta["img_path"] = img_path
    return dict(inputs=[inputs], data_samples=[SegDataSample(metainfo=meta)])


def test_segmentor_without_crf_is_plain_encoder_decoder():
    image, _ = two_region_image()
    model = tiny_segmentor()
    with torch.no_grad():
        data = model.data_preprocessor(packed_batch(image), False)
        result = model.predict(**data)[0]
        logits = model.encode_decode(data["inputs"], [s.metainfo for s in data["data_samples"]])
    assert result.pred_sem_seg.data.shape == (1, SIZE, SIZE)
    torch.testing.assert_close(result.seg_logits.data, logits[0])
    torch.testing.assert_close(result.pred_sem_seg.data, logits[0].argmax(0, keepdim=True))


def test_segmentor_crf_uses_image_file_and_matches_dense_crf(tmp_path):
    image, _ = two_region_image()
    path = str(tmp_path / "toy.png")
    cv2.imwrite(path, image[..., ::-1])  # lossless, so the file holds exactly `image`
    plain, refined = tiny_segmentor(), tiny_segmentor(crf=dict(iters=5))
    refined.load_state_dict(plain.state_dict())
    with torch.no_grad():
        data = plain.data_preprocessor(packed_batch(image, path), False)
        # predict() writes into data's samples: keep a copy of the plain logits
        base_logits = plain.predict(**data)[0].seg_logits.data.clone()
        result = refined.predict(**data)[0]
    np.testing.assert_array_equal(refined.crf_image(None, dict(img_path=path), (SIZE, SIZE)), image)
    expected = dense_crf(image, base_logits.softmax(0).numpy(), iters=5)
    assert not np.array_equal(expected.argmax(0), base_logits.argmax(0).numpy())  # CRF did work
    np.testing.assert_array_equal(result.pred_sem_seg.data[0].numpy(), expected.argmax(0))
    np.testing.assert_allclose(result.seg_logits.data.exp().numpy(), expected, atol=1e-5)


def test_segmentor_crf_improves_noisy_predictions(monkeypatch):
    image, labels = two_region_image()
    noisy = torch.from_numpy(noisy_logits(labels, noise=1.0))[None]
    plain, refined = tiny_segmentor(), tiny_segmentor(crf=dict())
    for model in (plain, refined):  # the network's scores are replaced by the noisy ones
        monkeypatch.setattr(model, "inference", lambda inputs, metas: noisy.clone())
    with torch.no_grad():
        data = plain.data_preprocessor(packed_batch(image), False)
        before = plain.predict(**data)[0].pred_sem_seg.data[0].numpy()
        after = refined.predict(**data)[0].pred_sem_seg.data[0].numpy()
    correct_before, correct_after = (before == labels).sum(), (after == labels).sum()
    assert correct_before < 0.85 * labels.size
    assert correct_after >= 0.99 * labels.size


def test_segmentor_rebuilds_image_from_inputs_without_path():
    image, _ = two_region_image()
    model = tiny_segmentor(crf=dict(iters=2))
    with torch.no_grad():
        data = model.data_preprocessor(packed_batch(image), False)
        rebuilt = model.crf_image(data["inputs"][0], {}, (SIZE, SIZE))
        flipped = model.crf_image(
            data["inputs"][0], dict(flip=True, flip_direction="horizontal"), (SIZE, SIZE)
        )
        results = model.predict(data["inputs"])  # no data samples at all
    assert np.abs(rebuilt.astype(int) - image).max() <= 1
    assert np.abs(flipped.astype(int) - image[:, ::-1]).max() <= 1
    assert results[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
    assert torch.isfinite(results[0].seg_logits.data).all()


def test_segmentor_missing_image_file_is_named(tmp_path):
    image, _ = two_region_image()
    model = tiny_segmentor(crf=dict())
    missing = str(tmp_path / "nope.jpg")
    data = model.data_preprocessor(packed_batch(image, missing), False)
    with torch.no_grad(), pytest.raises(FileNotFoundError, match="nope.jpg"):
        model.predict(**data)

"""Fully connected CRF (Kraehenbuehl & Koltun, 2011) over class probabilities or label maps.

Runs through the optional package ``pydensecrf2`` (module ``pydensecrf``):
``pip install pydensecrf2``. The defaults are deeplab-pytorch's CRF settings for
PASCAL VOC (``configs/voc12.yaml``): 10 mean-field iterations, a smoothness
kernel of std 1 px and weight 3, an appearance kernel of std 67 px / 3 colour
levels and weight 4. :func:`crf_image` rebuilds the CRF's image from a network
input (the one place that does it).
"""

from types import ModuleType
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ...io import IGNORE_INDEX
from .flip import undo_flip

INSTALL_HINT = "pip install pydensecrf2"
PROB_FLOOR = 1e-5  # probabilities are clipped here before the unary -log(p)


def import_densecrf() -> ModuleType:
    """Returns ``pydensecrf.densecrf``, or raises an ImportError that says how to install it."""
    try:
        import pydensecrf.densecrf as densecrf
    except ImportError as error:
        raise ImportError(
            "Dense CRF post-processing needs the optional package pydensecrf2 "
            f"(module pydensecrf): {INSTALL_HINT}"
        ) from error
    return densecrf


def _check_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"dense CRF: image must be uint8 (H, W, 3), got {image.dtype} {image.shape}"
        )
    if image.shape[:2] != (height, width):
        raise ValueError(
            f"dense CRF: image is {image.shape[:2]} but the scores are {(height, width)}"
        )
    return np.ascontiguousarray(image)


def crf_image(
    image: torch.Tensor,
    size: Tuple[int, int],
    mean: Optional[torch.Tensor] = None,
    std: Optional[torch.Tensor] = None,
    bgr: bool = False,
    padding: Sequence[int] = (0, 0, 0, 0),
    flip: Optional[str] = None,
) -> np.ndarray:
    """The uint8 (H, W, 3) RGB image the CRF needs, from one network input.

    The one rebuild of the CRF's image (the classifier's ``predict``, the
    segmenter without an image file, stage 2): undoes the normalisation,
    removes the padding, flips back along the direction the pipeline flipped,
    resizes (bilinear) to ``size``, rounds to uint8.

    Args:
        image: (C, h, w) input, C = 3 (or 1: grey, repeated), float or uint8.
        size: (H, W) of the scores the CRF refines.
        mean: per-channel mean to add back after multiplying by ``std``
            (broadcastable to (C, 1, 1)); ``None``: not normalised.
        std: per-channel standard deviation (with ``mean``).
        bgr: the channels are BGR (else RGB).
        padding: (left, right, top, bottom) pixels of padding to remove.
        flip: the direction the pipeline flipped the image in (``'horizontal'``,
            ``'vertical'``, ``'diagonal'``); ``None``: not flipped.

    Returns:
        Contiguous uint8 (H, W, 3) RGB array.
    """
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"dense CRF: needs a (1 or 3, h, w) input, got {tuple(image.shape)}")
    image = image.detach().float()
    if mean is not None:
        image = image * torch.as_tensor(std).to(image) + torch.as_tensor(mean).to(image)
    image = image.expand(3, -1, -1)
    if bgr:
        image = image.flip(0)
    left, right, top, bottom = (int(p) for p in padding)
    image = image[:, top : image.shape[1] - bottom, left : image.shape[2] - right]
    image = undo_flip(image, flip)
    if tuple(image.shape[-2:]) != tuple(size):
        image = F.interpolate(image[None], size=tuple(size), mode="bilinear", align_corners=False)
        image = image[0]
    image = image.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
    return np.ascontiguousarray(image.cpu().numpy())


def dense_crf(
    image: np.ndarray,
    probs: np.ndarray,
    iters: int = 10,
    pos_xy_std: float = 1.0,
    pos_w: float = 3.0,
    bi_xy_std: float = 67.0,
    bi_rgb_std: float = 3.0,
    bi_w: float = 4.0,
) -> np.ndarray:
    """Refines per-pixel class probabilities with a fully connected CRF.

    The unary is ``-log(max(p, 1e-5))``; the pairwise terms are a Gaussian
    smoothness kernel and a bilateral (position + colour) appearance kernel,
    both with Potts compatibility.

    Args:
        image: uint8 (H, W, 3) image, RGB (the appearance kernel has one colour
            std, so BGR gives the same result).
        probs: float (K, H, W) class probabilities (e.g. a softmax).
        iters: Mean-field iterations.
        pos_xy_std: Spatial std (pixels) of the smoothness kernel.
        pos_w: Weight of the smoothness kernel.
        bi_xy_std: Spatial std (pixels) of the appearance kernel.
        bi_rgb_std: Colour std (0..255 levels) of the appearance kernel.
        bi_w: Weight of the appearance kernel.

    Returns:
        float32 (K, H, W) marginals after inference (sum to 1 over K).
    """
    probs = np.asarray(probs)
    if probs.ndim != 3 or probs.shape[0] < 1 or not np.issubdtype(probs.dtype, np.floating):
        raise ValueError(
            f"dense CRF: probs must be float (K, H, W), got {probs.dtype} {probs.shape}"
        )
    if not np.all(np.isfinite(probs)):
        raise ValueError("dense CRF: probs hold NaN or infinite values")
    if iters < 1:
        raise ValueError(f"dense CRF: iters must be >= 1, got {iters}")
    num_classes, height, width = probs.shape
    image = _check_image(image, height, width)
    densecrf = import_densecrf()

    from pydensecrf.utils import unary_from_softmax

    crf = densecrf.DenseCRF2D(width, height, num_classes)
    crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs, clip=PROB_FLOOR)))
    crf.addPairwiseGaussian(sxy=pos_xy_std, compat=pos_w)
    crf.addPairwiseBilateral(sxy=bi_xy_std, srgb=bi_rgb_std, rgbim=image, compat=bi_w)
    marginals = crf.inference(int(iters))
    return np.asarray(marginals, dtype=np.float32).reshape(num_classes, height, width)


def label_unary_probs(
    labels: np.ndarray, num_classes: int, gt_prob: float = 0.7, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """Turns a label map into probabilities: ``gt_prob`` on the label, the rest spread evenly.

    Ignored pixels get the uniform distribution.

    Args:
        labels: integer (H, W) label map, values in 0..num_classes-1 or ``ignore_index``.
        num_classes: Number of classes K (background included).
        gt_prob: Probability given to each pixel's label.
        ignore_index: Label of pixels without a label.

    Returns:
        float32 (K, H, W) probabilities.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be an integer (H, W) map, got {labels.dtype} {labels.shape}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if not 0.0 < gt_prob < 1.0:
        raise ValueError(f"gt_prob must be in (0, 1), got {gt_prob}")
    known = labels != ignore_index
    bad = known & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        raise ValueError(
            f"labels hold values {sorted(np.unique(labels[bad]).tolist())[:5]} outside "
            f"0..{num_classes - 1} and the ignore index {ignore_index}"
        )
    other = (1.0 - gt_prob) / (num_classes - 1)
    probs = np.full((num_classes,) + labels.shape, other, dtype=np.float32)
    probs[:, ~known] = 1.0 / num_classes
    rows, cols = np.nonzero(known)
    probs[labels[rows, cols], rows, cols] = gt_prob
    return probs


def crf_refine_labels(
    image: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    gt_prob: float = 0.7,
    ignore_index: int = IGNORE_INDEX,
    keep_ignore: bool = False,
    **crf_kwargs,
) -> np.ndarray:
    """Refines a label map (e.g. a pseudo mask) with a dense CRF.

    Args:
        image: uint8 (H, W, 3) RGB image.
        labels: integer (H, W) label map (0..num_classes-1, ``ignore_index``).
        num_classes: Number of classes K (background included).
        gt_prob: Confidence given to the input labels (see ``label_unary_probs``).
        ignore_index: Label of unlabelled pixels; they start uniform and take
            the CRF's label.
        keep_ignore: Put ``ignore_index`` back where the input had it.
        **crf_kwargs: ``dense_crf`` settings (``iters``, ``pos_xy_std``, ...).

    Returns:
        uint8 (H, W) refined label map.
    """
    probs = label_unary_probs(labels, num_classes, gt_prob, ignore_index)
    refined = dense_crf(image, probs, **crf_kwargs).argmax(axis=0).astype(np.uint8)
    if keep_ignore:
        refined[np.asarray(labels) == ignore_index] = ignore_index
    return refined


def crf_settings(cfg: Optional[dict]) -> dict:
    """Checks a ``dense_crf`` settings dict (unknown keys raise) and returns a copy."""
    allowed = {"iters", "pos_xy_std", "pos_w", "bi_xy_std", "bi_rgb_std", "bi_w"}
    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise ValueError(f"unknown dense CRF settings {unknown}; allowed: {sorted(allowed)}")
    return cfg

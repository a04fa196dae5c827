"""Pseudo masks from normalised CAMs: the threshold rule and saliency fusion.

Masks follow the VOC convention: 0 = background, c = foreground class c
(``label + 1`` for a 0-based class index), 255 = ignore. All rules work on
whole tensors (CPU or CUDA), no per-pixel loops. :func:`make_mask` is the
one rule the model's ``predict`` and stage 2 both apply.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ...io import IGNORE_INDEX


def cam_peaks(cams: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The strongest class map at every pixel.

    Args:
        cams: (n, H, W) normalised maps of the image's classes.
        labels: (n,) 0-based foreground class indices of the maps.

    Returns:
        ``(score, value)``: float (H, W) largest map value (0 where n = 0) and
        long (H, W) mask value of that class (``label + 1``; the first class
        wins ties).
    """
    if cams.ndim != 3 or labels.shape != (cams.shape[0],):
        raise ValueError(
            f"cams must be (n, H, W) with n labels, got {tuple(cams.shape)} and "
            f"{tuple(labels.shape)}"
        )
    if cams.shape[0] == 0:
        shape = cams.shape[1:]
        return (
            torch.zeros(shape, dtype=torch.float32, device=cams.device),
            torch.zeros(shape, dtype=torch.long, device=cams.device),
        )
    score, index = cams.float().max(dim=0)
    return score, labels.to(device=cams.device, dtype=torch.long)[index] + 1


def threshold_mask(
    score: torch.Tensor, value: torch.Tensor, bg_thr: Union[float, torch.Tensor]
) -> torch.Tensor:
    """Argmax over ``[bg_thr, cams]``: background wins unless a map exceeds it.

    Args:
        score: (H, W) largest class map value (from :func:`cam_peaks`).
        value: (H, W) mask value of that class.
        bg_thr: the background score (a tie goes to background); a (T, 1, 1)
            tensor gives T masks.

    Returns:
        uint8 (H, W) (or (T, H, W)) mask, 0 = background.
    """
    return torch.where(score > bg_thr, value, torch.zeros_like(value)).to(torch.uint8)


def saliency_fused_mask(
    score: torch.Tensor,
    value: torch.Tensor,
    saliency: torch.Tensor,
    sal_thr: float,
    cam_thr: Union[float, torch.Tensor],
) -> torch.Tensor:
    """Saliency-fused mask: saliency decides background, the CAMs decide the class.

    Pixels whose saliency is below ``sal_thr`` are background; salient pixels
    take the strongest class when its map exceeds ``cam_thr``, else they are
    ignored (255): salient, but no class supports them.

    Args:
        score: (H, W) largest class map value (from :func:`cam_peaks`).
        value: (H, W) mask value of that class.
        saliency: (H, W) saliency in [0, 1].
        sal_thr: saliency below this is background.
        cam_thr: a salient pixel needs a class map above this; a (T, 1, 1)
            tensor gives T masks.

    Returns:
        uint8 (H, W) (or (T, H, W)) mask with 0 = background and 255 = ignore.
    """
    if saliency.shape != score.shape:
        raise ValueError(
            f"saliency shape {tuple(saliency.shape)} differs from the CAM shape "
            f"{tuple(score.shape)}"
        )
    ignore = torch.full_like(value, IGNORE_INDEX)
    salient = torch.where(score > cam_thr, value, ignore)
    background = saliency.to(score.device) < sal_thr
    return torch.where(background, torch.zeros_like(value), salient).to(torch.uint8)


def sweep_masks(
    score: torch.Tensor,
    value: torch.Tensor,
    thresholds: Sequence[float],
    saliency: Optional[torch.Tensor] = None,
    sal_thr: float = 0.5,
) -> torch.Tensor:
    """The masks of several thresholds at once (threshold or fused mode).

    Args:
        score: (H, W) largest class map value (from :func:`cam_peaks`).
        value: (H, W) mask value of that class.
        thresholds: T background thresholds (fused mode: CAM support thresholds).
        saliency: (H, W) saliency in [0, 1]; given, the fused mode is used.
        sal_thr: saliency threshold of the fused mode.

    Returns:
        uint8 (T, H, W), mask t made with ``thresholds[t]``.
    """
    thr = torch.tensor(list(thresholds), dtype=score.dtype, device=score.device)[:, None, None]
    if saliency is None:
        return threshold_mask(score, value, thr)
    return saliency_fused_mask(score, value, saliency, sal_thr, thr)


def make_mask(
    cams16: torch.Tensor,
    classes: torch.Tensor,
    bg_thr: float,
    saliency: Optional[torch.Tensor] = None,
    sal_thr: float = 0.5,
    crf: Optional[Dict[str, Any]] = None,
    image_rgb: Optional[np.ndarray] = None,
    num_classes: int = 0,
) -> Tuple[Union[torch.Tensor, np.ndarray], torch.Tensor, torch.Tensor]:
    """An image's pseudo mask from its float16 CAMs (threshold or saliency-fused, then CRF).

    The CAMs are float16 (as stored in CAM files), so masks from a CAM file
    equal those made straight from the network.

    Args:
        cams16: float16 (n, H, W) normalised maps of the image's classes.
        classes: (n,) 0-based foreground class indices of the maps.
        bg_thr: background score (fused mode: the CAM support a salient pixel needs).
        saliency: (H, W) saliency in [0, 1]; given, the fused mode is used.
        sal_thr: saliency below this is background (fused mode).
        crf: dense-CRF settings; given, the mask is refined from ``image_rgb``
            (ignored pixels stay ignored).
        image_rgb: uint8 (H, W, 3) image, for the CRF.
        num_classes: K = C+1, for the CRF.

    Returns:
        ``(mask, score, value)``: uint8 (H, W) mask (a host array after a
        CRF), and the peaks of :func:`cam_peaks` (for scoring).
    """
    score, value = cam_peaks(cams16.float(), classes.to(cams16.device, non_blocking=True))
    if saliency is None:
        mask = threshold_mask(score, value, bg_thr)
    else:
        mask = saliency_fused_mask(score, value, saliency, sal_thr, bg_thr)
    if crf is not None:
        from .dense_crf import crf_refine_labels

        if image_rgb is None:
            raise ValueError("a CRF-refined mask needs its image")
        mask = crf_refine_labels(
            image_rgb, mask.cpu().numpy(), num_classes, keep_ignore=True, **crf
        )
    return mask, score, value

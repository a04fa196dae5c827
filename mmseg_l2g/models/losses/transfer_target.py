"""Shared pieces of the L2G transfer losses: the local target and the global prediction.

Both transfer losses compare, for every local view i, the global network's
prediction over the view's box (``G_i``) with a target read from the local
network's logits (``T_i``). Channel layout (see ``docs/data_flow.md``): K = C+1
channels, the C foreground classes first, background last.
"""

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import roi_align

# Added to each channel's spatial max before dividing (the release's value).
NORMALIZE_EPS = 1e-8


def check_transfer_inputs(
    global_logits: Tensor,
    local_logits: Tensor,
    boxes: Tensor,
    labels: Tensor,
    saliency: Optional[Tensor] = None,
    owner: str = "transfer loss",
) -> Tuple[int, int]:
    """Validate the shapes of a transfer loss's inputs.

    Args:
        global_logits: (B, K, H, W) logits of the global network.
        local_logits: (B*N, K, h, w) logits of the local network, the N views
            of an image consecutive.
        boxes: (B*N, 4) boxes x1, y1, x2, y2 in global-view input pixels.
        labels: (B, C) multi-hot image labels, K = C+1.
        saliency: optional (B*N, 1, hs, ws) saliency crops.
        owner: name used in the error messages.

    Returns:
        The number of images B and of views per image N.

    Raises:
        ValueError: if a shape does not match the contract above.
    """
    if global_logits.dim() != 4:
        raise ValueError(
            f"{owner}: global_logits must be (B, K, H, W), got shape {tuple(global_logits.shape)}"
        )
    if local_logits.dim() != 4:
        raise ValueError(
            f"{owner}: local_logits must be (B*N, K, h, w), got shape {tuple(local_logits.shape)}"
        )
    num_images, num_channels = global_logits.shape[:2]
    num_views_total = local_logits.shape[0]
    if local_logits.shape[1] != num_channels:
        raise ValueError(
            f"{owner}: local_logits has {local_logits.shape[1]} channels but global_logits "
            f"has {num_channels}"
        )
    if labels.dim() != 2 or labels.shape[0] != num_images:
        raise ValueError(
            f"{owner}: labels must be (B, C) with B={num_images}, got shape {tuple(labels.shape)}"
        )
    if num_channels != labels.shape[1] + 1:
        raise ValueError(
            f"{owner}: logits have K={num_channels} channels but labels have "
            f"C={labels.shape[1]} classes; K must be C+1 (background last)"
        )
    if num_images == 0 or num_views_total == 0 or num_views_total % num_images != 0:
        raise ValueError(
            f"{owner}: local_logits batch size {num_views_total} is not a positive multiple "
            f"of the global batch size {num_images}"
        )
    if boxes.dim() != 2 or boxes.shape != (num_views_total, 4):
        raise ValueError(
            f"{owner}: boxes must be (B*N, 4) = ({num_views_total}, 4), "
            f"got shape {tuple(boxes.shape)}"
        )
    if saliency is not None and (saliency.dim() != 4 or saliency.shape[:2] != (num_views_total, 1)):
        raise ValueError(
            f"{owner}: saliency must be (B*N, 1, hs, ws) with B*N={num_views_total}, "
            f"got shape {tuple(saliency.shape)}"
        )
    return num_images, num_views_total // num_images


def check_weight(owner: str, name: str, value: float) -> None:
    """Raises ValueError naming ``owner.name`` when a loss weight is negative.

    NaN and infinity pass: a non-finite loss is stopped, naming the term, by
    ``FiniteTrainingHook`` before the update.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {value!r}")


def normalised_local_scores(local_logits: Tensor) -> Tensor:
    """Detached local logits, ReLU, each channel divided by its spatial max (+eps).

    Args:
        local_logits: (B*N, K, h, w) local logits.

    Returns:
        (B*N, K, h, w) scores in [0, 1], no gradient.
    """
    scores = local_logits.detach().relu()
    # In float16 1e-8 rounds to 0 and an all-zero channel would give 0/0: use
    # the dtype's smallest normal number there instead (float32/64 keep 1e-8).
    eps = max(NORMALIZE_EPS, torch.finfo(scores.dtype).tiny)
    return scores / (scores.amax(dim=(2, 3), keepdim=True) + eps)


def present_class_scores(local_logits: Tensor, labels: Tensor, num_views: int) -> Tensor:
    """Normalised local scores with the channels of classes absent from the image zeroed.

    Args:
        local_logits: (B*N, K, h, w) local logits, the N views of an image
            consecutive.
        labels: (B, C) multi-hot image labels, C = K-1; a class is present
            where its label is > 0. Background (last) is always kept.
        num_views: N, the number of views per image.

    Returns:
        (B*N, K, h, w) scores in [0, 1], no gradient.
    """
    scores = normalised_local_scores(local_logits)
    present = labels.detach().repeat_interleave(num_views, dim=0) > 0
    background_kept = present.new_ones((present.shape[0], 1))
    channel_kept = torch.cat([present, background_kept], dim=1).to(scores.device, scores.dtype)
    return scores * channel_kept[:, :, None, None]


def winner_take_all(scores: Tensor) -> Tensor:
    """Keeps, at every pixel, only the largest channel's value (the first one on ties).

    Args:
        scores: (N, K, h, w) scores.

    Returns:
        (N, K, h, w) scores with every channel but the winner zeroed.
    """
    winner = scores.argmax(dim=1, keepdim=True)
    return scores * torch.zeros_like(scores).scatter_(1, winner, 1.0)


def local_attention_target(local_logits: Tensor, labels: Tensor, num_views: int) -> Tensor:
    """Build the local attention target T from the local network's logits (the release's rule).

    Detached (no gradient reaches the local network), ReLU, each channel divided
    by its spatial max (+1e-8), channels of classes absent from the image label
    zeroed (background never), then winner-take-all: at every pixel only the
    largest channel keeps its value (the first one on ties). The background
    channel is the local network's own, which no loss trains; the two
    alternatives the benchmark tried (``1 - max`` of the class channels, a
    constant 0.25) lost and live in ``benchmarks/probe_transfer_targets.py``
    only (figures in ``benchmarks/README.md``).

    Args:
        local_logits: (B*N, K, h, w) local logits, the N views of an image
            consecutive.
        labels: (B, C) multi-hot image labels, C = K-1.
        num_views: N, the number of views per image.

    Returns:
        (B*N, K, h, w) target in ``local_logits``' dtype.
    """
    return winner_take_all(present_class_scores(local_logits, labels, num_views))


def roi_global_prediction(
    global_logits: Tensor,
    boxes: Tensor,
    num_views: int,
    output_size: Tuple[int, int],
    feat_stride: int,
) -> Tensor:
    """RoIAlign the global logits over each view's box, then softmax over channels.

    Uses ``torchvision.ops.roi_align`` with ``spatial_scale=1/feat_stride``,
    ``sampling_ratio=-1`` (adaptive) and ``aligned=False``. Half-precision
    logits are pooled in float32 (box coordinates in float16 lose up to a
    quarter pixel) and the result is cast back.

    Args:
        global_logits: (B, K, H, W) global logits.
        boxes: (B*N, 4) boxes x1, y1, x2, y2 in global-view input pixels.
        num_views: N, the number of views per image.
        output_size: (h, w) of the local maps.
        feat_stride: input pixels per global-logits pixel.

    Returns:
        (B*N, K, h, w) class probabilities in ``global_logits``' dtype.
    """
    pool_dtype = global_logits.dtype
    if pool_dtype in (torch.float16, torch.bfloat16):
        pool_dtype = torch.float32
    features = global_logits.to(pool_dtype)
    image_index = torch.arange(boxes.shape[0], device=boxes.device) // num_views
    rois = torch.cat([image_index[:, None].to(boxes.dtype), boxes], dim=1)
    rois = rois.to(device=features.device, dtype=pool_dtype)
    pooled = roi_align(
        features,
        rois,
        output_size=output_size,
        spatial_scale=1.0 / feat_stride,
        sampling_ratio=-1,
        aligned=False,
    )
    return pooled.softmax(dim=1).to(global_logits.dtype)


def shape_target(attention: Tensor, salient: Tensor, threshold: float) -> Tensor:
    """The shape transfer target: ``B = attention > threshold`` shaped by the saliency.

    Args:
        attention: (B*N, K, h, w) local attention target, background last.
        salient: (B*N, 1, h, w) saliency of each view at the local map's size.
        threshold: tau.

    Returns:
        (B*N, K, h, w): ``B[c] * S`` on the class channels, ``B[bg] * (1 - S)`` on
        the background channel.
    """
    mask = (attention > threshold).to(attention.dtype)
    return torch.cat([mask[:, :-1] * salient, mask[:, -1:] * (1 - salient)], dim=1)


def resize_saliency(saliency: Tensor, size: Tuple[int, int]) -> Tensor:
    """Resize saliency crops to the local maps' size with nearest interpolation.

    Args:
        saliency: (B*N, 1, hs, ws) saliency in [0, 1].
        size: (h, w) target size.

    Returns:
        (B*N, 1, h, w) resized saliency, detached.
    """
    saliency = saliency.detach()
    if tuple(saliency.shape[2:]) == tuple(size):
        return saliency
    return F.interpolate(saliency, size=size, mode="nearest")

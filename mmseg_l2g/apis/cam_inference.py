"""Multi-scale, flipped CAM inference of the global network.

For each scale the image batch is resized, stacked with its horizontal flip
and run through ``model.extract_cam_logits`` in one forward pass; every map
is upsampled to the original image size, the flipped maps are flipped back,
and all ``len(scales) * (2 if flip else 1)`` maps are averaged. Then ReLU,
each class map divided by its maximum (+1e-5), and only the image's classes
kept. The model needs two methods:

- ``model.data_preprocessor.normalize(imgs)``: uint8 BGR (B, 3, H, W) to the
  normalised network input;
- ``model.extract_cam_logits(x)``: (B, K, h, w) logits, K = C+1, foreground
  classes first, background last (``docs/data_flow.md``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

DEFAULT_SCALES = (0.5, 1.0, 1.5, 2.0)
INTERP_MODES = ("bicubic", "bilinear")
NORM_EPS = 1e-5


@dataclass(frozen=True)
class CAMInferenceConfig:
    """How CAMs are read from the global network.

    Args:
        scales: image scales, each positive.
        flip: also run the horizontally flipped image at every scale.
        interp: upsampling of the maps to the image size, ``'bicubic'`` (the
            release's) or ``'bilinear'``.
        fp16: float16 autocast of the forward passes (CUDA only; ignored on CPU).
    """

    scales: Tuple[float, ...] = DEFAULT_SCALES
    flip: bool = True
    interp: str = "bicubic"
    fp16: bool = False

    def __post_init__(self) -> None:
        scales = tuple(float(scale) for scale in self.scales)
        if not scales:
            raise ValueError("CAM inference needs at least one scale")
        bad = [scale for scale in scales if not scale > 0]
        if bad:
            raise ValueError(f"CAM scales must be positive, got {list(scales)} (bad: {bad})")
        if self.interp not in INTERP_MODES:
            raise ValueError(f"interp must be one of {INTERP_MODES}, got {self.interp!r}")
        object.__setattr__(self, "scales", scales)

    @property
    def num_maps(self) -> int:
        """How many maps are averaged per image."""
        return len(self.scales) * (2 if self.flip else 1)


def scaled_size(height: int, width: int, scale: float) -> Tuple[int, int]:
    """The (h, w) of an image resized by ``scale`` (rounded half up, at least 1)."""
    return max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5))


def present_classes(gt_label: np.ndarray | torch.Tensor) -> torch.Tensor:
    """0-based indices of the classes of a multi-hot label (C,), as long (n,)."""
    label = torch.as_tensor(np.asarray(gt_label, dtype=np.float32))
    if label.ndim != 1:
        raise ValueError(
            f"gt_label must be a multi-hot vector (C,), got shape {tuple(label.shape)}"
        )
    return torch.nonzero(label > 0, as_tuple=False).flatten()


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without any)."""
    for param in model.parameters():
        return param.device
    return torch.device("cpu")


def _autocast(device: torch.device, fp16: bool) -> contextlib.AbstractContextManager:
    """float16 autocast on CUDA when asked, else nothing."""
    if fp16 and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


@torch.no_grad()
def infer_cams_batch(
    model: torch.nn.Module,
    imgs: torch.Tensor,
    labels: Sequence[torch.Tensor],
    cfg: CAMInferenceConfig,
) -> List[torch.Tensor]:
    """CAMs of a batch of same-size images.

    Args:
        model: the classifier (``data_preprocessor.normalize`` and
            ``extract_cam_logits``), in eval mode.
        imgs: uint8 (or float) BGR (B, 3, H, W), any device.
        labels: per image, the 0-based class indices to keep (long (n_i,)).
        cfg: scales, flip, upsampling and autocast.

    Returns:
        Per image, float32 (n_i, H, W) maps in [0, 1) on the model's device,
        in the order of its ``labels``.
    """
    if imgs.ndim != 4 or imgs.shape[1] != 3:
        raise ValueError(f"imgs must be (B, 3, H, W), got {tuple(imgs.shape)}")
    if len(labels) != imgs.shape[0]:
        raise ValueError(f"{imgs.shape[0]} images but {len(labels)} label sets")
    device = model_device(model)
    batch, _, height, width = imgs.shape
    labels = [torch.as_tensor(label, dtype=torch.long).flatten() for label in labels]
    union = sorted({int(c) for label in labels for c in label.tolist()})
    if not union:
        return [torch.zeros((0, height, width), device=device) for _ in labels]
    # Host -> device copies without a sync (pageable sources are staged at once).
    union_index = torch.tensor(union).to(device, non_blocking=True)

    inputs = model.data_preprocessor.normalize(imgs.to(device, non_blocking=True))
    total = torch.zeros((batch, len(union), height, width), device=device)
    for scale in cfg.scales:
        size = scaled_size(height, width, scale)
        scaled = inputs
        if size != (height, width):
            scaled = F.interpolate(
                inputs, size=size, mode="bilinear", align_corners=False, antialias=scale < 1
            )
        if cfg.flip:
            scaled = torch.cat([scaled, scaled.flip(-1)], dim=0)
        with _autocast(device, cfg.fp16):
            logits = model.extract_cam_logits(scaled)
        if logits.ndim != 4 or logits.shape[0] != scaled.shape[0]:
            raise ValueError(
                f"extract_cam_logits returned shape {tuple(logits.shape)} for an input of "
                f"shape {tuple(scaled.shape)}; expected (B, K, h, w)"
            )
        if union[-1] >= logits.shape[1] - 1:
            raise ValueError(
                f"class index {union[-1]} is out of range for CAM logits with "
                f"{logits.shape[1]} channels (C+1, background last)"
            )
        maps = logits.index_select(1, union_index).float()  # select, then convert fewer maps
        if cfg.flip:
            # Upsampling commutes with a mirror flip (symmetric kernel and grid), so
            # each map and its flipped-back twin are summed before one upsampling.
            maps = maps[:batch] + maps[batch:].flip(-1)
        total += F.interpolate(maps, size=(height, width), mode=cfg.interp, align_corners=False)
    cams = torch.relu(total / cfg.num_maps)
    # Each map divided by its own maximum: the same values whether the maps are
    # normalised together or after selecting an image's classes.
    cams = cams / (cams.amax(dim=(2, 3), keepdim=True) + NORM_EPS)

    position = {c: i for i, c in enumerate(union)}
    results = []
    for index, label in enumerate(labels):
        keep = torch.tensor([position[int(c)] for c in label.tolist()], dtype=torch.long)
        if keep.numel():
            results.append(cams[index].index_select(0, keep.to(device, non_blocking=True)))
        else:
            results.append(cams[index, :0])
    return results


def group_by_size(shapes: Sequence[Tuple[int, int]]) -> Iterator[List[int]]:
    """Positions of ``shapes`` grouped by equal (H, W), in first-seen order."""
    groups: Dict[Tuple[int, int], List[int]] = {}
    for position, shape in enumerate(shapes):
        groups.setdefault(tuple(shape), []).append(position)
    yield from groups.values()


def infer_cams(
    model: torch.nn.Module,
    imgs: Sequence[np.ndarray],
    labels: Sequence[torch.Tensor],
    cfg: CAMInferenceConfig,
) -> List[torch.Tensor]:
    """CAMs of images of any sizes; images of equal size share forward passes.

    Args:
        model: the classifier, in eval mode.
        imgs: uint8 BGR (H, W, 3) arrays.
        labels: per image, the 0-based class indices to keep.
        cfg: scales, flip, upsampling and autocast.

    Returns:
        Per image, float32 (n_i, H, W) maps on the model's device.
    """
    results: List[torch.Tensor] = [torch.empty(0)] * len(imgs)
    for group in group_by_size([img.shape[:2] for img in imgs]):
        batch = torch.from_numpy(np.stack([imgs[i] for i in group])).permute(0, 3, 1, 2)
        cams = infer_cams_batch(model, batch, [labels[i] for i in group], cfg)
        for position, cam in zip(group, cams):
            results[position] = cam
    return results

"""The CAM readout of the global network (the release's), configured by ``model.test_cfg``.

:func:`read_cams` is the one implementation: stage 2, ``tools/test.py --tta``
and (at one scale, unflipped: :meth:`CAMReadoutConfig.one_pass`) ``predict``
all call it with the model's ``test_cfg``.

For each scale the normalised batch is resized and run, followed by its
horizontal flips, through the network in forward passes of at most
``forward_pixels`` input pixels each (batching by work, not by image count:
on a CPU larger passes fall out of the caches and run slower per image); the raw logits of every
pass are upsampled (bicubic by default) to the output size, the flipped ones
flipped back, and all ``len(scales) * (2 if flip else 1)`` maps averaged. Then
ReLU, and each class map divided by its maximum (+1e-5). Only the classes
asked for are kept. ``score='softmax'`` (not the release's; a variant) reads
instead the softmax of the averaged logits over the image's classes and the
background channel, the quantity L2G's transfer losses train.

Speed: a map and its flipped-back twin are summed before one upsampling
(upsampling commutes with a mirror flip), only each image's own class maps
are upsampled (not the batch's union for every image), classes are selected
before the float conversion, and nothing waits for the device.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

DEFAULT_SCALES = (0.5, 1.0, 1.5, 2.0)
INTERP_MODES = ("bicubic", "bilinear")
SCORES = ("logits", "softmax")
NORM_EPS = 1e-5
MAX_SCALE = 8.0
# Input pixels per forward pass of the readout (images x height x width) when
# ``forward_pixels`` is not set, by device type. CPU: PlainCNN's time per image
# is lowest at 2**17 (8 images of 128 px, 2 of 256) and rises by up to 65 % at
# 2**21 (measured, 2 cores: benchmarks/README.md, "Stage 2 batched by work").
# CUDA: large passes keep the GPU busy; 2**24 is 83 images of 448 px.
FORWARD_PIXELS = {"cpu": 2**17, "cuda": 2**24}


@dataclass(frozen=True)
class CAMReadoutConfig:
    """How CAMs and masks are read from the global network (``model.test_cfg``).

    Args:
        scales: image scales, each in (0, 8].
        flip: also run the horizontally flipped image at every scale.
        interp: upsampling of the maps, ``'bicubic'`` (the release's) or ``'bilinear'``.
        fp16: float16 autocast of the forward passes (CUDA only; ignored on CPU).
        bg_thr: background score of the masks (a class needs a CAM above it).
        crf: dense-CRF settings refining each mask from its image
            (``dense_crf`` keywords, e.g. ``dict(iters=10)``); ``None``: none.
        score: ``'logits'`` (the release's: ReLU of the mean class logits, each
            map divided by its maximum) or ``'softmax'`` (the softmax of the mean
            logits over the image's classes and the background, not normalised).
        forward_pixels: input pixels per forward pass at most (at least one
            image per pass); ``None``: ``FORWARD_PIXELS`` of the device. Speed
            only: the maps do not depend on it.
    """

    scales: Tuple[float, ...] = DEFAULT_SCALES
    flip: bool = True
    interp: str = "bicubic"
    fp16: bool = False
    bg_thr: float = 0.25
    crf: Optional[Dict[str, Any]] = field(default=None, hash=False)
    score: str = "logits"
    forward_pixels: Optional[int] = None

    def __post_init__(self) -> None:
        scales = tuple(float(scale) for scale in self.scales)
        if not scales:
            raise ValueError("the CAM readout needs at least one scale")
        bad = [s for s in scales if not (math.isfinite(s) and 0 < s <= MAX_SCALE)]
        if bad:
            raise ValueError(f"CAM scales must be in (0, {MAX_SCALE:g}], got {list(scales)}")
        if self.interp not in INTERP_MODES:
            raise ValueError(f"interp must be one of {INTERP_MODES}, got {self.interp!r}")
        if self.score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {self.score!r}")
        if self.forward_pixels is not None and (
            isinstance(self.forward_pixels, bool)
            or not isinstance(self.forward_pixels, int)
            or self.forward_pixels < 1
        ):
            raise ValueError(f"forward_pixels must be an int >= 1, got {self.forward_pixels!r}")
        if not (math.isfinite(self.bg_thr) and 0.0 <= self.bg_thr <= 1.0):
            raise ValueError(f"bg_thr must be in [0, 1] (CAMs are normalised), got {self.bg_thr}")
        if self.crf is not None:
            from ..postprocess.dense_crf import crf_settings

            object.__setattr__(self, "crf", crf_settings(self.crf))
        object.__setattr__(self, "scales", scales)

    @classmethod
    def from_cfg(cls, cfg: Optional[Dict[str, Any]] = None, **overrides: Any) -> CAMReadoutConfig:
        """From a ``test_cfg`` dict (unknown keys raise), then ``overrides`` not ``None``."""
        values = dict(cfg or {})
        values.update({key: value for key, value in overrides.items() if value is not None})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown CAM readout (test_cfg) keys {unknown}; known: {sorted(known)}"
            )
        return cls(**values)

    def one_pass(self) -> CAMReadoutConfig:
        """This readout at the image's own scale, unflipped: one forward pass (``predict``)."""
        return replace(self, scales=(1.0,), flip=False)

    def images_per_pass(self, height: int, width: int, device: torch.device) -> int:
        """How many ``height`` x ``width`` inputs one forward pass takes on ``device``."""
        limit = self.forward_pixels or FORWARD_PIXELS.get(device.type, FORWARD_PIXELS["cuda"])
        return max(1, limit // (height * width))

    @property
    def num_maps(self) -> int:
        """How many maps are averaged per image."""
        return len(self.scales) * (2 if self.flip else 1)

    def to_dict(self) -> Dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return asdict(self)


def scaled_size(height: int, width: int, scale: float) -> Tuple[int, int]:
    """The (h, w) of an image resized by ``scale`` (rounded half up, at least 1)."""
    return max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5))


def present_classes(gt_label: Any) -> torch.Tensor:
    """0-based indices of the classes of a multi-hot label (C,), as long (n,)."""
    label = torch.as_tensor(np.asarray(gt_label, dtype=np.float32))
    if label.ndim != 1:
        raise ValueError(
            f"gt_label must be a multi-hot vector (C,), got shape {tuple(label.shape)}"
        )
    return torch.nonzero(label > 0, as_tuple=False).flatten()


def _autocast(device: torch.device, fp16: bool) -> contextlib.AbstractContextManager:
    """float16 autocast on CUDA when asked, else nothing."""
    if fp16 and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def normalise_cams(maps: torch.Tensor) -> torch.Tensor:
    """The release's CAM normalisation: ReLU, then each map divided by its maximum + 1e-5.

    Args:
        maps: (..., H, W) mean raw logits, one map per class.

    Returns:
        The maps in [0, 1), same shape.
    """
    cams = torch.relu(maps)
    return cams / (cams.amax(dim=(-2, -1), keepdim=True) + NORM_EPS)


def scaled_inputs(inputs: torch.Tensor, scale: float) -> torch.Tensor:
    """The images of one readout scale: ``inputs`` resized (bilinear, antialiased when
    shrinking); the same tensor at scale 1."""
    height, width = inputs.shape[-2:]
    size = scaled_size(height, width, scale)
    if size == (height, width):
        return inputs
    return F.interpolate(
        inputs, size=size, mode="bilinear", align_corners=False, antialias=scale < 1
    )


def forward_passes(scaled: torch.Tensor, flip: bool, images_per_pass: int) -> List[torch.Tensor]:
    """The network inputs of one scale in passes of at most ``images_per_pass`` images.

    The sequence is the B images, then (``flip``) their horizontal flips: 2B
    inputs. Each pass holds consecutive inputs of it; only a pass that spans
    both halves is concatenated, so the whole sequence is never copied.
    """
    batch = scaled.shape[0]
    count = 2 * batch if flip else batch
    passes = []
    for start in range(0, count, images_per_pass):
        stop = min(start + images_per_pass, count)
        pieces = []
        if start < batch:
            pieces.append(scaled[start : min(stop, batch)])
        if stop > batch:
            pieces.append(scaled[max(start, batch) - batch : stop - batch].flip(-1))
        passes.append(pieces[0] if len(pieces) == 1 else torch.cat(pieces))
    return passes


def read_cams(
    cam_logits: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    classes: Sequence[torch.Tensor],
    cfg: CAMReadoutConfig,
    out_size: Optional[Tuple[int, int]] = None,
) -> List[torch.Tensor]:
    """CAMs of a batch of normalised, same-size images.

    Args:
        cam_logits: the network, normalised (B, 3, h, w) -> (B, C+1, h', w')
            logits, background last.
        inputs: normalised float (B, 3, H, W) on the network's device.
        classes: per image, the 0-based class indices to keep (long (n_i,)).
        cfg: scales, flip, upsampling and autocast.
        out_size: (H', W') of the CAMs; default the input size.

    Returns:
        Per image, float32 (n_i, H', W') maps in [0, 1) on the device, in the
        order of its ``classes``.
    """
    if inputs.ndim != 4 or inputs.shape[1] != 3:
        raise ValueError(f"inputs must be (B, 3, H, W), got {tuple(inputs.shape)}")
    if len(classes) != inputs.shape[0]:
        raise ValueError(f"{inputs.shape[0]} images but {len(classes)} class sets")
    device = inputs.device
    batch, _, height, width = inputs.shape
    out_size = tuple(out_size) if out_size is not None else (height, width)
    classes = [torch.as_tensor(c, dtype=torch.long).flatten().cpu() for c in classes]
    union = sorted({int(c) for label in classes for c in label.tolist()})
    if not union:
        return [torch.zeros((0, *out_size), device=device) for _ in classes]
    softmax = cfg.score == "softmax"
    channels = union + [-1] if softmax else union  # -1: the background channel, last
    union_index = torch.tensor(channels).to(device, non_blocking=True)
    # The (image, channel) maps each image needs, as rows of the flattened
    # (B x channels) maps: only those are upsampled, not the batch's union for every image.
    position = {c: i for i, c in enumerate(channels)}
    rows = [
        [index * len(channels) + position[int(c)] for c in label.tolist()]
        + ([index * len(channels) + len(union)] if softmax else [])
        for index, label in enumerate(classes)
    ]
    row_index = torch.tensor([r for image_rows in rows for r in image_rows], dtype=torch.long)
    row_index = row_index.to(device, non_blocking=True)
    total = torch.zeros((len(row_index), *out_size), device=device)
    count = batch * (2 if cfg.flip else 1)
    for scale in cfg.scales:
        scaled = scaled_inputs(inputs, scale)
        per_pass = cfg.images_per_pass(*scaled.shape[-2:], device)
        passes = forward_passes(scaled, cfg.flip, per_pass)
        with _autocast(device, cfg.fp16):
            logits = [cam_logits(x) for x in passes]
            logits = torch.cat(logits) if len(logits) > 1 else logits[0]
        if logits.ndim != 4 or logits.shape[0] != count:
            raise ValueError(
                f"the network returned CAM logits of shape {tuple(logits.shape)} for an input "
                f"of shape {(count, *scaled.shape[1:])}; expected (B, C+1, h, w)"
            )
        if union[-1] >= logits.shape[1] - 1:
            raise ValueError(
                f"class index {union[-1]} is out of range for CAM logits with "
                f"{logits.shape[1]} channels (C+1, background last)"
            )
        # Select, then convert fewer maps; -1 (the background) wraps to the last channel.
        maps = logits.index_select(1, union_index % logits.shape[1]).float()
        if cfg.flip:
            maps = maps[:batch] + maps[batch:].flip(-1)
        maps = maps.flatten(0, 1).index_select(0, row_index)[:, None]
        total += F.interpolate(maps, size=out_size, mode=cfg.interp, align_corners=False)[:, 0]
    mean = total / cfg.num_maps
    sizes = [len(image_rows) for image_rows in rows]
    if softmax:  # over the image's classes and the background, which is then dropped
        return [maps.softmax(dim=0)[:-1] for maps in mean.split(sizes)]
    # Each map divided by its own maximum: the same values whatever the batch.
    return list(normalise_cams(mean).split(sizes))

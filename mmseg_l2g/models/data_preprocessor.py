"""L2GDataPreprocessor: normalises the global batch and provides the local views."""

from typing import Dict, List, Sequence

import torch
from mmengine.model import ImgDataPreprocessor
from mmseg.registry import MODELS
from torchvision.ops import roi_align


def three_channels(img: torch.Tensor) -> torch.Tensor:
    """An image (C, H, W) or batch (B, C, H, W) with 3 channels; a grey one repeated.

    Raises:
        ValueError: another channel count (or fewer than 3 dimensions), naming the shape.
    """
    if img.dim() < 3 or img.shape[-3] not in (1, 3):
        raise ValueError(
            f"L2GDataPreprocessor: expected BGR images (3, H, W) or grey (1, H, W), got a "
            f"tensor of shape {tuple(img.shape)}"
        )
    if img.shape[-3] == 1:
        repeats = [1] * img.dim()
        repeats[-3] = 3
        img = img.repeat(*repeats)
    return img


@MODELS.register_module()
class L2GDataPreprocessor(ImgDataPreprocessor):
    """mmengine's ``ImgDataPreprocessor`` for the global views; in training, also the local views.

    Local views are sliced from the normalised global batch on the device, using
    the boxes recorded by ``LocalCropTransform``: a plain slice where a box has
    the crop size (the usual case), a bilinear resample (``roi_align`` with
    ``aligned=True``, identical to a slice for integer full-size boxes) where a
    box was clamped to a small image. Views materialised in the pipeline
    (``local_inputs`` in the data samples) are normalised and used instead.

    Args:
        mean: Per-channel mean, in the order of the channels after ``bgr_to_rgb``.
        std: Per-channel standard deviation.
        bgr_to_rgb: Whether to reverse the channel order of the (BGR) images.
    """

    def __init__(
        self,
        mean: Sequence[float] = (123.675, 116.28, 103.53),
        std: Sequence[float] = (58.395, 57.12, 57.375),
        bgr_to_rgb: bool = True,
    ) -> None:
        super().__init__(mean=mean, std=std, bgr_to_rgb=bgr_to_rgb)
        self.bgr_to_rgb = bgr_to_rgb

    def normalize(self, imgs: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) or (3, H, W) BGR images (uint8 or float) -> normalised float.

        The same arithmetic as :meth:`forward` (mmengine's), for views that do
        not come through it (local views made in the pipeline).
        """
        imgs = imgs.to(self.mean.device)
        if self._channel_conversion:
            imgs = imgs.flip(-3)
        return (imgs.float() - self.mean) / self.std

    def denormalize(self, inputs: torch.Tensor) -> torch.Tensor:
        """Normalised (B, 3, H, W) -> float 0..255 images, in the network's channel order.

        With ``bgr_to_rgb`` (the default) that is RGB.
        """
        return inputs * self.std + self.mean

    def forward(self, data: dict, training: bool = False) -> Dict[str, object]:
        """Returns ``dict(inputs, data_samples[, local_inputs])`` on the model's device.

        A grey image (one channel, as mmseg's ``inference_model`` packs an
        H x W array) is repeated to three channels, as ``LoadWSSSImage`` converts one.
        """
        inputs, data_samples = data["inputs"], data.get("data_samples")
        if isinstance(inputs, (list, tuple)):
            inputs = [three_channels(img) for img in inputs]
        elif torch.is_tensor(inputs):
            inputs = three_channels(inputs)
        data = dict(data, inputs=inputs)
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(img.shape) for img in inputs}
            if len(shapes) > 1:
                paths = [s.metainfo.get("img_path") for s in data_samples or []]
                raise ValueError(
                    f"global views of one batch differ in size {sorted(shapes)} ({paths}); "
                    "put a fixed-size Resize / RandomCrop in the pipeline"
                )
        out = super().forward(data, training)
        batch, data_samples = out["inputs"], out["data_samples"]
        if training and data_samples and hasattr(data_samples[0], "local_boxes"):
            out["local_inputs"] = self.local_views(batch, data_samples)
        return out

    def local_views(self, batch: torch.Tensor, data_samples: List) -> torch.Tensor:
        """(B*N, 3, S, S) local views of a normalised batch, the N views of an image consecutive."""
        if all(hasattr(s, "local_inputs") for s in data_samples):
            return self.normalize(torch.cat([s.local_inputs for s in data_samples]))
        crop_size = int(data_samples[0].metainfo["local_crop_size"])
        boxes = torch.cat([s.local_boxes for s in data_samples]).to(batch.device)
        num_views = boxes.shape[0] // batch.shape[0]
        sizes = boxes[:, 2:] - boxes[:, :2]
        if bool((sizes == crop_size).all()):
            return self._slice(batch, boxes.long(), num_views, crop_size)
        index = torch.arange(batch.shape[0], device=batch.device).repeat_interleave(num_views)
        rois = torch.cat([index[:, None].to(boxes), boxes], dim=1)
        return roi_align(batch, rois, (crop_size, crop_size), 1.0, 1, True)

    @staticmethod
    def _slice(
        batch: torch.Tensor, boxes: torch.Tensor, num_views: int, crop_size: int
    ) -> torch.Tensor:
        views = []
        for i, (x1, y1) in enumerate(boxes[:, :2].tolist()):
            img = batch[i // num_views]
            views.append(img[:, y1 : y1 + crop_size, x1 : x1 + crop_size])
        return torch.stack(views)

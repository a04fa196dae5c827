"""PackL2GInputs: packs a pipeline result into what L2GClassifier consumes."""

from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample


def _image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) or (N, H, W, 3) uint8 -> (3, H, W) / (N, 3, H, W) tensor."""
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(img, -1, -3)))


@TRANSFORMS.register_module()
class PackL2GInputs(BaseTransform):
    """Packs the global view, local boxes, labels and saliency crops.

    Output: ``dict(inputs=<uint8 (3, H, W)>, data_samples=<SegDataSample>)`` whose
    data sample holds ``gt_label`` (C,), ``local_boxes`` (N, 4), ``local_saliency``
    (N, 1, S, S) where saliency was loaded, ``local_inputs`` (N, 3, S, S) where
    crops were materialised, and ``gt_sem_seg`` where a mask was loaded. See
    docs/data_flow.md.

    Args:
        meta_keys: Keys of ``results`` copied into the data sample's metainfo
            (missing keys are skipped).
    """

    def __init__(
        self,
        meta_keys: Sequence[str] = (
            "img_id",
            "img_path",
            "seg_map_path",
            "sal_path",
            "ori_shape",
            "img_shape",
            "scale_factor",
            "flip",
            "flip_direction",
            "local_crop_size",
        ),
    ) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Builds ``inputs`` and ``data_samples`` from a pipeline result."""
        sample = SegDataSample()
        fields = {}
        if "gt_label" in results:
            fields["gt_label"] = torch.as_tensor(np.asarray(results["gt_label"], np.float32))
        if "local_boxes" in results:
            fields["local_boxes"] = torch.from_numpy(np.asarray(results["local_boxes"], np.float32))
        if "local_saliency" in results:
            fields["local_saliency"] = torch.from_numpy(results["local_saliency"][:, None])
        if "local_imgs" in results:
            fields["local_inputs"] = _image_to_tensor(results["local_imgs"])
        sample.set_data(fields)
        if results.get("gt_seg_map") is not None:
            seg = torch.from_numpy(np.asarray(results["gt_seg_map"]).astype(np.int64))
            sample.gt_sem_seg = PixelData(data=seg[None])
        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        metainfo["has_saliency"] = "local_saliency" in results
        sample.set_metainfo(metainfo)
        return dict(inputs=_image_to_tensor(results["img"]), data_samples=sample)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(meta_keys={self.meta_keys})"

"""WSSS datasets and their transforms (registered in mmseg's registries)."""

from . import transforms  # noqa: F401
from .builders import build_stage2_dataset, dataset_config, spread_indices_with_masks
from .coco_wsss_dataset import COCO_CLASSES, COCOWSSSDataset
from .seeded_sampling import SeededIndex, SeededInfiniteSampler
from .synthetic_wsss_dataset import SyntheticWSSSDataset
from .voc_wsss_dataset import VOC_CLASSES, VOCWSSSDataset
from .wsss_dataset import WSSSDataset, bit_colormap

__all__ = [
    "COCO_CLASSES",
    "COCOWSSSDataset",
    "SeededIndex",
    "SeededInfiniteSampler",
    "SyntheticWSSSDataset",
    "VOC_CLASSES",
    "VOCWSSSDataset",
    "WSSSDataset",
    "bit_colormap",
    "build_stage2_dataset",
    "dataset_config",
    "spread_indices_with_masks",
]

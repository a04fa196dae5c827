"""PASCAL VOC 2012 (+ SBD "aug") for weakly supervised segmentation."""

from __future__ import annotations

from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS

from .wsss_dataset import WSSSDataset

# mmseg's own VOC metadata: the same class names and palette as PascalVOCDataset.
VOC_CLASSES = tuple(PascalVOCDataset.METAINFO["classes"])
VOC_PALETTE = [list(colour) for colour in PascalVOCDataset.METAINFO["palette"]]


@DATASETS.register_module()
class VOCWSSSDataset(WSSSDataset):
    """PASCAL VOC 2012 with the SBD "aug" masks (10,582 train images).

    20 foreground classes plus background, with the standard VOC palette
    (the same names and colours as mmseg's ``PascalVOCDataset``). The
    default layout is the usual ``VOCdevkit/VOC2012``::

        JPEGImages/<id>.jpg
        SegmentationClassAug/<id>.png   (class indices; scoring only)
        saliency_maps/<id>.png          (optional grey saliency)

    Labels: ``label_file`` (e.g. the release's ``train_cls.txt``, 0-based
    indices with aeroplane = 0, or ``cls_labels.npy``), else derived from
    the masks. Arguments as :class:`WSSSDataset`.
    """

    METAINFO = dict(classes=VOC_CLASSES, palette=VOC_PALETTE)
    DEFAULT_DATA_PREFIX = dict(
        img_path="JPEGImages", seg_map_path="SegmentationClassAug", sal_path="saliency_maps"
    )

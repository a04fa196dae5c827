"""MS COCO 2014 (80 classes) for weakly supervised segmentation."""

from __future__ import annotations

from mmseg.registry import DATASETS

from .wsss_dataset import WSSSDataset, bit_colormap

# The 80 COCO "things" classes in the usual order (category ids 1..90 with
# gaps become mask values 1..80 in this order).
COCO_CLASSES = (
    "background",
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
)


@DATASETS.register_module()
class COCOWSSSDataset(WSSSDataset):
    """MS COCO 2014 for WSSS: 80 foreground classes plus background.

    Masks must hold contiguous class indices (0 background, 1..80 in the
    order of ``COCO_CLASSES``, 255 ignore), not COCO category ids (1..90
    with gaps). Palette: the VOC colour map extended to 81 entries. Default
    layout (override ``data_prefix`` per split, e.g. ``JPEGImages/train2014``)::

        JPEGImages/<id>.jpg
        SegmentationClass/<id>.png      (class indices; scoring only)
        saliency_maps/<id>.png          (optional grey saliency)

    In text label lists, names with spaces are written with ``_``
    (``traffic_light``). Arguments as :class:`WSSSDataset`.
    """

    METAINFO = dict(classes=COCO_CLASSES, palette=bit_colormap(len(COCO_CLASSES)))
    DEFAULT_DATA_PREFIX = dict(
        img_path="JPEGImages", seg_map_path="SegmentationClass", sal_path="saliency_maps"
    )

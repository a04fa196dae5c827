# PASCAL VOC 2012 + SBD (train_aug, 10,582 images) as tools/prepare_voc.py lays it out.
_base_ = ["./l2g_wsss.py"]
dataset_type = "VOCWSSSDataset"
data_root = "data/VOCdevkit/VOC2012"
short_side = 512  # the release resizes the image's short side to 512 (bicubic)
global_size = 448  # the release's global view: a random crop of the resized image
crop_size = 320  # the release's local view
num_views = 6  # the release's N

# The release's data protocol. Each choice switches back with --cfg-options (the
# README's "Data protocol" table lists them with their pipeline indices).
global_view = [
    # Short side to 512, bicubic as PIL (the long side stops at 8x: no VOC / COCO
    # image is that elongated); the saliency map follows with nearest neighbour.
    dict(
        type="ResizeWithSaliency",
        scale=(8 * short_side, short_side),
        keep_ratio=True,
        interpolation="bicubic",
        backend="pillow",
        saliency_interpolation="nearest",
    ),
    # Colour: torchvision's ColorJitter(0.3, 0.3, 0.3, 0.1) (the release's);
    # prob=[0.0, 1.0] picks the PhotoMetricDistortion used before instead.
    dict(
        type="RandomChoice",
        transforms=[
            [dict(type="PILColorJitter", brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)],
            [
                dict(
                    type="PhotoMetricDistortion",
                    brightness_delta=32,
                    contrast_range=(0.7, 1.3),
                    saturation_range=(0.7, 1.3),
                    hue_delta=18,
                )
            ],
        ],
        prob=[1.0, 0.0],
    ),
    # A random 448 x 448 crop, zero padding where the resized image is smaller.
    dict(type="RandomCrop", crop_size=(global_size, global_size)),
    dict(type="PadWithSaliency", size=(global_size, global_size), pad_val=dict(img=0, seg=255)),
    dict(type="RandomFlip", prob=0.0),  # the release does not flip
]
local_views = [
    dict(type="LocalCropTransform", num_views=num_views, crop_size=crop_size, mode="corners")
]
# L2G (attention transfer); with saliency (shape transfer); the plain-CAM baseline.
load, pack, normalize_saliency = _base_.load, _base_.pack, _base_.normalize_saliency
train_pipeline = load + global_view + local_views + pack
sal_train_pipeline = (
    load + [dict(type="LoadSaliencyMap")] + global_view + normalize_saliency + local_views + pack
)
cam_train_pipeline = load + global_view + pack
# Validation: mmcv's loader (PIL decoding, the same pixels as LoadWSSSImage), so
# mmseg's MMSegInferencer accepts the pipeline; the image squashed to 448 x 448.
test_pipeline = [
    dict(type="LoadImageFromFile", imdecode_backend="pillow"),
    dict(type="ResizeWithSaliency", scale=(global_size, global_size), keep_ratio=False),
    dict(type="LoadWSSSAnnotations"),
    dict(type="PackL2GInputs"),
]
train_dataloader = dict(
    batch_size=3,
    num_workers=4,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file="ImageSets/Segmentation/train_aug.txt",
        label_file="ImageSets/Segmentation/train_aug_cls.txt",
        data_prefix=dict(
            img_path="JPEGImages", seg_map_path="SegmentationClassAug", sal_path="saliency_maps"
        ),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file="ImageSets/Segmentation/val.txt",
        label_file="ImageSets/Segmentation/val_cls.txt",
        data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClassAug"),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

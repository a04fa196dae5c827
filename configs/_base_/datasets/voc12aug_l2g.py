# PASCAL VOC 2012 + SBD (train_aug, 10,582 images) as tools/prepare_voc.py lays it out.
dataset_type = "VOCWSSSDataset"
data_root = "data/VOCdevkit/VOC2012"
global_size = 448  # the release's global view
crop_size = 320  # the release's local view
num_views = 6  # the release's N

load = [dict(type="LoadWSSSImage")]
augment = [
    dict(type="ResizeWithSaliency", scale=(global_size, global_size), keep_ratio=False),
    dict(type="RandomFlipWithSaliency", prob=0.5),
    dict(
        type="PhotoMetricDistortion",
        brightness_delta=32,
        contrast_range=(0.7, 1.3),
        saturation_range=(0.7, 1.3),
        hue_delta=18,
    ),
]
local_views = [
    dict(type="LocalCropTransform", num_views=num_views, crop_size=crop_size, mode="random")
]
pack = [dict(type="PackL2GInputs")]
# L2G (attention transfer); with saliency (shape transfer); the plain-CAM baseline.
train_pipeline = load + augment + local_views + pack
sal_train_pipeline = load + [dict(type="LoadSaliencyMap")] + augment + local_views + pack
cam_train_pipeline = load + augment + pack
test_pipeline = [
    dict(type="LoadWSSSImage"),
    dict(type="ResizeWithSaliency", scale=(global_size, global_size), keep_ratio=False),
    dict(type="LoadWSSSAnnotations"),
    dict(type="PackL2GInputs"),
]
train_dataloader = dict(
    batch_size=3,
    num_workers=4,
    persistent_workers=True,
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
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file="ImageSets/Segmentation/val.txt",
        label_file="ImageSets/Segmentation/val_cls.txt",
        data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClassAug"),
        pipeline=test_pipeline,
        test_mode=True,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="IoUMetric", iou_metrics=["mIoU"])
test_evaluator = val_evaluator
# After training, stage 2 on 64 train images: logs pseudo-mask mIoU (best threshold).
custom_hooks = [dict(type="CAMGenerationHook", num_images=64)]

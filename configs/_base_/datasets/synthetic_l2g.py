# The built-in synthetic data (tools/make_synthetic.py), L2G training views.
_base_ = ["./l2g_wsss.py"]
dataset_type = "SyntheticWSSSDataset"
data_root = "data/synthetic"
global_size = 128  # the release: 448
crop_size = 90  # the release: 320 (ratio 0.71)
num_views = 6  # the release: 6

geometry = [
    dict(type="ResizeWithSaliency", scale=(global_size, global_size), keep_ratio=False),
    dict(type="RandomFlip", prob=0.5),
]
# The release's local views (4 corners + N - 4 random) and saliency scaling (by
# each map's maximum); the global view stays the whole image, squashed and flipped.
local_views = [
    dict(type="LocalCropTransform", num_views=num_views, crop_size=crop_size, mode="corners")
]
# L2G (attention transfer); with saliency (shape transfer); the plain-CAM baseline.
load, pack, normalize_saliency = _base_.load, _base_.pack, _base_.normalize_saliency
train_pipeline = load + geometry + local_views + pack
sal_train_pipeline = (
    load + [dict(type="LoadSaliencyMap")] + geometry + normalize_saliency + local_views + pack
)
cam_train_pipeline = load + geometry + pack
test_pipeline = [
    dict(type="LoadImageFromFile", imdecode_backend="pillow"),  # as mmseg's MMSegInferencer needs
    dict(type="ResizeWithSaliency", scale=(global_size, global_size), keep_ratio=False),
    dict(type="LoadWSSSAnnotations"),
    dict(type="PackL2GInputs"),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file="ImageSets/Segmentation/train.txt",
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file="ImageSets/Segmentation/val.txt",
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

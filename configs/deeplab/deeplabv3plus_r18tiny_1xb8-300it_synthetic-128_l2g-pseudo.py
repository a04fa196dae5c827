# Stock mmseg DeepLab-v3+ on a small ResNetV1c-18 (1/4 width, 3 stages, output stride 8),
# trained on pseudo masks of the built-in synthetic data (128 x 128, `tools/make_synthetic.py
# --size 128`) and validated on its real ground truth; minutes on 2 CPU cores.
#
# Pseudo masks: `<img_id>.png` in `pseudo_mask_dir` (relative paths are joined to `data_root`,
# mmseg's rule), e.g. the `masks/` folder of `tools/gen_pseudo.py ... --out-dir
# data/synthetic/l2g_pseudo`. Elsewhere, override:
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=/abs/path/to/masks
# Dense CRF at test time (needs `pip install pydensecrf2`), deeplab-pytorch's VOC settings:
#   --cfg-options model.test_cfg.crf.iters=10
_base_ = [
    "mmseg::_base_/models/deeplabv3plus_r50-d8.py",
    "mmseg::_base_/default_runtime.py",
    "mmseg::_base_/schedules/schedule_40k.py",
]
custom_imports = dict(imports=["mmseg_l2g"], allow_failed_imports=False)
randomness = dict(seed=0)

# ---- data: mmseg's BaseSegDataset over the synthetic VOC layout ----
dataset_type = "BaseSegDataset"
data_root = "data/synthetic"
pseudo_mask_dir = "l2g_pseudo/masks"
# mmseg_l2g.datasets.synthetic.class_names(4) / class_palette(4): background first.
metainfo = dict(
    classes=("background", "red", "green", "blue", "yellow"),
    palette=[[0, 0, 0], [255, 0, 0], [0, 210, 0], [0, 70, 255], [255, 225, 0]],
)
num_classes = 5
crop_size = (128, 128)
# No PhotoMetricDistortion: the synthetic classes are told by saturated mark colours.
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="RandomResize", scale=crop_size, ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type="RandomCrop", crop_size=crop_size, cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackSegInputs"),
]
test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=crop_size, keep_ratio=True),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
# tools/test.py --tta: mmseg's SegTTAModel (tta_model of mmseg's default_runtime) over the
# scales of the L2G readout, each as is and flipped.
tta_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(
        type="TestTimeAug",
        transforms=[
            [
                dict(type="Resize", scale_factor=scale, keep_ratio=True)
                for scale in (0.5, 1.0, 1.5, 2.0)
            ],
            [
                dict(type="RandomFlip", prob=0.0, direction="horizontal"),
                dict(type="RandomFlip", prob=1.0, direction="horizontal"),
            ],
            [dict(type="LoadAnnotations")],
            [dict(type="PackSegInputs")],
        ],
    ),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(img_path="JPEGImages", seg_map_path=pseudo_mask_dir),
        ann_file="ImageSets/Segmentation/train.txt",
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClass"),
        ann_file="ImageSets/Segmentation/val.txt",
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="IoUMetric", iou_metrics=["mIoU"])
test_evaluator = val_evaluator

# ---- model: the stock DeepLab-v3+ head on a small backbone, no pretrained weights ----
norm_cfg = dict(type="BN", requires_grad=True)
model = dict(
    type="CRFEncoderDecoder",  # mmseg's EncoderDecoder + optional test-time dense CRF
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=3,
        out_indices=(0, 1, 2),
        strides=(1, 2, 1),
        dilations=(1, 1, 2),
        norm_cfg=norm_cfg,
    ),
    decode_head=dict(
        in_channels=64,
        in_index=2,
        channels=64,
        dilations=(1, 3, 6, 9),  # mmseg's (1, 12, 24, 36) scaled to a 16 x 16 feature map
        c1_in_channels=16,
        c1_channels=16,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
    ),
    auxiliary_head=dict(
        in_channels=32, in_index=1, channels=32, num_classes=num_classes, norm_cfg=norm_cfg
    ),
    test_cfg=dict(mode="whole"),  # add crf=dict(...) for the dense CRF
)

# ---- schedule: a few hundred iterations ----
max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=0.05, weight_decay=1e-4))
param_scheduler = [
    dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(type="LoggerHook", interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    finite_check=dict(type="FiniteTrainingHook"),  # no NaN weights saved
)
env_cfg = dict(cudnn_benchmark=False)

# What the L2G dataset configs share: the pipeline pieces that do not depend on the
# view sizes, the loaders' common settings, the metric and the stage-2 hook.
load = [dict(type="LoadWSSSImage")]
# The saliency map of the view divided by its own maximum (the release's).
normalize_saliency = [dict(type="NormalizeSaliency", mode="max")]
pack = [dict(type="PackL2GInputs")]
train_dataloader = dict(persistent_workers=True)
val_dataloader = dict(
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(test_mode=True),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="IoUMetric", iou_metrics=["mIoU"])
test_evaluator = val_evaluator
# After training, stage 2 on 64 train images: logs pseudo-mask mIoU (best threshold).
custom_hooks = [dict(type="CAMGenerationHook", num_images=64)]

# A short CPU schedule for the synthetic data.
max_iters = 600
# The CAM heads' learning-rate multiplier is 1 here; the release trains its new
# layers at 10x (--cfg-options optim_wrapper.paramwise_cfg.custom_keys.conv_cam.lr_mult=10).
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={"conv_cam": dict(lr_mult=1.0)}),
)
param_scheduler = [
    dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=200, max_keep_ckpts=2),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    finite_check=dict(type="FiniteTrainingHook"),  # no NaN weights saved
    # draws only when tools/test.py --show / --show-dir turns it on (mmseg's)
    visualization=dict(type="SegVisualizationHook"),
)
log_processor = dict(by_epoch=False)

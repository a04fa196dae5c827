# A short CPU schedule for the synthetic data.
_base_ = ["./l2g_loops.py"]
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
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=2),
)
log_processor = dict(by_epoch=False)

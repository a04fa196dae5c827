# The release's optimisation: SGD (nesterov) lr 0.001, 10 epochs, x0.1 at epoch 5;
# the new layers (CAM classifier, PCM) at 10x (weights) / 20x (biases), other biases 2x.
_base_ = ["./l2g_loops.py"]
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.001, momentum=0.9, nesterov=True, weight_decay=5e-4),
    paramwise_cfg=dict(
        bias_lr_mult=2.0,
        custom_keys={
            "head.conv_cam.weight": dict(lr_mult=10.0),
            "head.conv_cam.bias": dict(lr_mult=20.0),
            "head.pcm": dict(lr_mult=10.0),
            "head.pcm.projs.0.bias": dict(lr_mult=20.0),
            "head.pcm.projs.1.bias": dict(lr_mult=20.0),
            "head.pcm.embed.bias": dict(lr_mult=20.0),
        },
    ),
)
param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[5], gamma=0.1)]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=10, val_interval=10)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=True, interval=1, max_keep_ckpts=3),
)
log_processor = dict(by_epoch=True)

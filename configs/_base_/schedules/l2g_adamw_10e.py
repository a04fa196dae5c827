# The release's 10 epochs (x0.1 at epoch 5) with the optimiser a transformer needs.
# The release's SGD lr 1e-3 (ResNet-38) does not carry over: ViT / Swin / ConvNeXt are
# pretrained and fine-tuned with AdamW, and SGD fine-tunes them poorly. AdamW lr 1e-4 on
# the backbone (the usual fine-tuning rate of a pretrained ViT-S / Swin-T / ConvNeXt-T at
# a small batch; the release's batch is 3), weight decay 0.05 (their pretraining and
# mmseg's fine-tuning value) except on norms, biases, position embeddings, the class
# token, Swin's relative position tables and ConvNeXt's layer scales; the new CAM heads
# at 10x (1e-3), the release's multiplier for new layers. 1500 iterations of linear
# warm-up (Adam's first steps with a fresh head otherwise disturb the pretrained blocks).
_base_ = ["./l2g_sgd_10e.py"]
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            "head.conv_cam": dict(lr_mult=10.0),
            "pos_embed": dict(decay_mult=0.0),
            "cls_token": dict(decay_mult=0.0),
            "relative_position_bias_table": dict(decay_mult=0.0),
            ".gamma": dict(decay_mult=0.0),
        },
    ),
    _delete_=True,
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, begin=0, end=1500, by_epoch=False),
    dict(type="MultiStepLR", by_epoch=True, milestones=[5], gamma=0.1),
]

# The short synthetic schedule (600 iterations) with AdamW, for the transformer
# backbones: SGD at the CNN's lr 0.05 is not a transformer's optimiser. AdamW lr 5e-4
# (a small model on a short schedule; ImageNet fine-tuning uses 1e-4 to 1e-3), weight
# decay 0.05 except norms, biases, position embeddings and the class token; the CAM
# heads (new layers, as in the release's 10x) at 10x; 50 iterations of linear warm-up,
# then poly decay to 0.
_base_ = ["./synthetic_600it.py"]
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            "conv_cam": dict(lr_mult=10.0),
            "pos_embed": dict(decay_mult=0.0),
            "cls_token": dict(decay_mult=0.0),
        },
    ),
    _delete_=True,
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, begin=0, end=50, by_epoch=False),
    dict(type="PolyLR", eta_min=0.0, power=0.9, begin=50, end={{_base_.max_iters}}, by_epoch=False),
]

# The tiny ViT's synthetic "ImageNet": the plain-CAM model trained on the SEPARATE
# synthetic corpus (see plaincnn_1xb8-1000it_synthetic-pretrain-128.py for how to make
# it); its global_backbone.* weights start the tiny-ViT L2G and plain-CAM runs.
_base_ = ["../l2g/cam_tinyvit_1xb8-600it_synthetic-128.py"]
data_root = "data/synthetic_pretrain"
max_iters = 1000
model = dict(backbone=dict(init_cfg=None))
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, begin=0, end=50, by_epoch=False),
    dict(type="PolyLR", eta_min=0.0, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
train_dataloader = dict(dataset=dict(data_root=data_root))
# Classification only: no validation, no pseudo masks.
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1))

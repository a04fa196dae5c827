# The synthetic analogue of the release's ImageNet initialisation: a PlainCNN
# classifier (the plain-CAM model: global network, multi-label classification
# loss) trained on a SEPARATE synthetic corpus, generated with its own seed and
# size, e.g.
#   python3 tools/make_synthetic.py --out data/synthetic_pretrain --num-train 1000 \
#       --num-val 0 --seed 1000 --size 128
# Its ``global_backbone.*`` weights start the synthetic L2G and plain-CAM runs
# (see configs/_base_/models/l2g_plaincnn.py); its head is discarded.
_base_ = ["../l2g/cam_plaincnn_1xb8-600it_synthetic-128.py"]
data_root = "data/synthetic_pretrain"
max_iters = 1000
model = dict(backbone=dict(init_cfg=None))
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=1e-4),
    _delete_=True,
)
param_scheduler = [
    dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
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

# L2G with a small stride-8 VGG-style CNN (PlainCNN, 4 stages of 2 convs, 16-64
# channels, the last stage dilated), for CPU runs on the synthetic data.
#
# As the release starts both networks from one ImageNet classifier, the
# synthetic runs start the backbone (global AND local: both are built from this
# dict) from a classifier pretrained on a separate synthetic corpus
# (configs/pretrain/plaincnn_1xb8-1000it_synthetic-pretrain-128.py); the CAM
# heads stay fresh (Xavier). Without the option below the backbone is random
# (Kaiming):
#   tools/train.py CONFIG --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=PRETRAIN_CKPT \
#       model.backbone.init_cfg.prefix=global_backbone.
_base_ = ["./l2g.py"]
num_classes = 4
backbone = dict(type="PlainCNN", channels=(16, 32, 64, 64))
model = dict(
    backbone=backbone,
    head=dict(type="CAMHead", in_channels=64, num_classes=num_classes),
)

# L2G with a small stride-8 mmseg ResNet-18 (1/4 width, 3 stages), for CPU runs.
num_classes = 4
backbone = dict(
    type="ResNetV1c",
    depth=18,
    stem_channels=16,
    base_channels=16,
    num_stages=3,
    strides=(1, 2, 1),
    dilations=(1, 1, 2),
    out_indices=(2,),
    norm_cfg=dict(type="BN", requires_grad=True),
    contract_dilation=True,
)
model = dict(
    type="L2GClassifier",
    data_preprocessor=dict(type="L2GDataPreprocessor"),
    backbone=backbone,
    head=dict(type="CAMHead", in_channels=64, num_classes=num_classes),
    share_weights=False,
    with_local=True,
    loss_transfer=dict(type="AttentionTransferLoss", loss_weight=10.0, feat_stride=8),
    loss_shape=dict(type="ShapeTransferLoss", loss_weight=10.0, feat_stride=8, threshold=0.001),
    local_cls_weight=1.0,
    global_cls_weight=0.0,
    bg_thr=0.25,
)

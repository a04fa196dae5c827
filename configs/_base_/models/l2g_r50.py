# L2G with mmpretrain's ResNet-50 made output-stride 8 (dilated last two stages).
num_classes = 20
backbone = dict(
    type="mmpretrain.ResNet",
    depth=50,
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    out_indices=(3,),
    norm_eval=True,
    init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet50"),
)
model = dict(
    type="L2GClassifier",
    data_preprocessor=dict(type="L2GDataPreprocessor"),
    backbone=backbone,
    head=dict(type="CAMHead", in_channels=2048, num_classes=num_classes, bias=False),
    share_weights=False,
    with_local=True,
    loss_transfer=dict(type="AttentionTransferLoss", loss_weight=10.0, feat_stride=8),
    loss_shape=dict(type="ShapeTransferLoss", loss_weight=10.0, feat_stride=8, threshold=0.001),
    local_cls_weight=1.0,
    global_cls_weight=0.0,
    test_cfg=dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, interp="bicubic", bg_thr=0.25),
)

# L2G with the release's backbone: ResNet-38 (output stride 8) + PCM, ImageNet weights
# converted from MXNet with tools/convert_resnet38_mxnet.py.
num_classes = 20
pretrained = "pretrained/resnet38d_ilsvrc_mmengine.pth"
backbone = dict(
    type="ResNet38",
    out_indices=("conv4", "conv5", "conv6"),
    frozen_stages=1,
    norm_eval=True,
    norm_cfg=dict(type="BN", requires_grad=False),
    init_cfg=dict(type="Pretrained", checkpoint=pretrained),
)
head = dict(
    type="CAMHead",
    in_channels=4096,
    num_classes=num_classes,
    bias=False,
    pcm=dict(type="PixelCorrelationModule"),
)
model = dict(
    type="L2GClassifier",
    data_preprocessor=dict(type="L2GDataPreprocessor"),
    backbone=backbone,
    head=head,
    share_weights=False,
    with_local=True,
    loss_transfer=dict(type="AttentionTransferLoss", loss_weight=10.0, feat_stride=8),
    loss_shape=dict(type="ShapeTransferLoss", loss_weight=10.0, feat_stride=8, threshold=0.001),
    local_cls_weight=1.0,
    global_cls_weight=0.0,
    test_cfg=dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, interp="bicubic", bg_thr=0.25),
)

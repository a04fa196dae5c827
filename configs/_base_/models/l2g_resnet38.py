# L2G with the release's backbone: ResNet-38 (output stride 8) + PCM, ImageNet weights
# converted from MXNet with tools/convert_resnet38_mxnet.py.
_base_ = ["./l2g.py"]
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
    backbone=backbone,
    head=head,
)

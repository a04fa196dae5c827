# L2G with mmpretrain's ResNet-50 made output-stride 8 (dilated last two stages).
_base_ = ["./l2g.py"]
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
    backbone=backbone,
    head=dict(type="CAMHead", in_channels=2048, num_classes=num_classes, bias=False),
)
